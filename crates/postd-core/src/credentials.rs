//! Credentials: OAuth token sets and API keys, always held in `secrecy` types.
//!
//! A token is exposed (with [`ExposeSecret::expose_secret`]) only where an
//! HTTP header or a signed value is built. `Debug` of every type here prints
//! `[REDACTED]` in place of a secret.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind, Result};
use crate::platform::Platform;

/// What a connector needs to call a platform on a customer's behalf.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// OAuth 2.0 tokens (every platform except Mailchimp's API-key mode).
    OAuth(TokenSet),
    /// A static API key (Mailchimp).
    ApiKey(SecretString),
}

impl Credentials {
    /// The token set, or an [`ErrorKind::Config`] error naming `platform` when these are API-key credentials.
    pub fn token_set(&self, platform: Platform) -> Result<&TokenSet> {
        match self {
            Credentials::OAuth(t) => Ok(t),
            Credentials::ApiKey(_) => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} needs OAuth credentials, got an API key",
                    platform.display_name()
                ),
            )
            .with_platform(platform)),
        }
    }

    /// The secret a request authenticates with: the access token or the API key.
    pub fn primary_secret(&self) -> &SecretString {
        match self {
            Credentials::OAuth(t) => &t.access_token,
            Credentials::ApiKey(k) => k,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth(t) => f.debug_tuple("OAuth").field(t).finish(),
            Credentials::ApiKey(_) => f.write_str("ApiKey([REDACTED])"),
        }
    }
}

impl From<TokenSet> for Credentials {
    fn from(t: TokenSet) -> Self {
        Credentials::OAuth(t)
    }
}

/// An OAuth token set with its expiries, scopes and per-target derived tokens.
#[derive(Clone)]
#[non_exhaustive]
pub struct TokenSet {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the platform issues one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires; `None` when it does not (or the platform did not say).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires; after this the user must authorize again.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// A hard re-consent deadline independent of the tokens (Meta's `data_access_expires_at`).
    pub consent_expires_at: Option<DateTime<Utc>>,
    /// The scopes the platform says were granted.
    pub scopes: Vec<String>,
    /// The platform's id of the authorizing user (Facebook user id, LinkedIn person URN, ...).
    pub subject: Option<String>,
    /// When these tokens were obtained.
    pub obtained_at: DateTime<Utc>,
    /// Tokens derived for individual targets, keyed by target id (Facebook page tokens).
    pub derived: BTreeMap<String, SecretString>,
}

impl TokenSet {
    /// A token set with only an access token, obtained now.
    pub fn new(access_token: impl Into<SecretString>) -> Self {
        TokenSet {
            access_token: access_token.into(),
            refresh_token: None,
            expires_at: None,
            refresh_expires_at: None,
            consent_expires_at: None,
            scopes: Vec::new(),
            subject: None,
            obtained_at: Utc::now(),
            derived: BTreeMap::new(),
        }
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, token: impl Into<SecretString>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }

    /// Sets the access token's expiry.
    pub fn with_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Sets the refresh token's expiry.
    pub fn with_refresh_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.refresh_expires_at = Some(at);
        self
    }

    /// Sets the re-consent deadline.
    pub fn with_consent_expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.consent_expires_at = Some(at);
        self
    }

    /// Sets the granted scopes.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the subject (the authorizing user's platform id).
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets when the tokens were obtained.
    pub fn with_obtained_at(mut self, at: DateTime<Utc>) -> Self {
        self.obtained_at = at;
        self
    }

    /// Adds a token derived for one target.
    pub fn with_derived(
        mut self,
        target_id: impl Into<String>,
        token: impl Into<SecretString>,
    ) -> Self {
        self.derived.insert(target_id.into(), token.into());
        self
    }

    /// The token to use for `target_id`: its derived token if there is one, else the access token.
    pub fn token_for(&self, target_id: &str) -> &SecretString {
        self.derived.get(target_id).unwrap_or(&self.access_token)
    }

    /// The token derived for `target`: the one stored under its id, else the
    /// one stored under its parent's (an Instagram account's page), else `None`.
    pub fn derived_for(&self, target: &crate::Target) -> Option<&SecretString> {
        self.derived.get(&target.id).or_else(|| {
            target
                .parent_id
                .as_deref()
                .and_then(|parent| self.derived.get(parent))
        })
    }

    /// Merges a refresh response into these tokens (RFC 6749 section 6).
    ///
    /// The new access token and expiry replace the old ones. A response
    /// without a refresh token keeps the old refresh token and its expiry;
    /// scopes, subject and derived tokens are kept unless the response has them.
    pub fn merge_refreshed(&self, fresh: TokenSet) -> TokenSet {
        let rotated = fresh.refresh_token.is_some();
        TokenSet {
            access_token: fresh.access_token,
            refresh_token: fresh.refresh_token.or_else(|| self.refresh_token.clone()),
            expires_at: fresh.expires_at,
            refresh_expires_at: if rotated {
                fresh.refresh_expires_at.or(self.refresh_expires_at)
            } else {
                self.refresh_expires_at
            },
            consent_expires_at: fresh.consent_expires_at.or(self.consent_expires_at),
            scopes: if fresh.scopes.is_empty() {
                self.scopes.clone()
            } else {
                fresh.scopes
            },
            subject: fresh.subject.or_else(|| self.subject.clone()),
            obtained_at: fresh.obtained_at,
            derived: if fresh.derived.is_empty() {
                self.derived.clone()
            } else {
                fresh.derived
            },
        }
    }

    /// Every secret in the set, exposed, for redaction of text that may echo them.
    pub fn secrets_for_redaction(&self) -> Vec<String> {
        let mut out = vec![self.access_token.expose_secret().to_owned()];
        if let Some(r) = &self.refresh_token {
            out.push(r.expose_secret().to_owned());
        }
        out.extend(self.derived.values().map(|t| t.expose_secret().to_owned()));
        out
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("consent_expires_at", &self.consent_expires_at)
            .field("scopes", &self.scopes)
            .field("subject", &self.subject)
            .field("obtained_at", &self.obtained_at)
            .field("derived", &self.derived.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn debug_never_shows_tokens() {
        let t = TokenSet::new("CANARY_access")
            .with_refresh_token("CANARY_refresh")
            .with_derived("page-1", "CANARY_page");
        let text = format!("{:?} {:?}", t, Credentials::OAuth(t.clone()));
        assert!(!text.contains("CANARY"), "{text}");
        assert!(text.contains("page-1"));
        let key = Credentials::ApiKey(SecretString::from("CANARY_key-us6"));
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
    }

    #[test]
    fn refresh_without_new_refresh_token_keeps_the_old_one() {
        let now = Utc::now();
        let old = TokenSet::new("a1")
            .with_refresh_token("r1")
            .with_refresh_expires_at(now + Duration::days(300))
            .with_scopes(["s1"]);
        let merged =
            old.merge_refreshed(TokenSet::new("a2").with_expires_at(now + Duration::hours(2)));
        assert_eq!(merged.access_token.expose_secret(), "a2");
        assert_eq!(merged.refresh_token.as_ref().unwrap().expose_secret(), "r1");
        assert_eq!(merged.refresh_expires_at, old.refresh_expires_at);
        assert_eq!(merged.scopes, vec!["s1".to_owned()]);

        let rotated = old.merge_refreshed(
            TokenSet::new("a3")
                .with_refresh_token("r2")
                .with_refresh_expires_at(now + Duration::days(365)),
        );
        assert_eq!(
            rotated.refresh_token.as_ref().unwrap().expose_secret(),
            "r2"
        );
        assert_eq!(rotated.refresh_expires_at, Some(now + Duration::days(365)));
    }

    #[test]
    fn token_for_prefers_the_derived_token() {
        let t = TokenSet::new("user").with_derived("page-1", "page");
        assert_eq!(t.token_for("page-1").expose_secret(), "page");
        assert_eq!(t.token_for("other").expose_secret(), "user");
        use crate::{Target, TargetKind};
        let ig = Target::new(TargetKind::InstagramAccount, "ig-1").with_parent("page-1");
        assert_eq!(t.derived_for(&ig).unwrap().expose_secret(), "page");
        assert!(
            t.derived_for(&Target::new(TargetKind::InstagramAccount, "ig-2"))
                .is_none()
        );
    }

    #[test]
    fn api_key_is_not_a_token_set() {
        let c = Credentials::ApiKey(SecretString::from("k"));
        assert_eq!(
            c.token_set(Platform::Meta).unwrap_err().kind(),
            ErrorKind::Config
        );
        assert_eq!(c.primary_secret().expose_secret(), "k");
    }
}
