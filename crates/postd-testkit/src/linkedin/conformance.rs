//! [`LinkedInFake`] as a [`PlatformFake`] for the behaviour suite: a member
//! (and, for organization targets, an organization the member administers)
//! per seed, the Posts API create route, the daily limits, and LinkedIn's
//! webhooks as documented on
//! <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation>.

use std::time::Duration;

use async_trait::async_trait;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::secrecy::ExposeSecret;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};

use super::LinkedInFake;
use super::state::{State, person_urn};
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

/// What a seeded member granted: everything POSTD's LinkedIn connector asks for.
const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "w_member_social",
    "r_member_social",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
    "r_member_postAnalytics",
];

/// Deliveries in the shape of LinkedIn's organization social action
/// notifications, and one of an event type POSTD does not know.
const DELIVERIES: &[&[u8]] = &[
    br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[{"notificationId":70001,"organizationalEntity":"urn:li:organization:123","action":"COMMENT","sourcePost":"urn:li:share:1","lastModifiedAt":1732700000000,"subscriber":"urn:li:person:abc"},{"notificationId":70002,"organizationalEntity":"urn:li:organization:123","action":"LIKE","sourcePost":"urn:li:share:1","lastModifiedAt":1732700001000}]}"#,
    br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[{"notificationId":1,"organizationalEntity":"urn:li:organization:1","action":"LIKE","lastModifiedAt":1732700000000}]}"#,
    br#"{"type":"X","other":[1,2,3]}"#,
];

/// Gives the token record of `old` the name `new`.
fn rename_token(st: &mut State, old: &str, new: String) -> String {
    if let Some(rec) = st.tokens.remove(old) {
        st.tokens.insert(new.clone(), rec);
    }
    new
}

fn refresh_token(seeded: &Seeded) -> Option<String> {
    match &seeded.credentials {
        Credentials::OAuth(t) => t
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => None,
    }
}

#[async_trait]
impl PlatformFake for LinkedInFake {
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        let n = {
            let mut st = self.st();
            st.seq += 1;
            st.seq
        };
        let sub = format!("cf{n}Mbr");
        let mut access = self.seed_member(&sub, "Conformance Member", SCOPES);
        let mut refresh = self.seed_refresh_token(&sub);
        if let Some(canary) = canary {
            let mut st = self.st();
            access = rename_token(&mut st, &access, canary.to_owned());
            refresh = rename_token(&mut st, &refresh, format!("{canary}refresh"));
        }
        let person = person_urn(&sub);
        let target = match kind {
            TargetKind::LinkedInPerson => Target::new(kind, person.as_str()),
            TargetKind::LinkedInOrganization => {
                let org = format!("9{n}");
                self.seed_organization(&org, "Conformance Org", &sub, "ADMINISTRATOR");
                Target::new(kind, format!("urn:li:organization:{org}"))
            }
            other => panic!("LinkedInFake seeds members and organizations, not {other:?}"),
        };
        let credentials = Credentials::OAuth(
            TokenSet::new(access.as_str())
                .with_refresh_token(refresh.as_str())
                .with_scopes(SCOPES.iter().copied())
                .with_subject(person),
        );
        Seeded::new(credentials, target, sub)
    }

    /// A code for the member's current scopes (a code for other scopes would
    /// revoke the member's earlier tokens, as LinkedIn documents).
    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        let scopes = self.st().member(&seeded.account).scopes.clone();
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        self.issue_code(&seeded.account, redirect_uri, &scopes)
    }

    /// A refresh presents the programmatic refresh token; a dead one answers
    /// `invalid_request` "The provided authorization grant or refresh token
    /// is invalid, expired or revoked" (LinkedIn's documented equivalent of
    /// `invalid_grant`,
    /// <https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens>).
    fn end_refresh_grant(&self, seeded: &Seeded, how: GrantEnd) {
        let Some(token) = refresh_token(seeded) else {
            return;
        };
        match how {
            GrantEnd::Expired => self.expire_token(&token),
            GrantEnd::Revoked => self.revoke_token(&token),
        }
    }

    fn faults(&self) -> &Faults {
        self.server.faults()
    }

    async fn received(&self) -> Vec<Received> {
        received_by(&self.server).await
    }

    fn post_ids(&self, target: &Target) -> Vec<String> {
        self.posts()
            .into_iter()
            .filter(|p| p.author == target.id)
            .map(|p| p.urn)
            .collect()
    }

    /// `POST /rest/posts` (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>).
    fn create_route(&self, _target: &Target) -> Route {
        Route::new("POST", "/rest/posts")
    }

    /// LinkedIn's daily limits, spent for every member; they reset at
    /// midnight UTC and the `429` carries no `Retry-After`
    /// (<https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits>).
    fn throttle_account(&self, _seeded: &Seeded, on: bool) -> Option<Duration> {
        let mut st = self.st();
        if !on {
            st.member_limit = st.config.member_daily_limit;
            return None;
        }
        st.member_limit = 0;
        let now = st.now();
        let midnight = u64::try_from(86_400 - now.rem_euclid(86_400)).unwrap_or(86_400);
        Some(Duration::from_secs(midnight))
    }

    fn client_secret(&self) -> String {
        self.config.client_secret.clone()
    }

    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        DELIVERIES.iter().map(|d| d.to_vec()).collect()
    }

    /// `X-LI-Signature: {hex HMAC-SHA256(client secret, "hmacsha256=" + body)}`.
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&self.sign_webhook(body)) {
            headers.insert("x-li-signature", v);
        }
        WebhookRequest::post(headers, body.to_vec())
    }

    /// LinkedIn's `challengeCode` is a UUID.
    fn challenge_token(&self) -> String {
        "f0a6f3d8-4a5c-4b5e-9d3b-2b1f3c4d5e6f".to_owned()
    }

    /// `GET ?challengeCode={code}`.
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        WebhookRequest::get(token.map(|t| ("challengeCode", t)))
    }

    /// LinkedIn expects `200 application/json` with `challengeCode` and
    /// `challengeResponse`, the hex HMAC-SHA256 of the code under the client secret.
    fn accepts_challenge_answer(&self, token: &str, answer: &ChallengeResponse) -> bool {
        let Ok(body) = serde_json::from_str::<serde_json::Value>(&answer.body) else {
            return false;
        };
        answer.status == 200
            && answer.content_type == "application/json"
            && body["challengeCode"] == token
            && body["challengeResponse"] == self.challenge_response(token).as_str()
    }
}
