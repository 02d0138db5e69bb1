//! [`MetaFake`] as a [`PlatformFake`] for the behaviour suite: a user with a
//! Page and its linked Instagram account per seed, Meta's create routes and
//! throttles, and Meta's webhooks as documented on
//! <https://developers.facebook.com/docs/graph-api/webhooks/getting-started>.

use std::time::Duration;

use async_trait::async_trait;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};

use super::MetaFake;
use super::state::State;
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

/// What a seeded user granted: everything POSTD's Meta connector asks for.
const SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_metadata",
    "read_insights",
    "publish_video",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "business_management",
];

/// Deliveries in the shapes of Meta's webhook reference (a Page feed change,
/// an Instagram comment with escaped unicode, and a delivery with no entries).
const DELIVERIES: &[&[u8]] = &[
    br#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1732700000,"changes":[{"field":"comments","value":{"id":"c-1","text":"caf\u00e9!","from":{"id":"u1","username":"ada"},"media":{"id":"m-1","media_product_type":"FEED"}}}]}]}"#,
    br#"{"object":"page","entry":[{"id":"1","time":1520383571,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"1_2"}}]}]}"#,
    br#"{"object":"instagram","entry":[{"id":"17841","time":1.5e9,"changes":[{"field":"comments","value":{"id":"c","text":"caf\u00e9"}}],"messaging":[{"x":1}]}]}"#,
    br#"{"object":"page","entry":null}"#,
];

/// Gives the token record of `old` the name `new`.
fn rename_token(st: &mut State, old: &str, new: String) -> String {
    if let Some(rec) = st.tokens.remove(old) {
        st.tokens.insert(new.clone(), rec);
    }
    new
}

#[async_trait]
impl PlatformFake for MetaFake {
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        let n = self.st().next();
        let (user, page, ig) = (
            format!("7{n:09}"),
            format!("8{n:09}"),
            format!("1784{n:013}"),
        );
        let mut user_token = self.seed_user(&user, "Conformance User", SCOPES);
        let mut page_token = self.seed_page(&user, &page, "Conformance Page", Some(&ig));
        if let Some(canary) = canary {
            let mut st = self.st();
            user_token = rename_token(&mut st, &user_token, canary.to_owned());
            page_token = rename_token(&mut st, &page_token, format!("{canary}page"));
            if let Some(p) = st.pages.get_mut(&page) {
                p.token = page_token.clone();
            }
        }
        let credentials = Credentials::OAuth(
            TokenSet::new(user_token.as_str())
                .with_scopes(SCOPES.iter().copied())
                .with_derived(page.as_str(), page_token.as_str())
                .with_derived(ig.as_str(), page_token.as_str()),
        );
        let target = match kind {
            TargetKind::FacebookPage => Target::new(kind, page),
            TargetKind::InstagramAccount => Target::new(kind, ig).with_parent(page),
            other => panic!("MetaFake seeds Facebook Pages and Instagram accounts, not {other:?}"),
        };
        Seeded::new(credentials, target, user)
    }

    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        self.issue_code(&seeded.account, redirect_uri)
    }

    /// A Meta refresh re-exchanges the long-lived user token
    /// (`grant_type=fb_exchange_token`), so that token is the grant; an
    /// expired one answers 190/463 and an invalidated one 190/460
    /// (<https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging-and-error-handling>).
    fn end_refresh_grant(&self, seeded: &Seeded, how: GrantEnd) {
        let token = seeded.credentials.primary_secret();
        let token = postd_core::secrecy::ExposeSecret::expose_secret(token);
        match how {
            GrantEnd::Expired => self.expire_token(token),
            GrantEnd::Revoked => self.revoke_token(token),
        }
    }

    fn faults(&self) -> &Faults {
        self.server.faults()
    }

    async fn received(&self) -> Vec<Received> {
        received_by(&self.server).await
    }

    fn post_ids(&self, target: &Target) -> Vec<String> {
        match target.kind {
            TargetKind::InstagramAccount => self
                .instagram_media(&target.id)
                .into_iter()
                .map(|m| m.id)
                .collect(),
            _ => self
                .facebook_posts(&target.id)
                .into_iter()
                .map(|p| p.id)
                .collect(),
        }
    }

    /// `POST /{page-id}/feed` makes a Page post; on Instagram the post exists
    /// once `POST /{ig-user-id}/media_publish` ran (the container before it
    /// has no visible effect).
    fn create_route(&self, target: &Target) -> Route {
        match target.kind {
            TargetKind::InstagramAccount => Route::new("POST", "/media_publish"),
            _ => Route::new("POST", "/feed"),
        }
    }

    /// Meta's business use case throttle (80001 for Pages, 80002 for
    /// Instagram), announcing `estimated_time_to_regain_access` of 7 minutes
    /// (<https://developers.facebook.com/docs/graph-api/overview/rate-limiting>).
    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration> {
        let id = seeded.target.id.as_str();
        if !on {
            self.clear_throttle(id);
            return None;
        }
        let code = match seeded.target.kind {
            TargetKind::InstagramAccount => 80_002,
            _ => 80_001,
        };
        self.throttle(id, code, 7);
        Some(Duration::from_secs(7 * 60))
    }

    fn client_secret(&self) -> String {
        self.config.app_secret.clone()
    }

    /// `GET /debug_token?input_token={token}`: Meta documents the token to
    /// inspect as a query parameter of a `GET`
    /// (<https://developers.facebook.com/docs/graph-api/reference/debug_token>).
    fn url_token_exceptions(&self) -> &'static [(&'static str, &'static str)] {
        &[("/debug_token", "input_token")]
    }

    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        DELIVERIES.iter().map(|d| d.to_vec()).collect()
    }

    /// `X-Hub-Signature-256: sha256={hex HMAC-SHA256(app secret, body)}`.
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&self.sign_webhook(body)) {
            headers.insert("x-hub-signature-256", v);
        }
        WebhookRequest::post(headers, body.to_vec())
    }

    /// Meta's `hub.challenge` is an integer.
    fn challenge_token(&self) -> String {
        "1158201444".to_owned()
    }

    /// `GET ?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}`.
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        let mut query = vec![
            ("hub.mode", "subscribe"),
            (
                "hub.verify_token",
                self.config.webhook_verify_token.as_str(),
            ),
        ];
        if let Some(t) = token {
            query.push(("hub.challenge", t));
        }
        WebhookRequest::get(query)
    }

    /// Meta expects the `hub.challenge` value back, as the response body.
    fn accepts_challenge_answer(&self, token: &str, answer: &ChallengeResponse) -> bool {
        answer.status == 200
            && answer.body == token
            && answer.content_type.starts_with("text/plain")
    }
}
