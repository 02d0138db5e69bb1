//! Audience webhooks (<https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/>,
//! <https://mailchimp.com/developer/marketing/api/list-webhooks/>).
//!
//! Mailchimp signs nothing: no header carries a signature. So each
//! audience's webhook URL ends in `/{list_id}/{tag}`, the tag an
//! HMAC-SHA256 of the audience id under one of the app's webhook secrets
//! ([`MailchimpConfig::with_webhook_secret`](crate::MailchimpConfig::with_webhook_secret)).
//! The tag is checked in constant time before anything else is read; a
//! request without a good one is [`ErrorKind::InvalidSignature`] (answer
//! 404, so the endpoint's existence is not revealed). A tenant who reads its
//! own audience's webhook URL in Mailchimp learns nothing about another
//! audience's, and a delivery whose `data[list_id]` is not the URL's
//! audience is refused ([`ErrorKind::InvalidContent`]). No signature header is invented or checked.
//!
//! Mailchimp validates a new webhook URL with a `GET` (answered 200 with an
//! empty body, fast). Deliveries are `application/x-www-form-urlencoded`
//! with PHP-style keys (`type=unsubscribe&fired_at=2026-03-01+10:00:00&data[email]=…&data[merges][FNAME]=…`):
//! `subscribe`, `unsubscribe`, `profile`, `upemail`, `cleaned` and
//! `campaign`, others passed through. `fired_at` is kept as sent and read as
//! UTC (the payload carries no offset). There is no event id: the
//! de-duplication id is a digest of the fields that tell events apart.

use std::collections::BTreeMap;

use postd_core::webhook::constant_time_eq;
use postd_core::{
    ChallengeResponse, Error, ErrorKind, Platform, Result, WebhookEvent, WebhookRequest,
};
use serde_json::{Map, Value, json};

use crate::config::{MailchimpConfig, secrets};

/// The largest delivery read.
pub const MAX_DELIVERY_BYTES: usize = 64 * 1024;

fn refuse(operation: &'static str) -> Error {
    Error::new(
        ErrorKind::InvalidSignature,
        "the request's URL does not end in an audience's webhook tag of this app",
    )
    .with_platform(Platform::Mailchimp)
    .with_operation(operation)
}

/// The tag of `list_id`'s webhook URL under `secret`.
pub(crate) fn tag(secret: &str, list_id: &str) -> String {
    postd_core::webhook::hmac_sha256_hex(
        secret.as_bytes(),
        format!("postd mailchimp webhook {list_id}").as_bytes(),
    )
}

/// The audience a request's path authenticates: its last two segments are
/// `{list_id}/{tag}` with the tag of one of the secrets (each compared in full).
fn authentic<'a>(cfg: &MailchimpConfig, path: &'a str) -> Option<&'a str> {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    let (rest, got) = path.rsplit_once('/')?;
    let list_id = rest.rsplit('/').next()?;
    crate::api::id("the list id", list_id).ok()?;
    let mut ok = false;
    for s in secrets(cfg) {
        // Every secret is compared, so the time says nothing about which.
        ok |= constant_time_eq(got.as_bytes(), tag(s, list_id).as_bytes());
    }
    ok.then_some(list_id)
}

/// The validation `GET` Mailchimp sends when a webhook is saved (or an empty `POST`).
pub(crate) fn challenge(
    cfg: &MailchimpConfig,
    request: &WebhookRequest,
) -> Result<ChallengeResponse> {
    if authentic(cfg, &request.path).is_none() {
        return Err(refuse("webhook_challenge"));
    }
    let validation = request.method.eq_ignore_ascii_case("GET")
        || (request.method.eq_ignore_ascii_case("POST") && request.body.is_empty());
    if !validation {
        return Err(Error::invalid_content(
            "not Mailchimp's webhook validation (a GET, or an empty POST)",
        )
        .with_platform(Platform::Mailchimp)
        .with_operation("webhook_challenge"));
    }
    Ok(ChallengeResponse::text(""))
}

/// `data[merges][FNAME]` → `["data", "merges", "FNAME"]`; `None` for a key
/// that is not of that shape.
fn key_path(key: &str) -> Option<Vec<&str>> {
    let (head, mut rest) = match key.find('[') {
        None => return Some(vec![key]),
        Some(i) => (&key[..i], &key[i..]),
    };
    let mut out = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        out.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    (out.len() <= 6 && out.iter().all(|s| s.len() <= 100)).then_some(out)
}

fn insert(map: &mut Map<String, Value>, path: &[&str], value: String) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.insert((*first).to_owned(), Value::String(value));
        return;
    }
    let entry = map
        .entry((*first).to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert(inner, rest, value);
    }
}

/// The form body as nested JSON (the last of repeated keys wins).
fn parse_form(body: &[u8]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let Some(path) = key_path(&k) else {
            return Err(Error::invalid_content(format!(
                "the delivery has a malformed field name {:?}",
                k.chars().take(60).collect::<String>()
            ))
            .with_platform(Platform::Mailchimp));
        };
        insert(&mut out, &path, v.into_owned());
    }
    Ok(out)
}

pub(crate) fn verify(cfg: &MailchimpConfig, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    let Some(audience) = authentic(cfg, &request.path) else {
        return Err(refuse("verify_webhook"));
    };
    let unreadable = |m: &str| {
        Error::invalid_content(m.to_owned())
            .with_platform(Platform::Mailchimp)
            .with_operation("verify_webhook")
    };
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(unreadable("a Mailchimp delivery is a POST"));
    }
    if request.body.len() > MAX_DELIVERY_BYTES {
        return Err(unreadable("the delivery is larger than 64 KiB"));
    }
    let form = match request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    {
        Some(ct)
            if !ct
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded") =>
        {
            return Err(unreadable("a Mailchimp delivery is form-encoded"));
        }
        _ => parse_form(&request.body)?,
    };
    let kind = form
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unreadable("the delivery has no type"))?
        .chars()
        .take(40)
        .collect::<String>();
    let fired_at = form
        .get("fired_at")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let data = form
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let field = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("");
    let id = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            kind.as_str(),
            fired_at.as_deref().unwrap_or(""),
            field("list_id"),
            field("id"),
            field("email"),
            field("new_id"),
            field("campaign_id"),
            field("status"),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let occurred_at = fired_at.as_deref().and_then(|t| {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|n| n.and_utc())
    });
    // The URL authenticated one audience: a delivery about another is not its.
    let list_id = field("list_id");
    if !list_id.is_empty() && list_id != audience {
        return Err(Error::new(
            ErrorKind::InvalidContent,
            "the delivery names another audience than its URL's: refused",
        )
        .with_platform(Platform::Mailchimp)
        .with_operation("verify_webhook"));
    }
    let target = Some(audience.to_owned());
    let mut payload: BTreeMap<&str, Value> = BTreeMap::new();
    payload.insert("type", json!(kind));
    payload.insert("fired_at", json!(fired_at));
    payload.insert("data", Value::Object(data));
    let mut event = WebhookEvent::new(
        Platform::Mailchimp,
        kind,
        serde_json::to_value(payload).unwrap_or(Value::Null),
    );
    event.id = Some(id);
    event.target_id = target;
    event.occurred_at = occurred_at;
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::reqwest::header::{HeaderMap, HeaderValue};

    const LIST: &str = "a6b5da1054";

    fn cfg() -> MailchimpConfig {
        MailchimpConfig::new()
            .with_webhook_secret(&"k".repeat(43))
            .unwrap()
    }

    fn path(list: &str) -> String {
        format!("/webhooks/mailchimp{}", cfg().webhook_path(list).unwrap())
    }

    fn delivery(path: &str, body: &str) -> WebhookRequest {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        WebhookRequest::post(h, body.as_bytes().to_vec()).with_path(path)
    }

    #[test]
    fn a_documented_delivery_parses_into_one_event() {
        let body = "type=unsubscribe&fired_at=2009-03-26+21%3A40%3A57&data%5Baction%5D=unsub&data%5Breason%5D=manual&data%5Bid%5D=8a25ff1d98&data%5Blist_id%5D=a6b5da1054&data%5Bemail%5D=api%40mailchimp.com&data%5Bemail_type%5D=html&data%5Bmerges%5D%5BEMAIL%5D=api%40mailchimp.com&data%5Bmerges%5D%5BFNAME%5D=Mailchimp&data%5Bip_opt%5D=10.20.10.30&data%5Bcampaign_id%5D=cb398d21d2";
        let events = verify(&cfg(), &delivery(&path(LIST), body)).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.kind, "unsubscribe");
        assert_eq!(e.target_id.as_deref(), Some(LIST));
        assert_eq!(e.payload["data"]["merges"]["FNAME"], "Mailchimp");
        assert_eq!(e.payload["fired_at"], "2009-03-26 21:40:57");
        assert_eq!(e.occurred_at, Some("2009-03-26T21:40:57Z".parse().unwrap()));
        let again = verify(&cfg(), &delivery(&path(LIST), body)).unwrap();
        assert_eq!(again[0].id, e.id, "the same delivery, the same id");
        // Another audience's URL cannot carry this audience's events.
        let other = verify(&cfg(), &delivery(&path("zzz999"), body)).unwrap_err();
        assert_eq!(other.kind(), ErrorKind::InvalidContent);
    }

    #[test]
    fn without_the_tag_nothing_is_read() {
        let good = path(LIST);
        let tag = good.rsplit('/').next().unwrap().to_owned();
        for p in [
            "/webhooks/mailchimp/".to_owned(),
            format!("/webhooks/mailchimp/{LIST}/wrong"),
            format!("/webhooks/mailchimp/{LIST}/{}", &tag[..63]),
            format!("/webhooks/mailchimp/{LIST}/{tag}x"),
            format!("/webhooks/mailchimp/zzz999/{tag}"),
            format!("/webhooks/mailchimp/{}", "k".repeat(43)),
            String::new(),
        ] {
            let e = verify(&cfg(), &delivery(&p, "type=subscribe")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidSignature, "{p}");
            let get = WebhookRequest::get([("a", "b")]).with_path(p.as_str());
            assert_eq!(
                challenge(&cfg(), &get).unwrap_err().kind(),
                ErrorKind::InvalidSignature
            );
        }
        let none = MailchimpConfig::new();
        assert!(verify(&none, &delivery(&good, "type=subscribe")).is_err());
        let ok = WebhookRequest::get([("a", "b")]).with_path(good.as_str());
        assert_eq!(challenge(&cfg(), &ok).unwrap().status, 200);
        let trailing = WebhookRequest::get([("a", "b")]).with_path(format!("{good}/"));
        assert_eq!(challenge(&cfg(), &trailing).unwrap().status, 200);
    }

    #[test]
    fn malformed_keys_and_bodies_are_typed_errors() {
        let p = path(LIST);
        for body in [
            "data[x=1",
            "fired_at=now",
            "type=&data[a]=1",
            "data%5Bx%5D%5B=1",
        ] {
            let e = verify(&cfg(), &delivery(&p, body)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidContent, "{body}");
        }
        let deep = "type=profile&data[a][b][c][d][e]=1&data[a]=flat";
        assert!(verify(&cfg(), &delivery(&p, deep)).is_ok());
    }
}
