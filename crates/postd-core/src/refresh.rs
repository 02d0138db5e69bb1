//! Refresh planning: when to refresh a token, and when to warn that the user
//! must authorize again.
//!
//! Two clocks matter. Short-lived access tokens are refreshed ahead of their
//! expiry (15 minutes by default, at most half their lifetime). Refresh tokens
//! and consent grants end for good at a fixed time; a refresh cannot extend
//! them, so POSTD warns the user at T-7d and T-1d before that deadline.
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use postd_core::refresh::{RefreshPlan, RefreshPolicy};
//! use postd_core::{RefreshModel, TokenSet};
//!
//! let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
//! let tokens = TokenSet::new("access")
//!     .with_refresh_token("refresh")
//!     .with_obtained_at(now)
//!     .with_expires_at(now + Duration::hours(2))
//!     .with_refresh_expires_at(now + Duration::days(30));
//! let plan = RefreshPlan::compute(&tokens, RefreshModel::RefreshToken { rotates: true }, &RefreshPolicy::default());
//! assert_eq!(plan.refresh_at, Some(now + Duration::minutes(105)));
//! assert_eq!(plan.warnings[0].at, now + Duration::days(23)); // T-7d
//! assert_eq!(plan.warnings[1].at, now + Duration::days(29)); // T-1d
//! ```

use chrono::{DateTime, Duration, Utc};

use crate::capabilities::RefreshModel;
use crate::credentials::{Credentials, TokenSet};

/// How far ahead to refresh and when to warn.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefreshPolicy {
    /// Refresh this long before the access token expires (capped at half its lifetime).
    pub refresh_ahead: Duration,
    /// Warn this long before the re-authorization deadline, one warning per entry.
    pub warn_before: Vec<Duration>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            refresh_ahead: Duration::minutes(15),
            warn_before: vec![Duration::days(7), Duration::days(1)],
        }
    }
}

impl RefreshPolicy {
    /// Sets the refresh margin.
    pub fn with_refresh_ahead(mut self, ahead: Duration) -> Self {
        self.refresh_ahead = ahead;
        self
    }
}

/// A re-authorization warning: at `at`, tell the user that authorization ends at `deadline`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReauthWarning {
    /// When to warn.
    pub at: DateTime<Utc>,
    /// How long before the deadline this warning is (7 days, 1 day).
    pub before: Duration,
    /// When authorization ends.
    pub deadline: DateTime<Utc>,
}

/// The refresh and warning schedule of one set of credentials.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RefreshPlan {
    /// When to refresh; `None` when there is nothing to refresh or no way to.
    pub refresh_at: Option<DateTime<Utc>>,
    /// When the user must have authorized again; `None` when authorization does not end.
    pub reauth_deadline: Option<DateTime<Utc>>,
    /// Warnings before the deadline, earliest first.
    pub warnings: Vec<ReauthWarning>,
    /// Refresh only when the credentials are about to be used, never from a
    /// background sweep: each refresh of a platform whose refresh tokens are
    /// single use (X) is a chance to lose the whole authorization to a lost
    /// answer, so an account nobody uses is not kept alive.
    pub on_use_only: bool,
}

impl RefreshPlan {
    /// The plan of `credentials` (API keys never need refreshing).
    pub fn for_credentials(
        credentials: &Credentials,
        model: RefreshModel,
        policy: &RefreshPolicy,
    ) -> Self {
        match credentials {
            Credentials::OAuth(t) => RefreshPlan::compute(t, model, policy),
            Credentials::ApiKey(_) => RefreshPlan::default(),
        }
    }

    /// Computes the plan of a token set under a platform's refresh model.
    pub fn compute(tokens: &TokenSet, model: RefreshModel, policy: &RefreshPolicy) -> Self {
        let can_refresh = match model {
            RefreshModel::RefreshToken { .. } => tokens.refresh_token.is_some(),
            RefreshModel::LongLivedExchange => true,
            RefreshModel::NonExpiring => false,
        };

        let refresh_at = match (can_refresh, tokens.expires_at) {
            (true, Some(expires)) => {
                let lifetime = expires.signed_duration_since(tokens.obtained_at);
                // A negative margin would refresh after expiry: treat it as none.
                let ahead = policy.refresh_ahead.max(Duration::zero());
                let margin = if lifetime > Duration::zero() {
                    ahead.min(lifetime / 2)
                } else {
                    ahead
                };
                // Dates at the edge of the calendar (a hostile `expires_in`)
                // saturate to "refresh now" rather than overflow.
                Some(
                    expires
                        .checked_sub_signed(margin)
                        .unwrap_or(DateTime::<Utc>::MIN_UTC),
                )
            }
            _ => None,
        };

        // The hard end of authorization: the refresh token's expiry, or the
        // access token's when nothing can refresh it, and any consent deadline.
        let token_deadline = match model {
            RefreshModel::RefreshToken { .. } if tokens.refresh_token.is_some() => {
                tokens.refresh_expires_at
            }
            // A long-lived token that is not re-exchanged in time dies at its own expiry.
            RefreshModel::LongLivedExchange => tokens.expires_at,
            _ => tokens.expires_at,
        };
        let reauth_deadline = match (token_deadline, tokens.consent_expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };

        let mut warnings: Vec<ReauthWarning> = match reauth_deadline {
            Some(deadline) => policy
                .warn_before
                .iter()
                .map(|&before| ReauthWarning {
                    at: deadline
                        .checked_sub_signed(before)
                        .unwrap_or(DateTime::<Utc>::MIN_UTC),
                    before,
                    deadline,
                })
                .collect(),
            None => Vec::new(),
        };
        warnings.sort_by_key(|w| w.at);

        // Refreshing after authorization has ended is pointless.
        let refresh_at = match (refresh_at, reauth_deadline) {
            (Some(r), Some(d)) if r >= d => None,
            (r, _) => r,
        };

        RefreshPlan {
            refresh_at,
            reauth_deadline,
            warnings,
            on_use_only: false,
        }
    }

    /// Marks the plan as refreshed only on use (see [`on_use_only`](Self::on_use_only)).
    pub fn refreshed_on_use_only(mut self) -> Self {
        self.on_use_only = true;
        self
    }

    /// True when a refresh is due at `now`.
    pub fn refresh_due(&self, now: DateTime<Utc>) -> bool {
        !self.reauth_required(now) && self.refresh_at.is_some_and(|at| at <= now)
    }

    /// True when authorization has ended at `now`.
    pub fn reauth_required(&self, now: DateTime<Utc>) -> bool {
        self.reauth_deadline.is_some_and(|d| d <= now)
    }

    /// The most urgent warning due at `now` (T-1d wins over T-7d), if authorization has not ended yet.
    pub fn due_warning(&self, now: DateTime<Utc>) -> Option<ReauthWarning> {
        if self.reauth_required(now) {
            return None;
        }
        self.warnings.iter().rev().find(|w| w.at <= now).copied()
    }

    /// The next time after `now` at which something in this plan becomes due.
    pub fn next_event_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.refresh_at
            .into_iter()
            .chain(self.warnings.iter().map(|w| w.at))
            .chain(self.reauth_deadline)
            .filter(|&t| t > now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn short_lived_token_refreshes_fifteen_minutes_ahead() {
        let tokens = TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(t0())
            .with_expires_at(t0() + Duration::hours(2));
        let plan = RefreshPlan::compute(
            &tokens,
            RefreshModel::RefreshToken { rotates: true },
            &RefreshPolicy::default(),
        );
        let at = t0() + Duration::minutes(105);
        assert_eq!(plan.refresh_at, Some(at));
        assert!(!plan.refresh_due(at - Duration::seconds(1)));
        assert!(plan.refresh_due(at));
        assert_eq!(plan.reauth_deadline, None);
        assert!(plan.warnings.is_empty());
    }

    #[test]
    fn dates_at_the_edge_of_the_calendar_do_not_panic() {
        let min = DateTime::<Utc>::MIN_UTC;
        let tokens = TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(t0())
            .with_expires_at(min)
            .with_refresh_expires_at(min);
        let model = RefreshModel::RefreshToken { rotates: true };
        let plan = RefreshPlan::compute(&tokens, model, &RefreshPolicy::default());
        assert!(plan.reauth_required(t0()));
        assert!(plan.warnings.iter().all(|w| w.at == min));

        // A negative margin refreshes at expiry, never after it.
        let tokens = TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(t0())
            .with_expires_at(t0() + Duration::hours(2));
        let policy = RefreshPolicy::default().with_refresh_ahead(Duration::hours(-5));
        let plan = RefreshPlan::compute(&tokens, model, &policy);
        assert_eq!(plan.refresh_at, Some(t0() + Duration::hours(2)));
    }

    #[test]
    fn margin_is_capped_at_half_the_lifetime() {
        let tokens = TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(t0())
            .with_expires_at(t0() + Duration::minutes(10));
        let plan = RefreshPlan::compute(
            &tokens,
            RefreshModel::RefreshToken { rotates: false },
            &RefreshPolicy::default(),
        );
        assert_eq!(plan.refresh_at, Some(t0() + Duration::minutes(5)));
    }

    #[test]
    fn warns_at_t7_and_t1_before_refresh_token_dies() {
        // LinkedIn: 60-day access, 365-day refresh token that a refresh does not extend.
        let deadline = t0() + Duration::days(365);
        let tokens = TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(t0())
            .with_expires_at(t0() + Duration::days(60))
            .with_refresh_expires_at(deadline);
        let plan = RefreshPlan::compute(
            &tokens,
            RefreshModel::RefreshToken { rotates: false },
            &RefreshPolicy::default(),
        );
        assert_eq!(plan.reauth_deadline, Some(deadline));
        assert_eq!(plan.warnings.len(), 2);
        let t7 = deadline - Duration::days(7);
        let t1 = deadline - Duration::days(1);
        assert_eq!(plan.due_warning(t7 - Duration::seconds(1)), None);
        assert_eq!(plan.due_warning(t7).unwrap().before, Duration::days(7));
        assert_eq!(
            plan.due_warning(t1 - Duration::seconds(1)).unwrap().before,
            Duration::days(7)
        );
        assert_eq!(plan.due_warning(t1).unwrap().before, Duration::days(1));
        assert_eq!(plan.due_warning(deadline), None);
        assert!(plan.reauth_required(deadline));
        assert!(!plan.refresh_due(deadline + Duration::days(1)));
        assert_eq!(plan.next_event_after(t7), Some(t1));
    }

    #[test]
    fn token_without_refresh_warns_before_its_own_expiry() {
        let expires = t0() + Duration::days(60);
        let tokens = TokenSet::new("a")
            .with_obtained_at(t0())
            .with_expires_at(expires);
        let plan = RefreshPlan::compute(
            &tokens,
            RefreshModel::RefreshToken { rotates: false },
            &RefreshPolicy::default(),
        );
        assert_eq!(plan.refresh_at, None);
        assert_eq!(plan.reauth_deadline, Some(expires));
        assert_eq!(plan.warnings[0].at, expires - Duration::days(7));
    }

    #[test]
    fn consent_deadline_wins_when_earlier() {
        let consent = t0() + Duration::days(30);
        let tokens = TokenSet::new("a")
            .with_obtained_at(t0())
            .with_expires_at(t0() + Duration::days(60))
            .with_consent_expires_at(consent);
        let policy = RefreshPolicy::default().with_refresh_ahead(Duration::days(7));
        let plan = RefreshPlan::compute(&tokens, RefreshModel::LongLivedExchange, &policy);
        // The refresh (day 53) would land after consent ends (day 30), so it is dropped.
        assert_eq!(plan.refresh_at, None);
        assert_eq!(plan.reauth_deadline, Some(consent));
        assert_eq!(
            plan.due_warning(consent - Duration::days(1))
                .unwrap()
                .before,
            Duration::days(1)
        );
    }

    #[test]
    fn long_lived_exchange_refreshes_ahead_and_warns_before_expiry() {
        let expires = t0() + Duration::days(60);
        let tokens = TokenSet::new("a")
            .with_obtained_at(t0())
            .with_expires_at(expires);
        let policy = RefreshPolicy::default().with_refresh_ahead(Duration::days(10));
        let plan = RefreshPlan::compute(&tokens, RefreshModel::LongLivedExchange, &policy);
        assert_eq!(plan.refresh_at, Some(expires - Duration::days(10)));
        assert_eq!(plan.reauth_deadline, Some(expires));
        // If the re-exchange keeps failing, the user hears about it at T-7d and T-1d.
        assert_eq!(
            plan.due_warning(expires - Duration::days(7))
                .unwrap()
                .before,
            Duration::days(7)
        );
    }

    #[test]
    fn api_keys_and_non_expiring_tokens_have_empty_plans() {
        let key = Credentials::ApiKey("k".into());
        assert_eq!(
            RefreshPlan::for_credentials(
                &key,
                RefreshModel::NonExpiring,
                &RefreshPolicy::default()
            ),
            RefreshPlan::default()
        );
        let tokens = TokenSet::new("a");
        let plan = RefreshPlan::compute(
            &tokens,
            RefreshModel::NonExpiring,
            &RefreshPolicy::default(),
        );
        assert_eq!(plan, RefreshPlan::default());
        assert_eq!(plan.next_event_after(t0()), None);
    }
}
