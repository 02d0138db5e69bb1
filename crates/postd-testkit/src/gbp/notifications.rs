//! Business Profile notifications as Pub/Sub push deliveries.
//!
//! An account's `NotificationSetting` names a Pub/Sub topic and the notification types it
//! wants (<https://developers.google.com/my-business/reference/notifications/rest/v1/NotificationSetting>);
//! Google publishes each notification to the topic, and a push subscription `POST`s it to the
//! app as `{"message": {"attributes", "data", "messageId", "message_id", "publishTime",
//! "publish_time"}, "subscription"}`, `data` being the base64 of the notification JSON
//! (<https://cloud.google.com/pubsub/docs/push>; the page's example carries both spellings of
//! the id and the time).
//!
//! The notification JSON is `{"type", "locationName", ...}`: the `NotificationSetting` page
//! says which resource each type names (`GOOGLE_UPDATE` the location's `location_name`;
//! `NEW_REVIEW` / `UPDATED_REVIEW` a `review_name` and the `location_name`; media, questions
//! and answers "the resource name" of the item) but shows no sample, so the camelCase keys
//! for those (`reviewName`, `mediaItemName`, `questionName`, `answerName`) are the fake's
//! reading. The Q&A types belong to the My Business Q&A API, discontinued on 2025-11-03.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The notification types of the Notifications API.
pub const NOTIFICATION_TYPES: &[&str] = &[
    "GOOGLE_UPDATE",
    "NEW_REVIEW",
    "UPDATED_REVIEW",
    "NEW_CUSTOMER_MEDIA",
    "NEW_QUESTION",
    "UPDATED_QUESTION",
    "NEW_ANSWER",
    "UPDATED_ANSWER",
    "DUPLICATE_LOCATION",
    "LOSS_OF_VOICE_OF_MERCHANT",
    "VOICE_OF_MERCHANT_UPDATED",
];

/// The notification JSON of `notification_type` about `location_name`
/// (`accounts/{a}/locations/{l}`) and the `resource` it names, if any (a review, media item,
/// question or answer name). For an answer, the question's name is derived from the answer's.
pub fn notification_data(
    notification_type: &str,
    location_name: &str,
    resource: Option<&str>,
) -> Value {
    let mut m = Map::new();
    m.insert("type".to_owned(), notification_type.into());
    m.insert("locationName".to_owned(), location_name.into());
    if let Some(r) = resource {
        match notification_type {
            "NEW_REVIEW" | "UPDATED_REVIEW" => {
                m.insert("reviewName".to_owned(), r.into());
            }
            "NEW_CUSTOMER_MEDIA" => {
                m.insert("mediaItemName".to_owned(), r.into());
            }
            "NEW_QUESTION" | "UPDATED_QUESTION" => {
                m.insert("questionName".to_owned(), r.into());
            }
            "NEW_ANSWER" | "UPDATED_ANSWER" => {
                let question = r.split_once("/answers/").map_or(r, |(q, _)| q);
                m.insert("questionName".to_owned(), question.into());
                m.insert("answerName".to_owned(), r.into());
            }
            _ => {
                m.insert("resourceName".to_owned(), r.into());
            }
        }
    }
    Value::Object(m)
}

/// The body Pub/Sub pushes for one message: `data` standard base64 (padded), the id and
/// the publish time in both the camelCase and the snake_case spelling, as the push page
/// shows them.
pub fn pubsub_push_body(
    subscription: &str,
    message_id: &str,
    publish_time: &str,
    data: &[u8],
    attributes: &BTreeMap<String, String>,
) -> Vec<u8> {
    json!({
        "message": {
            "attributes": attributes,
            "data": STANDARD.encode(data),
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": publish_time,
            "publish_time": publish_time,
        },
        "subscription": subscription,
    })
    .to_string()
    .into_bytes()
}
