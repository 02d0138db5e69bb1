//! Tests of the GBP fake, driven with plain reqwest as a connector would drive Google.

use chrono::{Datelike, Duration as Days, NaiveDate};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use postd_core::reqwest::Client;
use serde_json::{Value, json};

use super::*;
use crate::{Fault, Timing};

const REDIRECT: &str = "https://app.example/oauth/gbp/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const POSTS: &str = "/v4/accounts/111/locations/222/localPosts";

/// A fake with user `u1` (token returned) managing account 111 with location 222.
async fn seeded() -> (GbpFake, String) {
    seeded_with(GbpFakeConfig::default()).await
}

async fn seeded_with(config: GbpFakeConfig) -> (GbpFake, String) {
    let fake = GbpFake::start_with(config).await;
    let token = fake.seed_user("u1", &[SCOPE]);
    fake.seed_account("u1", "111", "Acme");
    fake.seed_location("111", "222", "Acme Cafe", true);
    (fake, token)
}

/// `(status, content-type, body text)`.
async fn raw(
    fake: &GbpFake,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, String, String) {
    let client = Client::new();
    let url = format!("{}{path}", fake.uri());
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PATCH" => client.patch(url),
        "DELETE" => client.delete(url),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

async fn call(
    fake: &GbpFake,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (s, _, text) = raw(fake, method, path, Some(token), body).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn form(fake: &GbpFake, path: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let resp = Client::new()
        .post(format!("{}{path}", fake.uri()))
        .form(pairs)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn exchange(fake: &GbpFake, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", fake.client_id()),
        ("client_secret", fake.client_secret()),
    ];
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    form(fake, "/token", &pairs).await
}

async fn refresh(fake: &GbpFake, rt: &str) -> (u16, Value) {
    form(
        fake,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", fake.client_id()),
            ("client_secret", fake.client_secret()),
        ],
    )
    .await
}

fn standard(summary: &str) -> Value {
    json!({"languageCode": "en-US", "topicType": "STANDARD", "summary": summary})
}

async fn create(fake: &GbpFake, token: &str, body: Value) -> (u16, Value) {
    call(fake, "POST", POSTS, token, Some(body)).await
}

fn detail<'a>(body: &'a Value, at_type: &str) -> &'a Value {
    body["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details: {body}"))
        .iter()
        .find(|d| d["@type"] == at_type)
        .unwrap_or_else(|| panic!("no {at_type}: {body}"))
}

fn assert_status(body: &Value, code: u16, status: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["status"], status, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

// --- OAuth ---------------------------------------------------------------------------

#[tokio::test]
async fn code_exchange_checks_pkce_redirect_and_single_use() {
    let fake = GbpFake::start().await;
    let code = fake.issue_code("u1", REDIRECT, &[SCOPE], Some(&s256(VERIFIER)));
    // A wrong verifier, a missing one, and a wrong redirect are refused without using the code.
    let (s, b) = exchange(
        &fake,
        &code,
        Some("wrong-verifier-wrong-verifier-wrong-verifier"),
    )
    .await;
    assert_eq!(
        (s, b),
        (400, oauth_error("invalid_grant", "Invalid code verifier."))
    );
    let (s, b) = exchange(&fake, &code, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, b) = form(
        &fake,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://evil.example/cb"),
            ("client_id", fake.client_id()),
            ("client_secret", fake.client_secret()),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("redirect_uri_mismatch"))
    );
    let (s, b) = exchange(&fake, &code, Some(VERIFIER)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert_eq!(b["scope"], SCOPE);
    let at = b["access_token"].as_str().unwrap();
    let rt = b["refresh_token"].as_str().unwrap();
    assert!(at.starts_with("ya29.") && rt.starts_with("1//"), "{b}");
    assert!(fake.token_is_live(at) && fake.token_is_live(rt));
    // Single use.
    let (s, b) = exchange(&fake, &code, Some(VERIFIER)).await;
    assert_eq!((s, b), (400, oauth_error("invalid_grant", "Bad Request")));
    // A code issued without a challenge refuses a verifier.
    let plain = fake.issue_code("u1", REDIRECT, &[SCOPE], None);
    let (s, b) = exchange(&fake, &plain, Some(VERIFIER)).await;
    assert_eq!(
        (s, b["error_description"].as_str()),
        (400, Some("code_verifier or verifier is not needed."))
    );
    assert_eq!(exchange(&fake, &plain, None).await.0, 200);
    // Client authentication.
    let any = fake.issue_code_any_verifier("u1", REDIRECT, &[SCOPE]);
    let (s, b) = form(
        &fake,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &any),
            ("redirect_uri", REDIRECT),
            ("client_id", fake.client_id()),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!((s, b), (401, oauth_error("invalid_client", "Unauthorized")));
    let (s, b) = form(
        &fake,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &any),
            ("redirect_uri", REDIRECT),
            ("client_id", "nope"),
            ("client_secret", "x"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(exchange(&fake, &any, Some("whatever")).await.0, 200);
    // Codes expire.
    let late = fake.issue_code_any_verifier("u1", REDIRECT, &[SCOPE]);
    fake.advance_time(601);
    assert_eq!(
        exchange(&fake, &late, None).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn http_basic_client_authentication_is_accepted() {
    let fake = GbpFake::start().await;
    let code = fake.issue_code("u1", REDIRECT, &[SCOPE], None);
    let resp = Client::new()
        .post(format!("{}/token", fake.uri()))
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn refresh_tokens_do_not_rotate_and_dead_ones_are_invalid_grant() {
    let fake = GbpFake::start().await;
    let (at, rt) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    let (s, b) = refresh(&fake, &rt).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b.get("refresh_token").is_none(),
        "Google does not rotate: {b}"
    );
    assert_eq!(b["expires_in"], 3600);
    let at2 = b["access_token"].as_str().unwrap().to_owned();
    assert_ne!(at2, at);
    // The same refresh token keeps working, and the old access token too.
    assert_eq!(refresh(&fake, &rt).await.0, 200);
    assert!(fake.token_is_live(&at) && fake.token_is_live(&at2));
    // Access tokens live an hour.
    fake.advance_time(3_601);
    assert!(!fake.token_is_live(&at));
    let (s, b) = call(&fake, "GET", "/v1/accounts", &at, None).await;
    assert_eq!(s, 401);
    assert_status(&b, 401, "UNAUTHENTICATED");
    assert_eq!(detail(&b, ERROR_INFO)["reason"], "ACCESS_TOKEN_EXPIRED");
    // A revoked refresh token is invalid_grant.
    fake.revoke_token(&rt);
    let (s, b) = refresh(&fake, &rt).await;
    assert_eq!(
        (s, b),
        (
            400,
            oauth_error("invalid_grant", "Token has been expired or revoked.")
        )
    );
    assert_eq!(
        refresh(&fake, "1//never-issued").await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn testing_mode_refresh_tokens_expire_after_seven_days() {
    let fake = GbpFake::start_with(GbpFakeConfig::testing_mode()).await;
    let (_, rt) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    fake.advance_time(6 * 86_400);
    assert_eq!(refresh(&fake, &rt).await.0, 200);
    fake.advance_time(86_400);
    let (s, b) = refresh(&fake, &rt).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    // Production refresh tokens do not expire on their own.
    let prod = GbpFake::start().await;
    let (_, rt) = prod.seed_user_with_refresh("u1", &[SCOPE]);
    prod.advance_time(400 * 86_400);
    assert_eq!(refresh(&prod, &rt).await.0, 200);
}

#[tokio::test]
async fn revoke_ends_the_grant_from_the_body_or_the_query() {
    let fake = GbpFake::start().await;
    let (at, rt) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    let (s, b) = form(&fake, "/revoke", &[("token", &at)]).await;
    assert_eq!((s, b), (200, json!({})));
    assert!(!fake.token_is_live(&at) && !fake.token_is_live(&rt));
    let (s, b) = form(&fake, "/revoke", &[("token", &rt)]).await;
    assert_eq!(
        (s, b),
        (
            400,
            oauth_error("invalid_token", "Token expired or revoked")
        )
    );
    let (_, rt2) = fake.seed_user_with_refresh("u2", &[SCOPE]);
    let resp = Client::new()
        .post(format!("{}/revoke?token={rt2}", fake.uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!fake.token_is_live(&rt2));
}

#[tokio::test]
async fn the_oldest_of_too_many_refresh_tokens_stops_working() {
    let fake = GbpFake::start_with(GbpFakeConfig {
        refresh_token_limit: Some(2),
        ..GbpFakeConfig::default()
    })
    .await;
    let (_, a) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    let (_, b) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    let (_, c) = fake.seed_user_with_refresh("u1", &[SCOPE]);
    assert!(!fake.token_is_live(&a));
    assert!(fake.token_is_live(&b) && fake.token_is_live(&c));
}

// --- The gate ------------------------------------------------------------------------

#[tokio::test]
async fn bad_tokens_are_unauthenticated_and_the_scope_is_checked() {
    let (fake, _) = seeded().await;
    let (s, ct, text) = raw(&fake, "GET", "/v1/accounts", None, None).await;
    assert!(ct.starts_with("application/json"), "{ct}");
    let b: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(s, 401);
    assert_status(&b, 401, "UNAUTHENTICATED");
    assert_eq!(detail(&b, ERROR_INFO)["reason"], "CREDENTIALS_MISSING");
    let (s, b) = call(&fake, "GET", "/v1/accounts", "ya29.garbage", None).await;
    assert_eq!(s, 401);
    assert_eq!(
        detail(&b, ERROR_INFO)["reason"],
        "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    );
    // A token without business.manage.
    let narrow = fake.seed_user("u1", &["openid", "email"]);
    let resp = Client::new()
        .get(format!("{}/v1/accounts", fake.uri()))
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains(SCOPE),
        "{challenge}"
    );
    let b: Value = resp.json().await.unwrap();
    assert_status(&b, 403, "PERMISSION_DENIED");
    assert_eq!(
        b["error"]["message"],
        "Request had insufficient authentication scopes."
    );
    let info = detail(&b, ERROR_INFO);
    assert_eq!(info["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT");
    assert_eq!(info["metadata"]["service"], ACCOUNT_MANAGEMENT);
    // The legacy scope is enough for v4, not for v1.
    let legacy = fake.seed_user("u1", &[LEGACY_SCOPE]);
    assert_eq!(call(&fake, "GET", POSTS, &legacy, None).await.0, 200);
    assert_eq!(
        call(&fake, "GET", "/v1/accounts", &legacy, None).await.0,
        403
    );
}

#[tokio::test]
async fn a_disabled_api_answers_service_disabled_with_the_activation_url() {
    let (fake, token) = seeded().await;
    fake.disable_api(BUSINESS_INFORMATION);
    let (s, b) = call(
        &fake,
        "GET",
        "/v1/accounts/111/locations?readMask=name",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 403);
    assert_status(&b, 403, "PERMISSION_DENIED");
    let url = "https://console.developers.google.com/apis/api/mybusinessbusinessinformation.googleapis.com/overview?project=123456789012";
    let info = detail(&b, ERROR_INFO);
    assert_eq!(info["reason"], "SERVICE_DISABLED");
    assert_eq!(info["domain"], "googleapis.com");
    assert_eq!(info["metadata"]["service"], BUSINESS_INFORMATION);
    assert_eq!(info["metadata"]["consumer"], "projects/123456789012");
    assert_eq!(info["metadata"]["activationUrl"], url);
    let message = b["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "My Business Business Information API has not been used in project 123456789012"
        ),
        "{message}"
    );
    assert!(message.contains(url));
    assert_eq!(
        detail(&b, "type.googleapis.com/google.rpc.Help")["links"][0]["url"],
        url
    );
    // Other APIs still answer; enabling it again restores it.
    assert_eq!(
        call(&fake, "GET", "/v1/accounts", &token, None).await.0,
        200
    );
    fake.enable_api(BUSINESS_INFORMATION);
    assert_eq!(
        call(
            &fake,
            "GET",
            "/v1/accounts/111/locations?readMask=name",
            &token,
            None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn quotas_are_per_api_per_minute_and_zero_refuses_every_call() {
    let (fake, token) = seeded().await;
    fake.set_quota(ACCOUNT_MANAGEMENT, 0);
    let resp = Client::new()
        .get(format!("{}/v1/accounts", fake.uri()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_none());
    let b: Value = resp.json().await.unwrap();
    assert_status(&b, 429, "RESOURCE_EXHAUSTED");
    let info = detail(&b, ERROR_INFO);
    assert_eq!(info["reason"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(info["metadata"]["quota_limit_value"], "0");
    assert_eq!(info["metadata"]["service"], ACCOUNT_MANAGEMENT);
    // Another API has its own quota.
    assert_eq!(call(&fake, "GET", POSTS, &token, None).await.0, 200);
    // Three a minute: the fourth waits for the window to slide.
    fake.set_quota(ACCOUNT_MANAGEMENT, 3);
    for _ in 0..3 {
        assert_eq!(
            call(&fake, "GET", "/v1/accounts", &token, None).await.0,
            200
        );
    }
    assert_eq!(
        call(&fake, "GET", "/v1/accounts", &token, None).await.0,
        429
    );
    fake.advance_time(61);
    assert_eq!(
        call(&fake, "GET", "/v1/accounts", &token, None).await.0,
        200
    );
}

#[tokio::test]
async fn the_default_quota_is_300_requests_per_minute() {
    let (fake, token) = seeded().await;
    for _ in 0..300 {
        assert_eq!(call(&fake, "GET", POSTS, &token, None).await.0, 200);
    }
    assert_eq!(call(&fake, "GET", POSTS, &token, None).await.0, 429);
}

#[tokio::test]
async fn malformed_resource_names_answer_the_html_404_page() {
    let (fake, token) = seeded().await;
    for path in [
        "/v4/locations/222/localPosts",
        "/v4/accounts//locations/222/localPosts",
        "/v1/accounts/111/locations/222:fetchMultiDailyMetricsTimeSeries?dailyMetrics=CALL_CLICKS",
        "/v1/accounts/111/locations/222",
    ] {
        let (s, ct, text) = raw(&fake, "GET", path, Some(&token), None).await;
        assert_eq!(s, 404, "{path}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(
            text.contains("<title>Error 404 (Not Found)!!1</title>"),
            "{text}"
        );
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
    // Even without a token: the front end answers before authentication.
    assert_eq!(
        raw(
            &fake,
            "POST",
            "/v4/accounts/111/localPosts",
            None,
            Some(json!({}))
        )
        .await
        .0,
        404
    );
    fake.server().assert_all_matched();
}

#[tokio::test]
async fn unmodelled_google_paths_fail_loudly() {
    let (fake, token) = seeded().await;
    let (s, _, _) = raw(
        &fake,
        "GET",
        "/v4/accounts/111/locations/222/reviews",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 421);
    assert_eq!(
        fake.server().unmatched(),
        ["GET /v4/accounts/111/locations/222/reviews"]
    );
    // The unmatched request would fail the test when the server drops: that is the point.
    std::mem::forget(fake);
}

// --- Accounts and locations ----------------------------------------------------------

#[tokio::test]
async fn accounts_page_by_twenty_at_most() {
    let fake = GbpFake::start().await;
    let token = fake.seed_user("u1", &[SCOPE]);
    for i in 0..23 {
        fake.seed_account("u1", &format!("{}", 1000 + i), &format!("A{i}"));
    }
    fake.seed_account("u2", "9999", "Someone else's");
    let (s, b) = call(&fake, "GET", "/v1/accounts?pageSize=50", &token, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accounts"].as_array().unwrap().len(), 20);
    assert_eq!(
        b["accounts"][0],
        json!({
            "name": "accounts/1000", "accountName": "A0", "type": "PERSONAL", "role": "PRIMARY_OWNER",
            "verificationState": "VERIFIED", "vettedState": "NOT_VETTED", "permissionLevel": "OWNER_LEVEL",
        })
    );
    let next = b["nextPageToken"].as_str().unwrap();
    let (s, b) = call(
        &fake,
        "GET",
        &format!("/v1/accounts?pageToken={next}"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["accounts/1020", "accounts/1021", "accounts/1022"]);
    assert!(b.get("nextPageToken").is_none());
    let (s, b) = call(&fake, "GET", "/v1/accounts?pageToken=forged", &token, None).await;
    assert_eq!(s, 400);
    assert_status(&b, 400, "INVALID_ARGUMENT");
    let (s, b) = call(&fake, "GET", "/v1/accounts?page_size=2", &token, None).await;
    assert_eq!((s, b["accounts"].as_array().unwrap().len()), (200, 2));
    let (s, b) = call(&fake, "GET", "/v1/accounts?pageSise=2", &token, None).await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unknown name \"pageSise\""),
        "{b}"
    );
}

#[tokio::test]
async fn locations_need_a_read_mask_and_page_by_up_to_a_hundred() {
    let (fake, token) = seeded().await;
    for i in 0..104 {
        fake.seed_location(
            "111",
            &format!("{}", 5000 + i),
            &format!("L{i}"),
            i % 2 == 0,
        );
    }
    let (s, b) = call(&fake, "GET", "/v1/accounts/111/locations", &token, None).await;
    assert_eq!(s, 400);
    assert_status(&b, 400, "INVALID_ARGUMENT");
    assert_eq!(
        detail(&b, BAD_REQUEST)["fieldViolations"],
        json!([{"field": "read_mask", "description": "Field is required"}])
    );
    let (s, b) = call(
        &fake,
        "GET",
        "/v1/accounts/111/locations?readMask=name,nope",
        &token,
        None,
    )
    .await;
    assert_eq!(
        (
            s,
            detail(&b, BAD_REQUEST)["fieldViolations"][0]["description"].as_str()
        ),
        (400, Some("Invalid field mask provided"))
    );
    // The default page is 10.
    let (s, b) = call(
        &fake,
        "GET",
        "/v1/accounts/111/locations?readMask=name,title",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["locations"].as_array().unwrap().len(), 10);
    assert_eq!(
        b["locations"][0],
        json!({"name": "locations/222", "title": "Acme Cafe"})
    );
    // 100 at most, then the rest.
    let (s, b) = call(
        &fake,
        "GET",
        "/v1/accounts/111/locations?readMask=name,metadata&pageSize=500",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let page1 = b["locations"].as_array().unwrap();
    assert_eq!(page1.len(), 100);
    let meta = &page1[0]["metadata"];
    assert_eq!(meta["canOperateLocalPost"], true);
    assert_eq!(meta["hasVoiceOfMerchant"], true);
    assert!(meta["placeId"].is_string() && meta["mapsUri"].is_string());
    // A location that cannot post: the false flags are absent, as proto3 JSON leaves them.
    let meta = &page1[2]["metadata"];
    assert_eq!(page1[2]["name"], "locations/5001");
    assert!(
        meta.get("canOperateLocalPost").is_none() && meta.get("hasVoiceOfMerchant").is_none(),
        "{meta}"
    );
    let next = b["nextPageToken"].as_str().unwrap();
    let (_, b) = call(
        &fake,
        "GET",
        &format!("/v1/accounts/111/locations?readMask=name&pageSize=100&pageToken={next}"),
        &token,
        None,
    )
    .await;
    assert_eq!(b["locations"].as_array().unwrap().len(), 5);
    // Subfield masks; another user's account is denied; an unknown one is not found.
    let (_, b) = call(
        &fake,
        "GET",
        "/v1/accounts/111/locations?read_mask=metadata.placeId&pageSize=1",
        &token,
        None,
    )
    .await;
    assert_eq!(
        b["locations"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["metadata"]
    );
    assert_eq!(b["locations"][0]["metadata"].as_object().unwrap().len(), 1);
    fake.seed_account("u2", "333", "Other");
    assert_eq!(
        call(
            &fake,
            "GET",
            "/v1/accounts/333/locations?readMask=name",
            &token,
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        call(
            &fake,
            "GET",
            "/v1/accounts/444/locations?readMask=name",
            &token,
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn a_location_can_sit_in_two_accounts() {
    let (fake, token) = seeded().await;
    fake.seed_account("u1", "112", "Acme group");
    fake.set_account_type("112", "LOCATION_GROUP");
    fake.seed_location("112", "222", "ignored", true);
    let (_, b) = call(
        &fake,
        "GET",
        "/v1/accounts/112/locations?readMask=name,title",
        &token,
        None,
    )
    .await;
    assert_eq!(
        b["locations"],
        json!([{"name": "locations/222", "title": "Acme Cafe"}])
    );
    let (_, b) = call(&fake, "GET", "/v1/accounts", &token, None).await;
    assert_eq!(b["accounts"][1]["type"], "LOCATION_GROUP");
    assert_eq!(
        create(&fake, &token, standard("via the group")).await.0,
        200
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            "/v4/accounts/112/locations/222/localPosts",
            &token,
            Some(standard("b"))
        )
        .await
        .0,
        200
    );
}

// --- Local posts ---------------------------------------------------------------------

#[tokio::test]
async fn a_post_is_processing_then_live_after_time_passes() {
    let (fake, token) = seeded().await;
    let body = json!({
        "languageCode": "en-US", "summary": "Come in for our spring sale!", "topicType": "STANDARD",
        "callToAction": {"actionType": "LEARN_MORE", "url": "https://example.com/sale"},
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/spring.jpg"}],
    });
    let (s, b) = create(&fake, &token, body.clone()).await;
    assert_eq!(s, 200, "{b}");
    let name = b["name"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("accounts/111/locations/222/localPosts/"),
        "{name}"
    );
    assert_eq!(b["state"], "PROCESSING");
    assert_eq!(b["summary"], "Come in for our spring sale!");
    assert_eq!(b["callToAction"], body["callToAction"]);
    assert_eq!(b["media"][0]["mediaFormat"], "PHOTO");
    assert!(
        b["media"][0]["googleUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://lh3.googleusercontent.com/")
    );
    assert!(b["createTime"].as_str().unwrap().ends_with('Z'));
    assert!(
        b.get("searchUrl").is_none(),
        "no search URL before it is live: {b}"
    );
    let path = format!("/v4/{name}");
    assert_eq!(
        call(&fake, "GET", &path, &token, None).await.1["state"],
        "PROCESSING"
    );
    fake.advance_time(31);
    let (s, b) = call(&fake, "GET", &path, &token, None).await;
    assert_eq!((s, b["state"].as_str()), (200, Some("LIVE")));
    assert!(
        b["searchUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://local.google.com/place?id="),
        "{b}"
    );
    let post = fake.local_post(&name).unwrap();
    assert_eq!((post.state.as_str(), post.request.clone()), ("LIVE", body));
}

#[tokio::test]
async fn processing_can_end_after_gets_for_suites_that_poll() {
    let (fake, token) = seeded_with(GbpFakeConfig {
        processing_gets: Some(2),
        ..GbpFakeConfig::default()
    })
    .await;
    let (_, b) = create(&fake, &token, standard("polled")).await;
    let path = format!("/v4/{}", b["name"].as_str().unwrap());
    assert_eq!(
        call(&fake, "GET", &path, &token, None).await.1["state"],
        "PROCESSING"
    );
    assert_eq!(
        call(&fake, "GET", &path, &token, None).await.1["state"],
        "PROCESSING"
    );
    assert_eq!(
        call(&fake, "GET", &path, &token, None).await.1["state"],
        "LIVE"
    );
}

#[tokio::test]
async fn reject_next_post_ends_the_review_rejected_with_the_reason_on_record() {
    let (fake, token) = seeded().await;
    fake.reject_next_post("Prohibited content");
    let (_, b) = create(&fake, &token, standard("Totally fine text")).await;
    let name = b["name"].as_str().unwrap().to_owned();
    assert_eq!(b["state"], "PROCESSING");
    fake.advance_time(31);
    let (s, b) = call(&fake, "GET", &format!("/v4/{name}"), &token, None).await;
    assert_eq!((s, b["state"].as_str()), (200, Some("REJECTED")));
    // The resource has no field for the reason; the fake keeps it.
    assert!(!b.to_string().contains("Prohibited content"), "{b}");
    let post = fake.local_post(&name).unwrap();
    assert_eq!(post.rejection_reason.as_deref(), Some("Prohibited content"));
    // The knob is used up: the next post goes live.
    let (_, b) = create(&fake, &token, standard("Next one")).await;
    fake.advance_time(31);
    assert_eq!(
        fake.local_post(b["name"].as_str().unwrap()).unwrap().state,
        "LIVE"
    );
}

#[tokio::test]
async fn phone_numbers_in_the_summary_are_rejected_unless_configured_off() {
    let (fake, token) = seeded().await;
    let (_, b) = create(&fake, &token, standard("Call us at (555) 123-4567")).await;
    fake.finish_reviews();
    let post = fake.local_post(b["name"].as_str().unwrap()).unwrap();
    assert_eq!(post.state, "REJECTED");
    assert!(post.rejection_reason.unwrap().contains("phone"));
    let (fake, token) = seeded_with(GbpFakeConfig {
        reject_phone_numbers: false,
        ..GbpFakeConfig::default()
    })
    .await;
    let (_, b) = create(&fake, &token, standard("Call us at (555) 123-4567")).await;
    fake.finish_reviews();
    assert_eq!(
        fake.local_post(b["name"].as_str().unwrap()).unwrap().state,
        "LIVE"
    );
}

#[tokio::test]
async fn invalid_posts_are_validation_errors_and_unbindable_ones_bad_requests() {
    let (fake, token) = seeded().await;
    let check = |b: &Value, field: &str, code: u32| {
        assert_status(b, 400, "INVALID_ARGUMENT");
        let details = detail(b, VALIDATION_ERROR)["errorDetails"]
            .as_array()
            .unwrap()
            .clone();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == field && d["code"] == code),
            "{field} {code}: {b}"
        );
    };
    let (s, b) = create(&fake, &token, standard(&"a".repeat(1501))).await;
    assert_eq!(s, 400);
    check(&b, "summary", 2);
    assert_eq!(
        create(&fake, &token, standard(&"é".repeat(1500))).await.0,
        200
    );
    let (_, b) = create(&fake, &token, json!({"topicType": "STANDARD"})).await;
    check(&b, "summary", 1);
    assert_eq!(
        detail(&b, VALIDATION_ERROR)["errorDetails"][0]["message"],
        "Standard local post must have summary or photo."
    );
    let (_, b) = create(&fake, &token, json!({"summary": "no topic"})).await;
    check(&b, "topic_type", 1);
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "x",
        "callToAction": {"actionType": "CALL", "url": "https://example.com"}}),
    )
    .await;
    check(&b, "call_to_action.url", 2);
    assert_eq!(
        create(
            &fake,
            &token,
            json!({"topicType": "STANDARD", "summary": "x",
        "callToAction": {"actionType": "CALL"}})
        )
        .await
        .0,
        200
    );
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "x",
        "callToAction": {"actionType": "LEARN_MORE"}}),
    )
    .await;
    check(&b, "call_to_action.url", 1);
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "x",
        "callToAction": {"actionType": "GET_OFFER", "url": "https://example.com"}}),
    )
    .await;
    check(&b, "call_to_action.action_type", 11);
    let (_, b) = create(&fake, &token, json!({"topicType": "EVENT", "summary": "x"})).await;
    check(&b, "event", 1);
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "x",
        "media": [{"mediaFormat": "PHOTO"}]}),
    )
    .await;
    check(&b, "media.source_url", 1);
    assert_eq!(
        detail(&b, VALIDATION_ERROR)["errorDetails"][0]["fieldIndex"],
        0
    );
    fake.fail_photo_fetch("https://cdn.example/gone.jpg");
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD",
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/gone.jpg"}]}),
    )
    .await;
    check(&b, "media.source_url", 1000);
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "x", "offer": {"couponCode": "A"}}),
    )
    .await;
    check(&b, "offer", 2);
    // No BadRequest beside the ValidationError unless asked for.
    assert_eq!(b["error"]["details"].as_array().unwrap().len(), 1);
    // Binding errors.
    let (s, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summery": "x"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_status(&b, 400, "INVALID_ARGUMENT");
    assert_eq!(
        b["error"]["message"],
        "Invalid JSON payload received. Unknown name \"summery\": Cannot find field."
    );
    assert!(detail(&b, BAD_REQUEST)["fieldViolations"][0]["description"].is_string());
    let (_, b) = create(
        &fake,
        &token,
        json!({"topicType": "PRODUCT", "summary": "x"}),
    )
    .await;
    assert_eq!(
        detail(&b, BAD_REQUEST)["fieldViolations"][0]["field"],
        "local_post.topic_type"
    );
    assert!(
        fake.local_posts()
            .iter()
            .all(|p| p.request["summary"] != "no topic")
    );
    assert_eq!(fake.local_posts().len(), 2);
}

#[tokio::test]
async fn the_bad_request_detail_can_be_added_to_validation_errors() {
    let (fake, token) = seeded_with(GbpFakeConfig {
        v4_bad_request_details: true,
        ..GbpFakeConfig::default()
    })
    .await;
    let (_, b) = create(&fake, &token, json!({"topicType": "STANDARD"})).await;
    assert_eq!(
        detail(&b, BAD_REQUEST)["fieldViolations"][0],
        json!({"field": "summary", "description": "Standard local post must have summary or photo."})
    );
    assert!(detail(&b, VALIDATION_ERROR)["errorDetails"].is_array());
}

#[tokio::test]
async fn events_and_offers_need_a_valid_schedule() {
    let (fake, token) = seeded().await;
    let day = |d: NaiveDate| json!({"year": d.year(), "month": d.month(), "day": d.day()});
    let today = chrono::DateTime::from_timestamp(fake.now(), 0)
        .unwrap()
        .date_naive();
    let event = json!({
        "topicType": "EVENT", "summary": "Live music",
        "event": {"title": "Spring Fair", "schedule": {
            "startDate": day(today + Days::days(1)), "startTime": {"hours": 9},
            "endDate": day(today + Days::days(3)), "endTime": {"hours": 17}}},
        "callToAction": {"actionType": "BOOK", "url": "https://example.com/book"},
    });
    let (s, b) = create(&fake, &token, event).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["event"]["title"], "Spring Fair");
    let offer = json!({
        "topicType": "OFFER", "summary": "20% off",
        "event": {"title": "20% off", "schedule": {"startDate": day(today), "endDate": day(today + Days::days(7))}},
        "offer": {"couponCode": "SPRING20", "redeemOnlineUrl": "https://example.com/redeem", "termsConditions": "In store."},
        "callToAction": {"actionType": "LEARN_MORE", "url": "https://example.com"},
    });
    let (s, b) = create(&fake, &token, offer).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("callToAction").is_none(), "ignored for OFFER: {b}");
    assert_eq!(b["offer"]["couponCode"], "SPRING20");
    let bad = |schedule: Value| json!({"topicType": "EVENT", "event": {"title": "T", "schedule": schedule}});
    let code_of = |b: &Value| detail(b, VALIDATION_ERROR)["errorDetails"][0]["code"].clone();
    let (_, b) = create(
        &fake,
        &token,
        bad(json!({"startDate": day(today + Days::days(3)), "endDate": day(today)})),
    )
    .await;
    assert_eq!(code_of(&b), 7);
    let (_, b) = create(
        &fake,
        &token,
        bad(
            json!({"startDate": day(today - Days::days(9)), "endDate": day(today - Days::days(2))}),
        ),
    )
    .await;
    assert_eq!(code_of(&b), 12);
    let (_, b) = create(
        &fake,
        &token,
        bad(json!({"startDate": {"year": 2026, "month": 2, "day": 30}, "endDate": day(today)})),
    )
    .await;
    assert_eq!(code_of(&b), 2);
    let (_, b) = create(
        &fake,
        &token,
        bad(json!({"startDate": day(today), "endDate": day(today), "startTime": {"hours": 9}})),
    )
    .await;
    assert_eq!(code_of(&b), 1);
    let (_, b) = create(&fake, &token, json!({"topicType": "EVENT", "event": {"schedule": {"startDate": day(today), "endDate": day(today)}}})).await;
    assert_eq!(
        detail(&b, VALIDATION_ERROR)["errorDetails"][0]["field"],
        "event.title"
    );
}

#[tokio::test]
async fn alerts_take_a_summary_and_a_call_to_action_only() {
    let (fake, token) = seeded().await;
    let (s, b) = create(
        &fake,
        &token,
        json!({"topicType": "ALERT", "alertType": "COVID_19", "summary": "Hours changed"}),
    )
    .await;
    assert_eq!((s, b["alertType"].as_str()), (200, Some("COVID_19")));
    let (s, _) = create(&fake, &token, json!({"topicType": "ALERT", "summary": "x"})).await;
    assert_eq!(s, 400);
    let (s, _) = create(
        &fake,
        &token,
        json!({"topicType": "ALERT", "alertType": "COVID_19", "summary": "x",
        "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example/a.jpg"}]}),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn a_scheduled_post_waits_then_is_reviewed() {
    let (fake, token) = seeded().await;
    let at = chrono::DateTime::from_timestamp(fake.now() + 3_600, 0)
        .unwrap()
        .to_rfc3339();
    let (s, b) = create(
        &fake,
        &token,
        json!({"topicType": "STANDARD", "summary": "Later", "scheduledTime": at}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["state"], "SCHEDULED");
    // Answered Z-normalized.
    assert_eq!(
        b["scheduledTime"],
        chrono::DateTime::parse_from_rfc3339(&at)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    );
    let name = b["name"].as_str().unwrap().to_owned();
    fake.finish_reviews();
    assert_eq!(fake.local_post(&name).unwrap().state, "SCHEDULED");
    fake.advance_time(3_600);
    assert_eq!(fake.local_post(&name).unwrap().state, "PROCESSING");
    fake.advance_time(30);
    assert_eq!(fake.local_post(&name).unwrap().state, "LIVE");
}

#[tokio::test]
async fn a_location_that_cannot_post_is_a_failed_precondition() {
    let (fake, token) = seeded().await;
    fake.seed_location("111", "223", "Unverified", false);
    let (s, b) = call(
        &fake,
        "POST",
        "/v4/accounts/111/locations/223/localPosts",
        &token,
        Some(standard("x")),
    )
    .await;
    assert_eq!(s, 400);
    assert_status(&b, 400, "FAILED_PRECONDITION");
    assert_eq!(b["error"]["message"], "Precondition check failed.");
    // Reads still work; verifying it lets it post.
    assert_eq!(
        call(
            &fake,
            "GET",
            "/v4/accounts/111/locations/223/localPosts",
            &token,
            None
        )
        .await
        .0,
        200
    );
    fake.set_location_metadata("locations/223", GbpLocationMetadata::can_post());
    assert_eq!(
        call(
            &fake,
            "POST",
            "/v4/accounts/111/locations/223/localPosts",
            &token,
            Some(standard("x"))
        )
        .await
        .0,
        200
    );
    // Another account's location is not found; another user's account is denied.
    assert_eq!(
        call(
            &fake,
            "POST",
            "/v4/accounts/111/locations/999/localPosts",
            &token,
            Some(standard("x"))
        )
        .await
        .0,
        404
    );
    fake.seed_account("u2", "333", "Other");
    fake.seed_location("333", "334", "Other's", true);
    let (s, b) = call(
        &fake,
        "POST",
        "/v4/accounts/333/locations/334/localPosts",
        &token,
        Some(standard("x")),
    )
    .await;
    assert_eq!(s, 403);
    assert_status(&b, 403, "PERMISSION_DENIED");
}

#[tokio::test]
async fn ten_writes_a_minute_per_location() {
    let (fake, token) = seeded().await;
    fake.seed_location("111", "224", "Second", true);
    for i in 0..10 {
        assert_eq!(
            create(&fake, &token, standard(&format!("post {i}")))
                .await
                .0,
            200
        );
    }
    let (s, b) = create(&fake, &token, standard("eleventh")).await;
    assert_eq!(s, 429);
    assert_status(&b, 429, "RESOURCE_EXHAUSTED");
    assert_eq!(detail(&b, ERROR_INFO)["reason"], "RATE_LIMIT_EXCEEDED");
    assert_eq!(
        detail(&b, ERROR_INFO)["metadata"]["quota_limit_value"],
        "10"
    );
    assert_eq!(fake.local_posts().len(), 10);
    // Deletes count too; reads do not; another location has its own window.
    let name = fake.local_posts()[0].name.clone();
    assert_eq!(
        call(&fake, "DELETE", &format!("/v4/{name}"), &token, None)
            .await
            .0,
        429
    );
    assert_eq!(call(&fake, "GET", POSTS, &token, None).await.0, 200);
    assert_eq!(
        call(
            &fake,
            "POST",
            "/v4/accounts/111/locations/224/localPosts",
            &token,
            Some(standard("x"))
        )
        .await
        .0,
        200
    );
    fake.advance_time(61);
    assert_eq!(
        create(&fake, &token, standard("a minute later")).await.0,
        200
    );
}

#[tokio::test]
async fn posts_list_newest_first_in_pages_patch_and_delete() {
    let (fake, token) = seeded().await;
    let mut names = Vec::new();
    for i in 0..5 {
        names.push(
            create(&fake, &token, standard(&format!("p{i}"))).await.1["name"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        fake.advance_time(61);
    }
    let (s, b) = call(&fake, "GET", &format!("{POSTS}?pageSize=3"), &token, None).await;
    assert_eq!(s, 200, "{b}");
    let got: Vec<&str> = b["localPosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [names[4].as_str(), names[3].as_str(), names[2].as_str()]
    );
    let next = b["nextPageToken"].as_str().unwrap();
    let (_, b) = call(
        &fake,
        "GET",
        &format!("{POSTS}?pageSize=3&pageToken={next}"),
        &token,
        None,
    )
    .await;
    assert_eq!(b["localPosts"].as_array().unwrap().len(), 2);
    assert!(b.get("nextPageToken").is_none());
    // Patch needs an updateMask, and starts the review again.
    let path = format!("/v4/{}", names[0]);
    assert_eq!(fake.local_post(&names[0]).unwrap().state, "LIVE");
    let (s, b) = call(
        &fake,
        "PATCH",
        &path,
        &token,
        Some(json!({"summary": "edited"})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        detail(&b, BAD_REQUEST)["fieldViolations"][0]["field"],
        "update_mask"
    );
    let (s, b) = call(
        &fake,
        "PATCH",
        &format!("{path}?updateMask=summary"),
        &token,
        Some(json!({"summary": "edited"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["summary"].as_str(), b["state"].as_str()),
        (Some("edited"), Some("PROCESSING"))
    );
    assert_eq!(b["languageCode"], "en-US");
    let (s, b) = call(
        &fake,
        "PATCH",
        &format!("{path}?updateMask=summary"),
        &token,
        Some(json!({"topicType": "STANDARD"})),
    )
    .await;
    assert_eq!(
        s, 400,
        "clearing the summary leaves a standard post empty: {b}"
    );
    // Delete answers {} and the post is gone.
    let (s, b) = call(&fake, "DELETE", &path, &token, None).await;
    assert_eq!((s, b), (200, json!({})));
    let (s, b) = call(&fake, "GET", &path, &token, None).await;
    assert_eq!(s, 404);
    assert_status(&b, 404, "NOT_FOUND");
    assert!(fake.local_post(&names[0]).unwrap().deleted);
    let (_, b) = call(&fake, "GET", POSTS, &token, None).await;
    assert_eq!(b["localPosts"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_after_commit_exists() {
    let (fake, token) = seeded().await;
    fake.server()
        .faults()
        .inject("POST", "/localPosts", Fault::Reset, 1, Timing::AfterCommit);
    let r = Client::new()
        .post(format!("{}{POSTS}", fake.uri()))
        .bearer_auth(&token)
        .json(&standard("once"))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(fake.local_posts().len(), 1);
    // A 500 after commit: the post exists too; a refused create (before commit) makes none.
    fake.server().faults().inject(
        "POST",
        "/localPosts",
        Fault::status(500),
        1,
        Timing::AfterCommit,
    );
    assert_eq!(create(&fake, &token, standard("twice")).await.0, 500);
    assert_eq!(fake.local_posts().len(), 2);
    fake.server().faults().inject(
        "POST",
        "/localPosts",
        Fault::status(503),
        1,
        Timing::BeforeCommit,
    );
    assert_eq!(create(&fake, &token, standard("never")).await.0, 503);
    assert_eq!(fake.local_posts().len(), 2);
    // The list shows what Google holds.
    let (_, b) = call(&fake, "GET", POSTS, &token, None).await;
    let summaries: Vec<&str> = b["localPosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["summary"].as_str().unwrap())
        .collect();
    assert_eq!(summaries, ["twice", "once"]);
}

// --- Performance ---------------------------------------------------------------------

#[tokio::test]
async fn daily_metrics_are_strings_left_out_when_zero_and_late_days_are_empty() {
    let (fake, token) = seeded().await;
    let today = chrono::DateTime::from_timestamp(fake.now(), 0)
        .unwrap()
        .date_naive();
    let start = today - Days::days(4);
    for i in 0..5 {
        fake.set_daily_metric(
            "locations/222",
            "WEBSITE_CLICKS",
            start + Days::days(i),
            10 + i as u64,
        );
    }
    fake.set_daily_metric("222", "CALL_CLICKS", start, 0);
    let q = |d: NaiveDate, which: &str| {
        format!(
            "dailyRange.{which}.year={}&dailyRange.{which}.month={}&dailyRange.{which}.day={}",
            d.year(),
            d.month(),
            d.day()
        )
    };
    let path = format!(
        "/v1/locations/222:fetchMultiDailyMetricsTimeSeries?dailyMetrics=WEBSITE_CLICKS&dailyMetrics=CALL_CLICKS&{}&{}",
        q(start, "start_date"),
        q(today, "endDate")
    );
    let (s, b) = call(&fake, "GET", &path, &token, None).await;
    assert_eq!(s, 200, "{b}");
    let series = &b["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"];
    assert_eq!(series[0]["dailyMetric"], "WEBSITE_CLICKS");
    let values = series[0]["timeSeries"]["datedValues"].as_array().unwrap();
    assert_eq!(values.len(), 5);
    assert_eq!(
        values[0],
        json!({"date": {"year": start.year(), "month": start.month(), "day": start.day()}, "value": "10"})
    );
    assert_eq!(values[2]["value"], "12");
    // The last two days (today and yesterday) are not available yet.
    assert!(
        values[3].get("value").is_none() && values[4].get("value").is_none(),
        "{b}"
    );
    // Zero is left out.
    assert_eq!(series[1]["dailyMetric"], "CALL_CLICKS");
    assert!(
        series[1]["timeSeries"]["datedValues"][0]
            .get("value")
            .is_none()
    );
    // Two days later the data is there (with a token of the day).
    fake.advance_time(2 * 86_400);
    let token = fake.seed_user("u1", &[SCOPE]);
    let (s, b) = call(&fake, "GET", &path, &token, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["multiDailyMetricTimeSeries"][0]["dailyMetricTimeSeries"][0]["timeSeries"]["datedValues"]
            [4]["value"],
        "14"
    );
    // Errors: no metric, an unknown one, no range, an inverted range.
    let base = "/v1/locations/222:fetchMultiDailyMetricsTimeSeries";
    let (s, _) = call(
        &fake,
        "GET",
        &format!("{base}?{}&{}", q(start, "startDate"), q(today, "endDate")),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 400);
    let (s, b) = call(
        &fake,
        "GET",
        &format!(
            "{base}?dailyMetrics=VIEWS&{}&{}",
            q(start, "startDate"),
            q(today, "endDate")
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid value at 'daily_metrics[0]'"),
        "{b}"
    );
    let (s, b) = call(
        &fake,
        "GET",
        &format!("{base}?dailyMetrics=CALL_CLICKS"),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert_status(&b, 400, "INVALID_ARGUMENT");
    let (s, _) = call(
        &fake,
        "GET",
        &format!(
            "{base}?dailyMetrics=CALL_CLICKS&{}&{}",
            q(today, "startDate"),
            q(start, "endDate")
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 400);
    // Another user's location.
    fake.seed_account("u2", "333", "Other");
    fake.seed_location("333", "334", "Other's", true);
    let (s, _) = call(
        &fake,
        "GET",
        &format!(
            "/v1/locations/334:fetchMultiDailyMetricsTimeSeries?dailyMetrics=CALL_CLICKS&{}&{}",
            q(start, "startDate"),
            q(today, "endDate")
        ),
        &token,
        None,
    )
    .await;
    assert_eq!(s, 403);
}

// --- Notifications -------------------------------------------------------------------

#[tokio::test]
async fn push_deliveries_are_pubsub_bodies_of_notification_json() {
    let fake = GbpFake::start().await;
    let loc = "accounts/111/locations/222";
    let d = fake.push_delivery(
        "NEW_REVIEW",
        loc,
        Some("accounts/111/locations/222/reviews/r1"),
    );
    let body: Value = serde_json::from_slice(&d.body).unwrap();
    let m = &body["message"];
    assert_eq!(
        body["subscription"],
        "projects/fake-project/subscriptions/gbp-push"
    );
    assert_eq!(m["messageId"], d.message_id.as_str());
    assert_eq!(m["message_id"], d.message_id.as_str());
    assert_eq!(m["publishTime"], d.publish_time.as_str());
    assert_eq!(m["publish_time"], d.publish_time.as_str());
    assert_eq!(m["attributes"], json!({}));
    let data = crate::util::base64_decode(m["data"].as_str().unwrap()).unwrap();
    assert!(
        m["data"].as_str().unwrap().len().is_multiple_of(4),
        "padded standard base64"
    );
    let data: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(
        data,
        json!({"type": "NEW_REVIEW", "locationName": loc, "reviewName": "accounts/111/locations/222/reviews/r1"})
    );
    assert_eq!(serde_json::from_str::<Value>(&d.data).unwrap(), data);
    let e = fake.push_delivery(
        "NEW_ANSWER",
        loc,
        Some("accounts/111/locations/222/questions/q1/answers/a1"),
    );
    assert_ne!(e.message_id, d.message_id);
    let data: Value = serde_json::from_str(&e.data).unwrap();
    assert_eq!(
        data["questionName"],
        "accounts/111/locations/222/questions/q1"
    );
    assert_eq!(
        data["answerName"],
        "accounts/111/locations/222/questions/q1/answers/a1"
    );
    let request = fake.push_request(&d);
    assert_eq!(request.method, "POST");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body, d.body);
    let token = bearer(&request);
    let jwks: JwkSet = serde_json::from_value(fake.jwks()).unwrap();
    assert!(verify(&fake, &jwks, &token).is_ok());
    let wrong = fake.push_request_with(&d, PushToken::WrongAudience);
    assert_eq!(wrong.body, d.body);
    assert_eq!(wrong.headers["content-type"], "application/json");
    assert_eq!(
        verify(&fake, &jwks, &bearer(&wrong)).unwrap_err(),
        Refused::Jwt(ErrorKind::InvalidAudience)
    );
    for t in NOTIFICATION_TYPES {
        assert_eq!(notification_data(t, loc, None)["type"], *t);
    }
}

// --- Push authentication -------------------------------------------------------------

/// Why [`verify`] refused a push token.
#[derive(Debug, PartialEq)]
enum Refused {
    /// The header does not parse (jsonwebtoken knows no `alg: none`).
    Header,
    /// No key of the JWK set has the token's `kid`.
    NoKey(String),
    /// jsonwebtoken's signature or claim check.
    Jwt(ErrorKind),
    Email,
    EmailNotVerified,
    IssuedInFuture,
}

/// The claims of a push token, checked as a GBP connector checks them: RS256 under the JWK
/// of its `kid`; `aud`, `iss` (either spelling) and `exp` (60 s leeway) required and checked;
/// then `email`, `email_verified`, and `iat` no later than a minute from now.
fn verify(fake: &GbpFake, jwks: &JwkSet, token: &str) -> Result<Value, Refused> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refused::Header)?;
    let kid = header.kid.unwrap_or_default();
    let jwk = jwks.find(&kid).ok_or(Refused::NoKey(kid))?;
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&fake.config().push_audience]);
    v.set_issuer(&["accounts.google.com", PUSH_ISSUER]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .map_err(|e| Refused::Jwt(e.into_kind()))?
        .claims;
    if claims["email"] != fake.config().push_service_account.as_str() {
        return Err(Refused::Email);
    }
    if claims["email_verified"] != true {
        return Err(Refused::EmailNotVerified);
    }
    if claims["iat"]
        .as_i64()
        .is_none_or(|iat| iat > fake.now() + 60)
    {
        return Err(Refused::IssuedInFuture);
    }
    Ok(claims)
}

fn bearer(request: &postd_core::WebhookRequest) -> String {
    let value = request.headers["authorization"].to_str().unwrap();
    value.strip_prefix("Bearer ").unwrap().to_owned()
}

/// The decoded JSON of a JWT segment (0 the header, 1 the claims).
fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&crate::util::base64_decode(part).unwrap()).unwrap()
}

async fn fetch_jwks(fake: &GbpFake) -> (u16, postd_core::reqwest::header::HeaderMap, JwkSet) {
    let resp = Client::new().get(fake.jwks_url()).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

#[tokio::test]
async fn the_jwks_is_served_and_verifies_a_good_push_token() {
    let fake = GbpFake::start().await;
    assert_eq!(fake.jwks_url(), format!("{}/oauth2/v3/certs", fake.uri()));
    let (status, headers, jwks) = fetch_jwks(&fake).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json; charset=UTF-8");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=21600, must-revalidate, no-transform"
    );
    assert_eq!(fake.jwks_fetches(), 1);
    assert_eq!(fake.requests(), ["GET /oauth2/v3/certs"]);
    let raw = fake.jwks();
    assert_eq!(raw["keys"].as_array().unwrap().len(), 1);
    let jwk = &raw["keys"][0];
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"], &jwk["e"]),
        (
            &json!("RSA"),
            &json!("RS256"),
            &json!("sig"),
            &json!("AQAB")
        )
    );
    assert_eq!(jwk["kid"], fake.push_key_id().as_str());
    assert_eq!(jwk.as_object().unwrap().len(), 6);

    let token = fake.push_token(PushToken::Good);
    assert_eq!(
        segment(&token, 0),
        json!({"alg": "RS256", "kid": fake.push_key_id(), "typ": "JWT"})
    );
    let claims = verify(&fake, &jwks, &token).unwrap();
    let id = fake.push_service_account_id();
    let now = fake.now();
    assert_eq!(
        claims,
        json!({
            "aud": "https://postd.example/webhooks/gbp",
            "azp": id,
            "email": "gbp-push@fake-project.iam.gserviceaccount.com",
            "email_verified": true,
            "exp": claims["iat"].as_i64().unwrap() + 3600,
            "iat": claims["iat"],
            "iss": "https://accounts.google.com",
            "sub": id,
        })
    );
    assert!((claims["iat"].as_i64().unwrap() - now).abs() <= 1);
    assert_eq!(id.len(), 21);
    // The fake clock stamps the token.
    fake.advance_time(600);
    let later = segment(&fake.push_token(PushToken::Good), 1);
    assert!(later["iat"].as_i64().unwrap() >= now + 600);
}

#[tokio::test]
async fn the_push_audience_service_account_and_max_age_are_configurable() {
    let fake = GbpFake::start_with(GbpFakeConfig {
        push_audience: "https://app.example/push".into(),
        push_service_account: "sa@proj.iam.gserviceaccount.com".into(),
        jwks_max_age: 60,
        ..GbpFakeConfig::default()
    })
    .await;
    let (_, headers, jwks) = fetch_jwks(&fake).await;
    assert_eq!(
        headers["cache-control"],
        "public, max-age=60, must-revalidate, no-transform"
    );
    let claims = verify(&fake, &jwks, &fake.push_token(PushToken::Good)).unwrap();
    assert_eq!(claims["aud"], "https://app.example/push");
    assert_eq!(claims["email"], "sa@proj.iam.gserviceaccount.com");
    assert_eq!(claims["sub"], fake.push_service_account_id().as_str());
    assert_ne!(
        fake.push_service_account_id(),
        GbpFake::start().await.push_service_account_id()
    );
}

#[tokio::test]
async fn each_bad_push_token_fails_for_its_reason() {
    let fake = GbpFake::start().await;
    let (_, _, jwks) = fetch_jwks(&fake).await;
    let unknown = segment(&fake.push_token(PushToken::UnknownKid), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(unknown, fake.push_key_id());
    for variant in PushToken::BAD {
        let token = fake.push_token(*variant);
        let expected = match variant {
            PushToken::WrongAudience => Refused::Jwt(ErrorKind::InvalidAudience),
            PushToken::WrongEmail => Refused::Email,
            PushToken::EmailNotVerified => Refused::EmailNotVerified,
            PushToken::Expired => Refused::Jwt(ErrorKind::ExpiredSignature),
            PushToken::WrongIssuer => Refused::Jwt(ErrorKind::InvalidIssuer),
            PushToken::UnknownKid => Refused::NoKey(unknown.clone()),
            PushToken::AlgNone => Refused::Header,
            PushToken::Tampered => Refused::Jwt(ErrorKind::InvalidSignature),
            PushToken::IssuedInFuture => Refused::IssuedInFuture,
            other => panic!("{other:?} has no expected reason"),
        };
        assert_eq!(verify(&fake, &jwks, &token), Err(expected), "{variant:?}");
    }
    // What each bad token looks like.
    let now = fake.now();
    let claims = |v| segment(&fake.push_token(v), 1);
    let expired = claims(PushToken::Expired);
    assert!(expired["exp"].as_i64().unwrap() <= now - 3600);
    assert_eq!(
        expired["exp"].as_i64().unwrap() - expired["iat"].as_i64().unwrap(),
        3600
    );
    assert!(claims(PushToken::IssuedInFuture)["iat"].as_i64().unwrap() >= now + 3600);
    let wrong = claims(PushToken::WrongEmail);
    assert_ne!(wrong["sub"], fake.push_service_account_id().as_str());
    assert_eq!(wrong["aud"], fake.config().push_audience.as_str());
    let none = fake.push_token(PushToken::AlgNone);
    assert!(none.ends_with('.'), "no signature: {none}");
    assert_eq!(segment(&none, 0)["alg"], "none");
    assert_eq!(segment(&none, 1)["email"], claims(PushToken::Good)["email"]);
    let tampered = fake.push_token(PushToken::Tampered);
    assert_eq!(
        segment(&tampered, 1)["email"],
        claims(PushToken::Good)["email"]
    );
    assert_eq!(segment(&tampered, 0)["kid"], fake.push_key_id().as_str());
    assert!(!tampered.split('.').nth(2).unwrap().is_empty());
    // jsonwebtoken alone accepts a token issued in the future: the `iat` check is the
    // verifier's.
    let key = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&fake.config().push_audience]);
    let future = fake.push_token(PushToken::IssuedInFuture);
    assert!(jsonwebtoken::decode::<Value>(&future, &key, &v).is_ok());
}

#[tokio::test]
async fn rotation_signs_with_a_new_key_and_publishes_both() {
    let fake = GbpFake::start().await;
    let first = fake.push_key_id();
    let old_token = fake.push_token(PushToken::Good);
    let (_, _, before) = fetch_jwks(&fake).await;

    fake.rotate_push_key();
    let second = fake.push_key_id();
    assert_ne!(second, first);
    let new_token = fake.push_token(PushToken::Good);
    assert_eq!(segment(&new_token, 0)["kid"], second.as_str());
    // A verifier holding the old set has no key for the new kid, until it fetches again.
    assert_eq!(
        verify(&fake, &before, &new_token),
        Err(Refused::NoKey(second.clone()))
    );
    let (_, _, after) = fetch_jwks(&fake).await;
    let kids: Vec<_> = after
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [second.clone(), first.clone()]);
    assert!(verify(&fake, &after, &new_token).is_ok());
    assert!(
        verify(&fake, &after, &old_token).is_ok(),
        "the previous key still verifies"
    );
    assert_eq!(fake.jwks_fetches(), 2);

    // The next rotation retires the first key.
    fake.rotate_push_key();
    let (_, _, last) = fetch_jwks(&fake).await;
    let kids: Vec<_> = last
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, [fake.push_key_id(), second]);
    assert_eq!(verify(&fake, &last, &old_token), Err(Refused::NoKey(first)));
    let unknown = fake.push_token(PushToken::UnknownKid);
    assert!(matches!(
        verify(&fake, &last, &unknown),
        Err(Refused::NoKey(_))
    ));
}

#[tokio::test]
#[should_panic(expected = "cannot rotate past the last")]
async fn rotating_past_the_last_key_panics() {
    let fake = GbpFake::start().await;
    fake.rotate_push_key();
    fake.rotate_push_key();
    fake.rotate_push_key();
}

#[tokio::test]
async fn jwks_fetches_count_the_answers_served() {
    let fake = GbpFake::start().await;
    assert_eq!(fake.jwks_fetches(), 0);
    let _ = fake.jwks();
    assert_eq!(fake.jwks_fetches(), 0, "reading the set is no fetch");
    for _ in 0..3 {
        assert_eq!(fetch_jwks(&fake).await.0, 200);
    }
    assert_eq!(fake.jwks_fetches(), 3);
    fake.server().faults().inject(
        "GET",
        "/oauth2/v3/certs",
        Fault::status(503),
        1,
        Timing::BeforeCommit,
    );
    let resp = Client::new().get(fake.jwks_url()).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(fake.jwks_fetches(), 3, "a faulted fetch served no set");
    assert_eq!(fetch_jwks(&fake).await.0, 200);
    assert_eq!(fake.jwks_fetches(), 4);
}

#[tokio::test]
async fn other_methods_on_the_jwks_fail_loudly() {
    let fake = GbpFake::start().await;
    let resp = Client::new().post(fake.jwks_url()).send().await.unwrap();
    assert_eq!(resp.status(), 421);
    assert_eq!(fake.server().unmatched(), ["POST /oauth2/v3/certs"]);
    assert_eq!(fake.jwks_fetches(), 0);
    // The unmatched request would fail the test when the server drops: that is the point.
    std::mem::forget(fake);
}

// --- PlatformFake --------------------------------------------------------------------

mod platform {
    use postd_core::secrecy::ExposeSecret;
    use postd_core::{Credentials, TargetKind};

    use super::*;
    use crate::conformance::{GrantEnd, PlatformFake};

    fn tokens(seeded: &crate::conformance::Seeded) -> (String, String) {
        let Credentials::OAuth(t) = &seeded.credentials else {
            panic!("OAuth credentials")
        };
        (
            t.access_token.expose_secret().to_owned(),
            t.refresh_token.as_ref().unwrap().expose_secret().to_owned(),
        )
    }

    #[tokio::test]
    async fn seeds_a_location_that_posts_with_canary_tokens() {
        let fake = GbpFake::start().await;
        let seeded = fake.seed(TargetKind::GbpLocation, Some("POSTDCANARY1"));
        assert_eq!(seeded.target.kind, TargetKind::GbpLocation);
        let parts: Vec<&str> = seeded.target.id.split('/').collect();
        assert_eq!(
            (parts[0], parts[2], parts.len()),
            ("accounts", "locations", 4)
        );
        let (at, rt) = tokens(&seeded);
        assert!(at.starts_with("POSTDCANARY1") && rt.starts_with("POSTDCANARY1"));
        let (s, b) = call(
            &fake,
            "POST",
            &format!("/v4/{}/localPosts", seeded.target.id),
            &at,
            Some(standard("canary")),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(fake.post_ids(&seeded.target), [b["name"].as_str().unwrap()]);
        let route = fake.create_route(&seeded.target);
        assert!(route.matches(fake.received().await.last().unwrap()));
        let (s, b) = refresh(&fake, &rt).await;
        assert_eq!(s, 200);
        assert!(
            b["access_token"]
                .as_str()
                .unwrap()
                .starts_with("POSTDCANARY1")
        );
        // The location's accounts list it.
        let (_, b) = call(&fake, "GET", "/v1/accounts", &at, None).await;
        assert_eq!(b["accounts"][0]["name"], format!("accounts/{}", parts[1]));
        fake.finish_processing();
        assert_eq!(fake.local_posts()[0].state, "LIVE");
    }

    #[tokio::test]
    #[should_panic(expected = "GbpFake seeds Business Profile locations")]
    async fn seeds_only_locations() {
        let fake = GbpFake::start().await;
        fake.seed(TargetKind::TikTokAccount, None);
    }

    #[tokio::test]
    async fn codes_exchange_and_dead_grants_are_invalid_grant() {
        let fake = GbpFake::start().await;
        let seeded = fake.seed(TargetKind::GbpLocation, None);
        let code = fake.authorization_code(&seeded, REDIRECT);
        let (s, b) = exchange(&fake, &code, Some(VERIFIER)).await;
        assert_eq!(s, 200, "{b}");
        for how in [GrantEnd::Expired, GrantEnd::Revoked] {
            let seeded = fake.seed(TargetKind::GbpLocation, None);
            fake.end_refresh_grant(&seeded, how);
            let (s, b) = refresh(&fake, &tokens(&seeded).1).await;
            assert_eq!(
                (s, b["error"].as_str()),
                (400, Some("invalid_grant")),
                "{how:?}"
            );
        }
    }

    #[tokio::test]
    async fn throttling_answers_429_and_webhooks_are_pubsub_bodies() {
        let fake = GbpFake::start().await;
        let seeded = fake.seed(TargetKind::GbpLocation, None);
        let (at, _) = tokens(&seeded);
        assert_eq!(
            fake.throttle_account(&seeded, true),
            Some(std::time::Duration::from_secs(60))
        );
        let path = format!("/v4/{}/localPosts", seeded.target.id);
        assert_eq!(
            call(&fake, "POST", &path, &at, Some(standard("x"))).await.0,
            429
        );
        fake.throttle_account(&seeded, false);
        assert_eq!(
            call(&fake, "POST", &path, &at, Some(standard("x"))).await.0,
            200
        );
        let bodies = fake.webhook_deliveries();
        assert_eq!(bodies.len(), 5);
        for body in &bodies {
            let v: Value = serde_json::from_slice(body).unwrap();
            assert!(
                v["message"]["data"].is_string() && v["subscription"].is_string(),
                "{v}"
            );
        }
        let first: Value = serde_json::from_slice(&bodies[0]).unwrap();
        let data = crate::util::base64_decode(first["message"]["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&data).unwrap()["type"],
            "NEW_REVIEW"
        );
        let signed = fake.signed_delivery(&bodies[0]);
        assert_eq!(signed.body, bodies[0]);
        assert!(signed.headers.get("content-type").is_none());
        assert_eq!(signed.headers.len(), 1);
        let jwks: JwkSet = serde_json::from_value(fake.jwks()).unwrap();
        assert!(verify(&fake, &jwks, &bearer(&signed)).is_ok());
        assert_eq!(
            PlatformFake::client_secret(&fake),
            fake.config().client_secret
        );
        assert!(fake.challenge_token().is_empty());
        assert!(!fake.accepts_challenge_answer("", &postd_core::ChallengeResponse::text("")));
    }
}
