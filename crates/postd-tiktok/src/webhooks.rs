//! Webhooks (<https://developers.tiktok.com/doc/webhooks-verification>,
//! <https://developers.tiktok.com/doc/webhooks-events>).
//!
//! `TikTok-Signature: t={unix seconds},s={hex}` where `s` is
//! HMAC-SHA256 under the client secret of `{t}.{raw body}`. TikTok checks no
//! endpoint with a challenge. Deliveries are at least once for up to 72
//! hours and carry no event id: the id is a hash of what identifies the
//! delivery. `content` is a JSON document inside a string.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::secrecy::ExposeSecret;
use postd_core::webhook::{
    SignatureEncoding, check_timestamp, parse_timestamp, verify_hmac_sha256_parts,
};
use postd_core::{Error, ErrorKind, Platform, Result, WebhookEvent, WebhookRequest};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::TikTokConfig;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "TikTok-Signature";

/// How far a delivery's `t` may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// The most `s` values one header may carry (one per secret during a rotation, with room).
const MAX_SIGNATURES: usize = 4;

/// Largest delivery body parsed (TikTok's events are small).
const MAX_BODY: usize = 1024 * 1024;

fn bad(message: &str) -> Error {
    Error::new(ErrorKind::InvalidSignature, message.to_owned())
        .with_platform(Platform::TikTok)
        .with_operation("verify_webhook")
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    client_key: String,
    event: String,
    #[serde(default)]
    create_time: Option<i64>,
    #[serde(default)]
    user_openid: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

pub(crate) fn verify(
    cfg: &TikTokConfig,
    request: &WebhookRequest,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookEvent>> {
    // Refused before any HMAC is computed over it.
    if request.body.len() > MAX_BODY {
        return Err(Error::new(
            ErrorKind::InvalidContent,
            "the TikTok webhook body is too large",
        )
        .with_platform(Platform::TikTok)
        .with_operation("verify_webhook"));
    }
    let header = request
        .required_header(SIGNATURE_HEADER)
        .map_err(|_| bad("the TikTok-Signature header is missing"))?;
    let mut t: Option<&str> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(bad("the TikTok-Signature header is malformed"));
        };
        match k {
            "t" if t.is_none() => t = Some(v),
            "t" => return Err(bad("the TikTok-Signature header has two timestamps")),
            // A malformed `s` makes the whole header malformed, not one to skip.
            "s" if signatures.len() == MAX_SIGNATURES => {
                return Err(bad("the TikTok-Signature header has too many signatures"));
            }
            "s" if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => signatures.push(v),
            "s" => return Err(bad("a TikTok-Signature s is not 64 hex characters")),
            _ => {}
        }
    }
    let (Some(t), false) = (t, signatures.is_empty()) else {
        return Err(bad("the TikTok-Signature header needs one t and an s"));
    };
    let timestamp = parse_timestamp(t).map_err(|e| e.with_platform(Platform::TikTok))?;
    let key = cfg.client_secret.expose_secret().as_bytes();
    let body: &[u8] = &request.body;
    let mut signed = false;
    for s in &signatures {
        match verify_hmac_sha256_parts(key, &[t.as_bytes(), b".", body], s, SignatureEncoding::Hex)
        {
            Ok(()) => {
                signed = true;
                break;
            }
            // An empty secret is a configuration fault, not a forged delivery: say so.
            Err(e) if e.kind() == ErrorKind::Config => {
                return Err(e
                    .with_platform(Platform::TikTok)
                    .with_operation("verify_webhook"));
            }
            Err(_) => {}
        }
    }
    if !signed {
        return Err(bad("the TikTok-Signature does not match the body"));
    }
    check_timestamp(timestamp, now.timestamp(), TOLERANCE).map_err(|e| {
        e.with_platform(Platform::TikTok)
            .with_operation("verify_webhook")
    })?;
    let delivery: Delivery = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::InvalidContent,
            format!(
                "a signed TikTok webhook body is not the documented JSON: line {}, column {}",
                e.line(),
                e.column()
            ),
        )
        .with_platform(Platform::TikTok)
        .with_operation("verify_webhook")
    })?;
    if delivery.client_key != cfg.client_key {
        return Err(Error::new(
            ErrorKind::InvalidContent,
            "the TikTok webhook is not for this app (its client_key is missing or differs)",
        )
        .with_platform(Platform::TikTok)
        .with_operation("verify_webhook"));
    }
    // `content` is JSON inside a string; anything else is kept as it came.
    let content: Value = delivery
        .content
        .as_deref()
        .map(|c| serde_json::from_str(c).unwrap_or_else(|_| Value::String(c.to_owned())))
        .unwrap_or(Value::Null);
    let mut hasher = Sha256::new();
    for part in [
        delivery.event.as_bytes(),
        delivery.user_openid.as_deref().unwrap_or("").as_bytes(),
        delivery.create_time.unwrap_or(0).to_string().as_bytes(),
        delivery.content.as_deref().unwrap_or("").as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let id = postd_core::webhook::hex_encode(&hasher.finalize());
    let mut event = WebhookEvent::new(
        Platform::TikTok,
        delivery.event.chars().take(128).collect::<String>(),
        serde_json::json!({
            "event": delivery.event,
            "user_openid": delivery.user_openid,
            "create_time": delivery.create_time,
            "content": content,
        }),
    );
    event.id = Some(id);
    // The creator disconnected the app (or TikTok removed its access): the tokens are dead.
    event.revokes_access = delivery.event == "authorization.removed";
    event.target_id = delivery.user_openid.clone();
    event.occurred_at = delivery
        .create_time
        .and_then(|t| DateTime::from_timestamp(t, 0));
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::config::Vars;
    use postd_core::reqwest::header::{HeaderMap, HeaderValue};

    fn cfg() -> TikTokConfig {
        TikTokConfig::from_vars(&Vars::from_pairs([
            ("TIKTOK_CLIENT_KEY", "bwo2m45353a6k85"),
            ("TIKTOK_CLIENT_SECRET", "client_secret_example"),
        ]))
        .unwrap()
    }

    fn request(header: &str, body: &str) -> WebhookRequest {
        let mut h = HeaderMap::new();
        h.insert("tiktok-signature", HeaderValue::from_str(header).unwrap());
        WebhookRequest::post(h, body.as_bytes().to_vec())
    }

    fn at(t: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(t, 0).unwrap()
    }

    const VECTOR_BODY: &str = r#"{"id":"evt_test_webhook","object":"event"}"#;
    const VECTOR_SIG: &str = "de71b6f858cf0ba2276a55aa680d5f97717542022ac79054f110b9ab987bb009";

    #[test]
    fn the_pinned_vector_signs_and_its_body_is_not_an_event() {
        let header = format!("t=1633174587,s={VECTOR_SIG}");
        // Signed correctly: the signature passes, and the body (not TikTok's shape) is InvalidContent.
        let err = verify(&cfg(), &request(&header, VECTOR_BODY), at(1_633_174_587)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        let err = verify(
            &cfg(),
            &request(&header, &VECTOR_BODY.replace("evt", "EVT")),
            at(1_633_174_587),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    }

    fn sign(t: &str, body: &str) -> String {
        format!(
            "t={t},s={}",
            postd_core::webhook::hmac_sha256_hex(
                b"client_secret_example",
                format!("{t}.{body}").as_bytes()
            )
        )
    }

    #[test]
    fn a_signed_delivery_parses_its_content_and_gets_a_stable_id() {
        let body = r#"{"client_key":"bwo2m45353a6k85","event":"post.publish.complete","create_time":1615338610,"user_openid":"open-1","content":"{\"publish_id\":\"v_pub_file~v2-1.123\",\"publish_type\":\"DIRECT_PUBLISH\"}"}"#;
        let now = at(1_615_338_700);
        let events = verify(&cfg(), &request(&sign("1615338610", body), body), now).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "post.publish.complete");
        assert!(!events[0].revokes_access);
        assert_eq!(
            events[0].payload["content"]["publish_id"],
            "v_pub_file~v2-1.123"
        );
        assert_eq!(events[0].target_id.as_deref(), Some("open-1"));
        let again = verify(
            &cfg(),
            &request(&sign("1615338620", body), body),
            at(1_615_338_700),
        )
        .unwrap();
        assert_eq!(events[0].id, again[0].id, "a redelivery has the same id");
        // Another app's delivery, signed with our secret, is refused.
        let other = body.replace("bwo2m45353a6k85", "someone-else");
        let err = verify(&cfg(), &request(&sign("1615338610", &other), &other), now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
        // So is one that names no app at all.
        let none = body.replace(r#""client_key":"bwo2m45353a6k85","#, "");
        let err = verify(&cfg(), &request(&sign("1615338610", &none), &none), now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    }

    #[test]
    fn an_empty_secret_is_a_configuration_error_not_a_bad_signature() {
        let mut cfg = cfg();
        cfg.client_secret = String::new().into();
        let body = r#"{"client_key":"bwo2m45353a6k85","event":"x"}"#;
        let err = verify(
            &cfg,
            &request(&sign("1633174587", body), body),
            at(1_633_174_587),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    }

    #[test]
    fn work_an_attacker_chooses_is_bounded_before_any_hmac() {
        let body = r#"{"client_key":"bwo2m45353a6k85","event":"x"}"#;
        let now = at(1_633_174_587);
        // Five signatures: refused, even with the good one last.
        let good = sign("1633174587", body);
        let mut header = format!("t=1633174587,s={}", "0".repeat(64));
        for _ in 0..3 {
            header.push_str(&format!(",s={}", "1".repeat(64)));
        }
        header.push_str(&format!(",{}", good.split_once(',').unwrap().1));
        let err = verify(&cfg(), &request(&header, body), now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
        assert!(err.message().contains("too many"), "{err}");
        // A body over the cap is refused as such, whatever its signature.
        let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(MAX_BODY));
        let err = verify(&cfg(), &request(&sign("1633174587", &big), &big), now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
        let err = verify(&cfg(), &request("garbage", &big), now).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "size first: {err}");
    }

    #[test]
    fn hostile_headers_are_invalid_signatures_never_panics() {
        let body = r#"{"event":"x"}"#;
        let now = at(1_633_174_587);
        for header in [
            String::new(),
            "t=1633174587".to_owned(),
            format!("s={VECTOR_SIG}"),
            format!("t=hello,s={VECTOR_SIG}"),
            format!("t=-1,s={VECTOR_SIG}"),
            format!("t=1e9,s={VECTOR_SIG}"),
            format!("t= 1633174587,s={VECTOR_SIG}"),
            format!("t=99999999999999999999,s={VECTOR_SIG}"),
            "t=1633174587,s=abc".to_owned(),
            "t=1633174587,s=zz".to_owned(),
            "t=1633174587,t=1633174587,s=00".to_owned(),
            "garbage".to_owned(),
            format!("t=1633174587,s={}", "0".repeat(64)),
        ] {
            let err = verify(&cfg(), &request(&header, body), now).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{header:?}");
        }
        let err = verify(
            &cfg(),
            &WebhookRequest::post(HeaderMap::new(), body.as_bytes().to_vec()),
            now,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
    }

    #[test]
    fn one_good_signature_among_several_passes_and_stale_ones_do_not() {
        let body = r#"{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1633174587,"user_openid":"o","content":"{\"reason\":1}"}"#;
        let good = sign("1633174587", body);
        let header = format!(
            "t=1633174587,s={},{}",
            "0".repeat(64),
            good.split_once(",").unwrap().1
        );
        let events = verify(&cfg(), &request(&header, body), at(1_633_174_587)).unwrap();
        assert!(
            events[0].revokes_access,
            "authorization.removed revokes access"
        );
        for skew in [301, -301] {
            let err = verify(&cfg(), &request(&good, body), at(1_633_174_587 + skew)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "skew {skew}");
        }
        assert!(verify(&cfg(), &request(&good, body), at(1_633_174_587 + 299)).is_ok());
        // A re-serialised body no longer matches.
        let reserialized =
            serde_json::to_string(&serde_json::from_str::<Value>(body).unwrap()).unwrap();
        assert_ne!(reserialized, body);
        assert_eq!(
            verify(&cfg(), &request(&good, &reserialized), at(1_633_174_587))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidSignature
        );
    }
}
