//! Webhook deliveries as TikTok sends them
//! (<https://developers.tiktok.com/doc/webhooks-overview>, events on
//! <https://developers.tiktok.com/doc/webhooks-events>) and their signature
//! (<https://developers.tiktok.com/doc/webhooks-verification>):
//! `TikTok-Signature: t={unix},s={hex HMAC-SHA256(client_secret, "{t}.{body}")}`.

use serde_json::{Value, json};

use super::records::TtWebhook;
use super::state::State;
use crate::util::hmac_hex;

/// A delivery body: `client_key`, `event`, `create_time`, `user_openid`, and `content` as a
/// JSON **string** (the receiver parses it a second time).
pub fn webhook_body(
    client_key: &str,
    event: &str,
    create_time: i64,
    user_openid: &str,
    content: &Value,
) -> Vec<u8> {
    json!({
        "client_key": client_key,
        "event": event,
        "create_time": create_time,
        "user_openid": user_openid,
        "content": content.to_string(),
    })
    .to_string()
    .into_bytes()
}

/// The `TikTok-Signature` header value for `body` delivered at `t` (unix seconds).
pub fn webhook_signature(client_secret: &str, t: i64, body: &[u8]) -> String {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={t},s={}", hmac_hex(client_secret.as_bytes(), &msg))
}

impl State {
    /// Queues the delivery of `event` about `open_id`.
    pub(super) fn emit(&mut self, event: &str, open_id: &str, content: Value) {
        let body = webhook_body(
            &self.config.client_key,
            event,
            self.now(),
            open_id,
            &content,
        );
        self.outbox.push(TtWebhook {
            event: event.to_owned(),
            body,
        });
    }
}
