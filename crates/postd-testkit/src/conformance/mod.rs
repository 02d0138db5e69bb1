//! The behaviour suite every connector runs, written once.
//!
//! [`check_connector`] runs every behaviour against a connector and the fake
//! of its platform (anything implementing [`PlatformFake`]); every connector
//! crate's tests call it, so a rule is written here and nowhere else. Each
//! behaviour is also a `pub async fn` of its own, gated on what the
//! connector claims for the target ([`Connector::capabilities_for`]): a
//! target without the feature answers [`Outcome::Skipped`] with the reason,
//! and a behaviour that applies only in part answers [`Outcome::Partial`]
//! naming what did not apply. A feature the connector claims is never
//! skipped.
//!
//! A broken rule panics with a message naming the connector, the target kind
//! and the rule (`meta FacebookPage: broke "publish: ..."`).
//!
//! | room | behaviours |
//! |---|---|
//! | [`oauth`](oauth_state_mismatch_makes_no_call) | state mismatch, authorization URL (`state`, PKCE), code exchange, refresh, dead refresh grant |
//! | [`publish`](publish_now_makes_exactly_one_post) | publish now, native scheduling, unknown outcomes, validation before any call |
//! | [`rate limits`](rate_limit_retry_after_on_create) | `Retry-After` on a create and on a read, the platform's own signal |
//! | [`webhooks`](webhook_good_signature_verifies_and_parses) | good, bad and stale signatures, the challenge and forged challenge tokens, hostile deliveries |
//! | [`secrets`](secrets_canary_never_leaks) | a canary token in URLs, errors, `Debug` and TRACE logs |
//! | [`media`](media_unusable_is_refused_before_any_call) | directories, devices, empty and oversized files, empty bytes |
//!
//! Scaffolds run [`check_scaffold`] instead.

mod fake;
mod media;
mod oauth;
mod publish;
mod rate_limits;
mod scaffold;
mod secrets;
mod webhooks;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use postd_core::http::RetryPolicy;
use postd_core::{
    Capabilities, ClientRef, Connector, Credentials, Error, ErrorKind, Media, MediaKind, Post,
    PublishOutcome, PublishStatus, PublishedPost, Result, Target, TargetKind,
};

pub(crate) use fake::received_by;
pub use fake::{GrantEnd, PlatformFake, Received, Route, Seeded};
pub use media::media_unusable_is_refused_before_any_call;
pub use oauth::{
    oauth_authorization_url_carries_pkce, oauth_authorization_url_carries_state,
    oauth_code_exchange_yields_credentials_that_publish,
    oauth_dead_refresh_grant_needs_reauthorization, oauth_refresh_works,
    oauth_state_mismatch_makes_no_call,
};
pub use publish::{
    publish_natively_scheduled, publish_now_makes_exactly_one_post,
    publish_unknown_outcome_is_never_reposted, publish_validate_refuses_before_any_call,
};
pub use rate_limits::{
    rate_limit_platform_signal, rate_limit_retry_after_on_create, rate_limit_retry_after_on_read,
};
pub use scaffold::{
    check_debug_hides, check_identity, check_scaffold, check_validate_rejects_bad_posts,
};
pub use secrets::secrets_canary_never_leaks;
pub use webhooks::{
    webhook_bad_signatures_are_refused, webhook_challenge_answers_its_documented_form,
    webhook_challenge_refuses_forged_tokens, webhook_good_signature_verifies_and_parses,
    webhook_hostile_deliveries_are_typed_errors, webhook_stale_signature_is_refused,
};

/// The connector under test, the fake it is pointed at, the kind of target
/// to seed, and what the suite must know about the connector's HTTP client.
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    connector: &'a dyn Connector,
    fake: &'a dyn PlatformFake,
    kind: TargetKind,
    retry: RetryPolicy,
    request_timeout: Option<Duration>,
}

impl<'a> Subject<'a> {
    /// `connector`, pointed at `fake`, publishing to targets of `kind`, on an
    /// HTTP client with the default [`RetryPolicy`].
    pub fn new(connector: &'a dyn Connector, fake: &'a dyn PlatformFake, kind: TargetKind) -> Self {
        Subject {
            connector,
            fake,
            kind,
            retry: RetryPolicy::default(),
            request_timeout: None,
        }
    }

    /// The retry policy the connector's HTTP client was built with (the
    /// rate-limit behaviours need its `max_retries` and `max_retry_after`).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The request timeout of the connector's HTTP client: the unknown-outcome
    /// behaviour then also loses an answer by delaying it past the timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// `platform TargetKind`, as failure messages name the subject.
    pub fn name(&self) -> String {
        format!("{} {:?}", self.connector.platform().as_str(), self.kind)
    }

    fn caps(&self, target: &Target) -> Capabilities {
        self.connector.capabilities_for(target)
    }

    fn seed(&self) -> Seeded {
        self.fake.seed(self.kind, None)
    }

    /// Panics with the subject's name, the rule and what happened.
    #[track_caller]
    fn fail(&self, rule: &str, detail: impl fmt::Display) -> ! {
        panic!("{}: broke \"{rule}\": {detail}", self.name())
    }

    /// The error of `result`, which must be an error of `kind`.
    #[track_caller]
    fn expect_kind<T: fmt::Debug>(
        &self,
        rule: &str,
        what: &str,
        result: Result<T>,
        kind: ErrorKind,
    ) -> Error {
        match result {
            Err(e) if e.kind() == kind => e,
            Err(e) => self.fail(rule, format!("{what}: expected {kind:?}, got {e}")),
            Ok(v) => self.fail(rule, format!("{what}: expected {kind:?}, got Ok({v:?})")),
        }
    }

    /// The value of `result`, which must be `Ok`.
    #[track_caller]
    fn expect_ok<T>(&self, rule: &str, what: &str, result: Result<T>) -> T {
        result.unwrap_or_else(|e| self.fail(rule, format!("{what} failed: {e}")))
    }

    /// The answer of a `find_published`: a post, "absent", or "cannot tell
    /// yet" (a temporary [`ErrorKind::UnknownOutcome`], from a platform that
    /// cannot prove absence), which counts as no post found.
    #[track_caller]
    fn expect_lookup(
        &self,
        rule: &str,
        what: &str,
        result: Result<Option<PublishedPost>>,
    ) -> Option<PublishedPost> {
        match result {
            Err(e)
                if e.kind() == ErrorKind::UnknownOutcome
                    && matches!(e.retry(), postd_core::Retry::Temporary { .. }) =>
            {
                None
            }
            other => self.expect_ok(rule, what, other),
        }
    }

    async fn received_count(&self) -> usize {
        self.fake.received().await.len()
    }

    async fn received_since(&self, count: usize) -> Vec<Received> {
        self.fake.received().await.split_off(count)
    }

    /// Publishes `post` and follows a pending outcome to its end.
    async fn publish_settled(
        &self,
        rule: &str,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> PublishedPost {
        let outcome = self.expect_ok(
            rule,
            "publish",
            self.connector.publish(credentials, target, post).await,
        );
        self.settle(rule, credentials, outcome).await
    }

    /// Follows `outcome` with `publish_status` until the post is published.
    async fn settle(
        &self,
        rule: &str,
        credentials: &Credentials,
        outcome: PublishOutcome,
    ) -> PublishedPost {
        let mut handle = match outcome {
            PublishOutcome::Published(p) => return p,
            PublishOutcome::Pending(h) => h,
            other => self.fail(rule, format!("unknown publish outcome {other:?}")),
        };
        for _ in 0..100 {
            match self.connector.publish_status(credentials, &handle).await {
                Ok(PublishStatus::Published(p)) => return p,
                Ok(PublishStatus::Processing {
                    retry_after, next, ..
                }) => {
                    handle = next;
                    tokio::time::sleep(retry_after.min(Duration::from_millis(50))).await;
                }
                Ok(other) => self.fail(rule, format!("publish_status answered {other:?}")),
                Err(e) => self.fail(rule, format!("publish_status failed: {e}")),
            }
        }
        self.fail(rule, "the publish never finished")
    }
}

/// Fails `rule` of subject `$s` with a formatted message unless `$cond` holds.
macro_rules! ensure {
    ($s:expr, $rule:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            $s.fail($rule, format_args!($($arg)+))
        }
    };
}
pub(crate) use ensure;

/// What one behaviour found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every rule held.
    Passed,
    /// Every rule that applies held; these parts did not apply, and why.
    Partial(Vec<String>),
    /// The target does not claim the feature: nothing was checked, and why.
    Skipped(String),
}

/// What [`check_connector`] found: one [`Outcome`] per behaviour, in order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// The subject's name.
    pub subject: String,
    /// `(behaviour, outcome)` in the order they ran.
    pub outcomes: Vec<(&'static str, Outcome)>,
}

impl Report {
    /// The behaviours that were skipped.
    pub fn skipped(&self) -> Vec<&'static str> {
        self.names(|o| matches!(o, Outcome::Skipped(_)))
    }

    /// The behaviours that applied only in part.
    pub fn partial(&self) -> Vec<&'static str> {
        self.names(|o| matches!(o, Outcome::Partial(_)))
    }

    fn names(&self, pick: impl Fn(&Outcome) -> bool) -> Vec<&'static str> {
        self.outcomes
            .iter()
            .filter(|(_, o)| pick(o))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.subject)?;
        for (name, outcome) in &self.outcomes {
            match outcome {
                Outcome::Passed => writeln!(f, "  passed   {name}")?,
                Outcome::Partial(notes) => writeln!(f, "  partial  {name}: {}", notes.join("; "))?,
                Outcome::Skipped(why) => writeln!(f, "  skipped  {name}: {why}")?,
            }
        }
        Ok(())
    }
}

/// Runs every behaviour against `subject`, one after another on the same
/// fake (each seeds its own account; faults left over are cleared between
/// them), and returns (and prints) what each found.
pub async fn check_connector(subject: &Subject<'_>) -> Report {
    check_identity(subject.connector);
    let mut report = Report {
        subject: subject.name(),
        outcomes: Vec::new(),
    };
    macro_rules! run {
        ($($behaviour:ident),+ $(,)?) => {$(
            let outcome = $behaviour(subject).await;
            subject.fake.faults().clear();
            report.outcomes.push((stringify!($behaviour), outcome));
        )+};
    }
    run!(
        oauth_state_mismatch_makes_no_call,
        oauth_authorization_url_carries_state,
        oauth_authorization_url_carries_pkce,
        oauth_code_exchange_yields_credentials_that_publish,
        oauth_refresh_works,
        oauth_dead_refresh_grant_needs_reauthorization,
        publish_now_makes_exactly_one_post,
        publish_natively_scheduled,
        publish_unknown_outcome_is_never_reposted,
        publish_validate_refuses_before_any_call,
        rate_limit_retry_after_on_create,
        rate_limit_retry_after_on_read,
        rate_limit_platform_signal,
        webhook_good_signature_verifies_and_parses,
        webhook_bad_signatures_are_refused,
        webhook_stale_signature_is_refused,
        webhook_challenge_answers_its_documented_form,
        webhook_challenge_refuses_forged_tokens,
        webhook_hostile_deliveries_are_typed_errors,
        secrets_canary_never_leaks,
        media_unusable_is_refused_before_any_call,
    );
    eprintln!("{report}");
    report
}

/// A string no other call of this process makes, for texts and names.
fn unique(tag: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{tag}-{}-{n}", std::process::id())
}

/// A post `target` can take: text, plus one image by URL where the target
/// needs media (Instagram). Its text is unique, so a platform's duplicate
/// detection never sees it twice.
fn sample_post(s: &Subject<'_>, target: &Target, tag: &str) -> Post {
    let name = unique(tag);
    let post = Post::new(ClientRef::new(name.as_str()).unwrap_or_else(|e| s.fail(tag, e)))
        .with_text(format!("POSTD conformance {name}"));
    // TikTok refuses a Direct Post without the user's own choices: a user
    // would have made them on the compose screen.
    // An email needs its subject line, which a user writes with the body.
    let post = if s.connector.platform() == postd_core::Platform::Mailchimp {
        post.with_mailchimp(
            postd_core::MailchimpOptions::new().with_subject_line(format!("POSTD {name}")),
        )
    } else {
        post
    };
    let post = if s.connector.platform() == postd_core::Platform::TikTok {
        post.with_tiktok(postd_core::TikTokOptions::direct_post(
            postd_core::TikTokPrivacy::PublicToEveryone,
            true,
            false,
            false,
            postd_core::TikTokCommercialContent::none(),
        ))
    } else {
        post
    };
    let caps = s.caps(target);
    if caps.text_only {
        return post;
    }
    let (kind, ext) = if caps.media.kinds.contains(&MediaKind::Image) {
        (MediaKind::Image, "jpg")
    } else {
        (
            caps.media
                .kinds
                .first()
                .copied()
                .unwrap_or(MediaKind::Image),
            "mp4",
        )
    };
    let url = url::Url::parse(&format!("https://cdn.example/{name}.{ext}"))
        .unwrap_or_else(|e| s.fail(tag, e));
    post.with_media(Media::url(kind, url))
}
