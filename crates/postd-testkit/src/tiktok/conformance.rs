//! [`TikTokFake`] as a [`PlatformFake`] for the behaviour suite: a creator per seed with
//! every posting scope and `cdn.example` verified (the suite's sample image URL), the photo
//! post init as the create route (a TikTok post needs media), the per-minute rate limits,
//! and TikTok's signed webhooks
//! (<https://developers.tiktok.com/doc/webhooks-verification>). TikTok validates no webhook
//! endpoint with a challenge: a TikTok connector claims `webhook_challenge: false`, which
//! skips the challenge behaviours, and the challenge methods answer the nothing TikTok sends.

use std::time::Duration;

use async_trait::async_trait;
use postd_core::secrecy::ExposeSecret;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};
use serde_json::json;

use super::TikTokFake;
use super::state::State;
use super::webhooks::webhook_body;
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

/// What a seeded creator granted: everything a posting connector asks for.
const SCOPES: &[&str] = &[
    "user.info.basic",
    "video.publish",
    "video.upload",
    "video.list",
];

fn signature_only(mut request: WebhookRequest) -> WebhookRequest {
    request.headers.remove("content-type");
    request
}

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
impl PlatformFake for TikTokFake {
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        assert!(
            kind == TargetKind::TikTokAccount,
            "TikTokFake seeds TikTok accounts, not {kind:?}"
        );
        let n = self.st().next();
        let open_id = format!("cf-{n:08}-b87b-48b9-ac98-410aghda5344");
        let mut access = self.seed_user(&open_id, SCOPES);
        let mut refresh = self.seed_refresh_token(&open_id, SCOPES);
        if let Some(canary) = canary {
            let mut st = self.st();
            access = rename_token(&mut st, &access, canary.to_owned());
            refresh = rename_token(&mut st, &refresh, format!("{canary}refresh"));
        }
        self.verify_domain("cdn.example");
        let credentials = Credentials::OAuth(
            TokenSet::new(access.as_str())
                .with_refresh_token(refresh.as_str())
                .with_scopes(SCOPES.iter().copied())
                .with_subject(open_id.as_str()),
        );
        Seeded::new(credentials, Target::new(kind, open_id.as_str()), open_id)
    }

    /// A code without a `code_challenge`: the fake cannot see the authorization URL the
    /// connector built, and PKCE is optional for web apps. A `code_verifier` sent anyway
    /// is ignored.
    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        self.issue_code(&seeded.account, redirect_uri, SCOPES, None)
    }

    /// A dead refresh token answers `invalid_grant`
    /// (<https://developers.tiktok.com/doc/oauth-error-handling>).
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

    /// The ids of the publishes the creator holds that did not fail, oldest first: the
    /// public post id once `publicaly_available_post_id` carries it, else the `publish_id`
    /// (the only id a private post or an inbox draft ever has).
    fn post_ids(&self, target: &Target) -> Vec<String> {
        self.publishes()
            .into_iter()
            .filter(|p| p.open_id == target.id && p.status != "FAILED")
            .map(|p| p.post_id.unwrap_or(p.publish_id))
            .collect()
    }

    /// `POST /v2/video/list/`: the Display API lists a creator's public videos with a `POST`
    /// (<https://developers.tiktok.com/doc/tiktok-api-v2-video-list>).
    fn lookup_route(&self) -> Route {
        Route::new("POST", "/v2/video/list/")
    }

    /// Every publish still processing finishes (TikTok downloads, processes and
    /// moderates without being asked).
    fn finish_processing(&self) {
        for p in self.publishes() {
            if p.status.starts_with("PROCESSING") {
                self.complete_processing(&p.publish_id);
            }
        }
    }

    /// `POST /v2/post/publish/content/init/`: a photo post with one image by URL
    /// (<https://developers.tiktok.com/doc/content-posting-api-reference-photo-post>).
    fn create_route(&self, _target: &Target) -> Route {
        Route::new("POST", "/v2/post/publish/content/init/")
    }

    /// `429 rate_limit_exceeded` on every rate-limited endpoint. The window is one minute
    /// and no `Retry-After` is documented, so a caller may wait up to 60 seconds
    /// (<https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit>).
    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration> {
        self.throttle_user(&seeded.account, on);
        Some(Duration::from_secs(60))
    }

    fn client_secret(&self) -> String {
        self.config.client_secret.clone()
    }

    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        let key = &self.config.client_key;
        let user = "cf-00000001-b87b-48b9-ac98-410aghda5344";
        let t = 1_732_700_000;
        vec![
            webhook_body(
                key,
                "post.publish.complete",
                t,
                user,
                &json!({"publish_id": "v_pub_file~v2-1.123456789", "publish_type": "DIRECT_PUBLISH"}),
            ),
            webhook_body(
                key,
                "post.publish.failed",
                t,
                user,
                &json!({"publish_id": "p_pub_url~v2.123456790", "reason": "photo_pull_failed", "publish_type": "DIRECT_PUBLISH"}),
            ),
            webhook_body(
                key,
                "post.publish.publicly_available",
                t,
                user,
                &json!({"publish_id": "v_pub_file~v2-1.123456789", "post_id": "7300000000000000001", "publish_type": "DIRECT_PUBLISH"}),
            ),
            webhook_body(key, "authorization.removed", t, user, &json!({"reason": 1})),
            webhook_body(
                key,
                "x.unknown.event",
                t,
                user,
                &json!({"other": [1, 2, 3]}),
            ),
        ]
    }

    /// `TikTok-Signature: t={now},s={hex HMAC-SHA256(client_secret, "{t}." + body)}`.
    /// The delivery with its signature header only (the suite alters each header it carries).
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        signature_only(self.signed_webhook(body))
    }

    fn signed_delivery_at(&self, body: &[u8], unix: i64) -> Option<WebhookRequest> {
        Some(signature_only(self.signed_webhook_at(body, unix)))
    }

    /// TikTok sends no challenge: there is no token of a documented shape.
    fn challenge_token(&self) -> String {
        String::new()
    }

    /// TikTok sends no validation request; this is the bare `GET` a probe of the callback
    /// URL would be, carrying `token` under no documented name.
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        WebhookRequest::get(token.map(|t| ("challenge", t)))
    }

    /// TikTok expects no answer to a challenge it never sends: none is accepted.
    fn accepts_challenge_answer(&self, _token: &str, _answer: &ChallengeResponse) -> bool {
        false
    }
}
