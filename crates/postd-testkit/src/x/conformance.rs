//! [`XFake`] as a [`PlatformFake`] for the behaviour suite: a user per seed who authorized
//! every scope a posting connector asks for (`offline.access` included, so a refresh token
//! rotates), `POST /2/tweets` as the create, the user Post timeline as the read, the
//! per-user rate-limit windows as the platform's own signal, and X Activity API webhooks:
//! deliveries signed with `x-twitter-webhooks-signature` and the Challenge-Response Check
//! (`GET ?crc_token=`), answered with `{"response_token": "sha256=..."}`
//! (<https://docs.x.com/x-api/webhooks/introduction>).

use std::time::Duration;

use async_trait::async_trait;
use postd_core::secrecy::ExposeSecret;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};
use serde_json::json;
use sha2::Digest as _;

use super::XFake;
use super::state::{PostRec, State, Subscription};
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

/// What a seeded user granted: everything a posting connector asks for.
const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

/// The user the sample deliveries are about.
const DELIVERY_USER: &str = "2244994945";

fn refresh_token(seeded: &Seeded) -> Option<String> {
    match &seeded.credentials {
        Credentials::OAuth(t) => t
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => None,
    }
}

/// The bodies X would deliver for a `post.create`, a `post.delete`, an `oauth.revoke` and an
/// event type no client knows yet, built by the fake's own outbox on a scratch state.
fn sample_deliveries(st: &mut State) -> Vec<Vec<u8>> {
    for event_type in [
        "post.create",
        "post.delete",
        "oauth.revoke",
        "x.unknown.event",
    ] {
        st.subscriptions.push(Subscription {
            event_type: event_type.to_owned(),
            user_id: Some(DELIVERY_USER.to_owned()),
            tag: Some("postd".to_owned()),
        });
    }
    let id = st.snowflake();
    let post = PostRec {
        id,
        author_id: DELIVERY_USER.to_owned(),
        text: "Hello from the X Activity API".to_owned(),
        created_at: st.now(),
        deleted: false,
        reply_settings: "everyone".to_owned(),
        conversation_id: id,
        media_keys: Vec::new(),
        request: serde_json::Value::Null,
        metrics: Default::default(),
    };
    st.emit_post_create(&post);
    st.emit(
        "post.delete",
        DELIVERY_USER,
        json!({"id": id.to_string(), "author_id": DELIVERY_USER}),
    );
    st.emit_revoke(DELIVERY_USER);
    st.emit(
        "x.unknown.event",
        DELIVERY_USER,
        json!({"other": [1, 2, 3], "nested": {"id": id.to_string()}}),
    );
    st.outbox.drain(..).map(|d| d.body).collect()
}

#[async_trait]
impl PlatformFake for XFake {
    /// A new user (a snowflake id) with every posting scope (`tweet.read tweet.write
    /// users.read media.write offline.access`), holding an access token and a refresh token
    /// of one family; with `canary`, every token of that family, those later refreshes
    /// issue included, starts with it.
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        assert!(
            kind == TargetKind::TwitterAccount,
            "XFake seeds X accounts, not {kind:?}"
        );
        let user_id = self.st().snowflake().to_string();
        let (access, refresh) = self.seed_family(&user_id, SCOPES, canary);
        let mut tokens = TokenSet::new(access.as_str())
            .with_scopes(SCOPES.iter().copied())
            .with_subject(user_id.as_str());
        if let Some(refresh) = refresh {
            tokens = tokens.with_refresh_token(refresh.as_str());
        }
        Seeded::new(
            Credentials::OAuth(tokens),
            Target::new(kind, user_id.as_str()),
            user_id,
        )
    }

    /// A code whose exchange accepts any `code_verifier`: X requires PKCE, but the fake
    /// cannot see the `code_challenge` of the authorization URL the connector built.
    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        self.issue_code_without_pkce(&seeded.account, redirect_uri, SCOPES)
    }

    /// An expired or revoked refresh token answers `invalid_request` "Value passed for the
    /// token was invalid."
    /// (<https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>).
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

    /// The ids of the user's Posts that are not deleted, oldest first.
    fn post_ids(&self, target: &Target) -> Vec<String> {
        self.st()
            .posts
            .iter()
            .filter(|p| !p.deleted && p.author_id == target.id)
            .map(|p| p.id.to_string())
            .collect()
    }

    /// `POST /2/tweets` (<https://docs.x.com/x-api/posts/manage-tweets/quickstart>). No
    /// other `POST` the fake serves has `/2/tweets` in its path; `DELETE /2/tweets/:id` and
    /// the `GET` lookups differ by method.
    fn create_route(&self, _target: &Target) -> Route {
        Route::new("POST", "/2/tweets")
    }

    /// `GET`s of Posts: the user Post timeline `GET /2/users/:id/tweets`, and the lookups
    /// `GET /2/tweets/:id` and `GET /2/tweets`, which share `/tweets`.
    fn lookup_route(&self) -> Route {
        Route::new("GET", "/tweets")
    }

    /// `429` with `x-rate-limit-remaining: 0` and `x-rate-limit-reset` one 15-minute window
    /// ahead on every rate-limited endpoint. X sends no `Retry-After`: a caller may wait
    /// until the reset, 900 seconds (and a second of rounding)
    /// (<https://docs.x.com/x-api/fundamentals/rate-limits>).
    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration> {
        self.throttle_user(&seeded.account, on);
        Some(Duration::from_secs(901))
    }

    /// The consumer (API key) secret: it keys the CRC and the delivery signature.
    fn client_secret(&self) -> String {
        self.config.consumer_secret.clone()
    }

    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        let mut scratch = State::new(self.config.clone());
        sample_deliveries(&mut scratch)
    }

    /// The delivery with its `x-twitter-webhooks-signature` header only (the suite alters
    /// each header it carries).
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        let mut request = XFake::signed_delivery(self, body);
        request.headers.remove("content-type");
        request
    }

    /// X sends a random `crc_token`; the fake's are 48 base64url characters, no padding.
    fn challenge_token(&self) -> String {
        loop {
            let n = self.st().next();
            let digest = sha2::Sha512::digest(format!("postd-x-crc-{n}").as_bytes());
            let token = crate::util::base64url(&digest[..36]);
            if token.bytes().any(|b| b.is_ascii_alphabetic()) {
                return token;
            }
        }
    }

    /// `GET ?crc_token={token}` (no parameter at all without a token).
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        WebhookRequest::get(token.map(|t| ("crc_token", t)))
    }

    /// A `200` whose body is the JSON `{"response_token": "sha256=<base64 HMAC-SHA256(
    /// consumer_secret, crc_token)>"}`.
    fn accepts_challenge_answer(&self, token: &str, answer: &ChallengeResponse) -> bool {
        answer.status == 200 && self.crc_accepts(token, answer.body.as_bytes())
    }
}
