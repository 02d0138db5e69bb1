//! [`MailchimpFake`] as a [`PlatformFake`] for the behaviour suite.
//!
//! - A seed is a new account on a paid plan whose user authorized the app through OAuth 2
//!   (an access token, no refresh token and no expiry: Mailchimp's tokens do not expire),
//!   with one audience (`campaign_defaults` set, the from domain verified) holding two
//!   subscribed members. The target id is the list id. With a canary, every token issued
//!   for the account starts with it.
//! - A "post" is a campaign sent to the audience: [`post_ids`](PlatformFake::post_ids) lists
//!   the campaigns of the list that are `schedule`, `sending`, `sent` or `canceled` (drafts
//!   in `save` are not posts: nothing went to anyone), by campaign id.
//! - **The create route is `POST /campaigns/{id}/actions/send`**: the irreversible call that
//!   mails the audience, so the suite's "an unknown outcome is never re-posted" behaviour
//!   strikes and counts real sends (creating a campaign only makes a draft, which the
//!   connector may safely make again). `/actions/send` is in no other path the fake serves
//!   (`/actions/cancel-send` does not contain it). The other irreversible call,
//!   `/actions/schedule`, is not named: the suite's create behaviours publish now.
//! - [`finish_processing`](PlatformFake::finish_processing) finishes every send under way;
//!   [`reach_scheduled_time`](PlatformFake::reach_scheduled_time) moves the fake clock to
//!   the schedule time and finishes those sends too.
//! - The platform's own rate-limit signal is the `429 Too Many Requests` of the connection
//!   limit. Mailchimp sends no `Retry-After` and no reset: a connection frees when a request
//!   ends, and Mailchimp ends every request within its 120-second timeout (Fundamentals), so
//!   the longest wait the signal justifies is 120 seconds.
//! - Mailchimp signs no webhook and sends no challenge token: it validates a new webhook URL
//!   with a bare `GET` and wants a `200`. A Mailchimp connector claims `signed_webhooks:
//!   false` and `webhook_challenge: false`; the challenge methods answer that `GET` (carrying
//!   the suite's token under no documented name, as the GBP fake does) and accept any `200`.

use std::time::Duration;

use async_trait::async_trait;
use postd_core::secrecy::ExposeSecret;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};

use super::{MailchimpFake, webhook_form, webhook_request};
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

#[async_trait]
impl PlatformFake for MailchimpFake {
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        assert!(
            kind == TargetKind::MailchimpAudience,
            "MailchimpFake seeds Mailchimp audiences, not {kind:?}"
        );
        let n = self.st().next();
        let account = self.seed_account_with(&format!("POSTD conformance {n}"), canary);
        let list = self.seed_list(
            &account,
            &format!("Newsletter {n}"),
            "POSTD",
            "news@postd.example",
        );
        self.seed_member(&list, &format!("reader1.{n}@example.com"), "subscribed");
        self.seed_member(&list, &format!("reader2.{n}@example.com"), "subscribed");
        let token = self.seed_token(&account);
        let credentials =
            Credentials::OAuth(TokenSet::new(token.as_str()).with_subject(account.as_str()));
        Seeded::new(credentials, Target::new(kind, list), account)
    }

    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        self.issue_code(&seeded.account, redirect_uri)
    }

    /// Mailchimp has no refresh grant and its tokens never expire: the long-lived token is
    /// what a re-exchange would present, and either end revokes it (the user removed the app).
    fn end_refresh_grant(&self, seeded: &Seeded, _how: GrantEnd) {
        if let Credentials::OAuth(t) = &seeded.credentials {
            self.revoke_token(t.access_token.expose_secret());
        }
    }

    fn faults(&self) -> &Faults {
        self.server.faults()
    }

    async fn received(&self) -> Vec<Received> {
        received_by(&self.server).await
    }

    fn post_ids(&self, target: &Target) -> Vec<String> {
        self.campaigns()
            .into_iter()
            .filter(|c| c.list_id.as_deref() == Some(target.id.as_str()))
            .filter(|c| {
                matches!(
                    c.status.as_str(),
                    "schedule" | "sending" | "sent" | "canceled"
                )
            })
            .map(|c| c.id)
            .collect()
    }

    /// `POST /3.0/campaigns/{id}/actions/send`
    /// (<https://mailchimp.com/developer/marketing/api/campaigns/send-campaign/>).
    fn create_route(&self, _target: &Target) -> Route {
        Route::new("POST", "/actions/send")
    }

    /// `GET`s of campaigns: `GET /campaigns` and `GET /campaigns/{id}`.
    fn lookup_route(&self) -> Route {
        Route::new("GET", "/3.0/campaigns")
    }

    fn finish_processing(&self) {
        self.finish_sending();
    }

    fn reach_scheduled_time(&self, at: chrono::DateTime<chrono::Utc>) {
        let ahead = at.timestamp() - self.now();
        if ahead > 0 {
            self.advance_time(ahead);
        }
        self.finish_sending();
    }

    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration> {
        self.throttle(seeded.credentials.primary_secret().expose_secret(), on);
        Some(Duration::from_secs(120))
    }

    /// The OAuth client secret (Mailchimp signs no webhook with it).
    fn client_secret(&self) -> String {
        self.config.client_secret.clone()
    }

    /// A `subscribe` first, then `unsubscribe`, `profile`, `upemail`, `cleaned`, `campaign`
    /// and a type no client knows yet.
    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        let at = "2026-03-01 10:00:00";
        let common: &[(&str, &str)] = &[
            ("id", "8a25ff1d98"),
            ("list_id", "a6b5da1054"),
            ("email", "api@mailchimp.com"),
            ("email_type", "html"),
            ("merges][EMAIL", "api@mailchimp.com"),
            ("merges][FNAME", "Mailchimp"),
            ("ip_opt", "10.20.10.30"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
            common
                .iter()
                .copied()
                .chain(extra.iter().copied())
                .collect()
        };
        vec![
            webhook_form(
                "subscribe",
                at,
                &with(&[("ip_signup", "10.20.10.30"), ("web_id", "1234")]),
            ),
            webhook_form(
                "unsubscribe",
                at,
                &with(&[
                    ("action", "unsub"),
                    ("reason", "manual"),
                    ("campaign_id", "4fjk2ma9xd"),
                ]),
            ),
            webhook_form("profile", at, &with(&[])),
            webhook_form(
                "upemail",
                at,
                &[
                    ("list_id", "a6b5da1054"),
                    ("new_id", "51da8c3259"),
                    ("new_email", "api+new@mailchimp.com"),
                    ("old_email", "api+old@mailchimp.com"),
                ],
            ),
            webhook_form(
                "cleaned",
                at,
                &[
                    ("list_id", "a6b5da1054"),
                    ("campaign_id", "4fjk2ma9xd"),
                    ("reason", "hard"),
                    ("email", "api+cleaned@mailchimp.com"),
                ],
            ),
            webhook_form(
                "campaign",
                at,
                &[
                    ("id", "5aa2102003"),
                    ("subject", "Spring news"),
                    ("status", "sent"),
                    ("reason", ""),
                    ("list_id", "a6b5da1054"),
                ],
            ),
            webhook_form(
                "x_unknown_event",
                at,
                &[("id", "8a25ff1d98"), ("list_id", "a6b5da1054")],
            ),
        ]
    }

    /// The delivery as Mailchimp makes it: form-encoded, with no signature header, to the
    /// registered URL ([`MailchimpFakeConfig::webhook_path`](super::MailchimpFakeConfig::webhook_path)).
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        webhook_request(body).with_path(self.config().webhook_path.clone())
    }

    /// Mailchimp sends no challenge: there is no token of a documented shape.
    fn challenge_token(&self) -> String {
        String::new()
    }

    /// Mailchimp's validation `GET` (a bare `GET`; `token` rides under no documented name).
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        WebhookRequest::get(token.map(|t| ("challenge", t)))
            .with_path(self.config().webhook_path.clone())
    }

    /// Mailchimp wants a `200` to its validation `GET`, whatever the body.
    fn accepts_challenge_answer(&self, _token: &str, answer: &ChallengeResponse) -> bool {
        answer.status == 200
    }
}
