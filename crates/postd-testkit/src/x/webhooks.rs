//! Webhooks for the X Activity API: the Challenge-Response Check and the delivery signature
//! (<https://docs.x.com/x-api/webhooks/introduction>, <https://docs.x.com/x-api/webhooks/quickstart>),
//! and the deliveries of `post.create`, `post.delete` and `oauth.revoke` in the common
//! envelope `{"data": {"event_uuid", "filter", "event_type", "tag", "payload", "includes"}}`
//! (<https://docs.x.com/x-api/activity/event-payloads>, event types on
//! <https://docs.x.com/x-api/activity/introduction>). Posts by protected accounts are not
//! delivered.

use postd_core::webhook::hmac_sha256_base64;
use serde_json::{Value, json};

use super::posts::{post_json, rfc3339};
use super::records::XDelivery;
use super::state::{PostRec, State};

/// `sha256=` + base64(HMAC-SHA256(`consumer_secret`, `crc_token`)): the `response_token`
/// a webhook must answer a CRC `GET ?crc_token=` with.
pub fn crc_response_token(consumer_secret: &str, crc_token: &str) -> String {
    format!(
        "sha256={}",
        hmac_sha256_base64(consumer_secret.as_bytes(), crc_token.as_bytes())
    )
}

/// The `x-twitter-webhooks-signature` header value for a delivery `body`:
/// `sha256=` + base64(HMAC-SHA256(`consumer_secret`, raw body)).
pub fn webhook_signature(consumer_secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hmac_sha256_base64(consumer_secret.as_bytes(), body)
    )
}

impl State {
    /// Queues `event_type` about `user_id` for every matching subscription.
    pub(super) fn emit(&mut self, event_type: &str, user_id: &str, payload: Value) {
        self.emit_with(event_type, user_id, payload, None);
    }

    fn emit_with(
        &mut self,
        event_type: &str,
        user_id: &str,
        payload: Value,
        includes: Option<Value>,
    ) {
        let subs: Vec<_> = self
            .subscriptions
            .iter()
            .filter(|s| {
                s.event_type == event_type && s.user_id.as_ref().is_none_or(|u| u == user_id)
            })
            .cloned()
            .collect();
        for sub in subs {
            let uuid = self.snowflake().to_string();
            // oauth.revoke carries an empty filter; user events the user id that matched.
            let filter = match (&sub.user_id, event_type) {
                (_, "oauth.revoke") | (None, _) => json!({}),
                (Some(u), _) => json!({"user_id": u}),
            };
            let mut data = json!({
                "event_uuid": uuid,
                "filter": filter,
                "event_type": event_type,
                "payload": payload,
            });
            if let Some(tag) = &sub.tag {
                data["tag"] = tag.clone().into();
            }
            if let Some(inc) = &includes {
                data["includes"] = inc.clone();
            }
            let body = json!({"data": data}).to_string().into_bytes();
            let signature = webhook_signature(&self.config.consumer_secret, &body);
            self.outbox.push(XDelivery {
                event_type: event_type.to_owned(),
                event_uuid: uuid,
                body,
                signature,
            });
        }
    }

    pub(super) fn emit_post_create(&mut self, p: &PostRec) {
        if self.users.get(&p.author_id).is_some_and(|u| u.protected) {
            return;
        }
        let payload = post_json(
            p,
            &[
                "author_id",
                "created_at",
                "conversation_id",
                "reply_settings",
                "attachments",
            ],
        );
        let includes = json!({"tweets": [payload.clone()]});
        self.emit_with("post.create", &p.author_id, payload, Some(includes));
    }

    pub(super) fn emit_revoke(&mut self, user_id: &str) {
        let payload = json!({
            "date_time": rfc3339(self.now()).replace(".000Z", "+00:00"),
            "user_id": user_id,
            "app_id": self.config.app_id,
        });
        self.emit("oauth.revoke", user_id, payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_an_independent_hmac_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            crc_response_token("Jefe", "what do ya want for nothing?"),
            "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }
}
