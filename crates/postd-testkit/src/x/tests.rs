//! Tests of the X fake, driven with plain reqwest as a connector would drive X.

use postd_core::reqwest::{Client, multipart};
use serde_json::{Value, json};

use super::*;
use crate::{Fault, Timing};

const WRITE: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "offline.access",
    "media.write",
];
const REDIRECT: &str = "https://app.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn call(
    fake: &XFake,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, postd_core::reqwest::header::HeaderMap) {
    let client = Client::new();
    let url = format!("{}{path}", fake.uri());
    let mut req = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    }
    .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

async fn token_call(fake: &XFake, path: &str, pairs: &[(&str, &str)], basic: bool) -> (u16, Value) {
    let mut req = Client::new()
        .post(format!("{}{path}", fake.uri()))
        .form(pairs);
    if basic {
        req = req.basic_auth(&fake.config().client_id, Some(&fake.config().client_secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn exchange(fake: &XFake, code: &str) -> (u16, Value) {
    token_call(
        fake,
        "/2/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
        true,
    )
    .await
}

async fn refresh(fake: &XFake, rt: &str) -> (u16, Value) {
    token_call(
        fake,
        "/2/oauth2/token",
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        true,
    )
    .await
}

async fn post(fake: &XFake, token: &str, body: Value) -> (u16, Value) {
    let (s, b, _) = call(fake, "POST", "/2/tweets", token, Some(body)).await;
    (s, b)
}

fn assert_problem(body: &Value, status: u16) {
    assert_eq!(body["status"], status, "{body}");
    for k in ["type", "title", "detail"] {
        assert!(body[k].is_string(), "{k} in {body}");
    }
}

#[tokio::test]
async fn code_exchange_with_pkce_and_basic_auth_issues_tokens() {
    let fake = XFake::start().await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let (s, b) = exchange(&fake, &code).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "bearer");
    assert_eq!(b["expires_in"], 7200);
    assert_eq!(b["scope"], WRITE.join(" "));
    assert!(fake.token_is_live(b["access_token"].as_str().unwrap()));
    assert!(b["refresh_token"].is_string());
    // Single use.
    let (s, b) = exchange(&fake, &code).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    // Without offline.access no refresh token.
    let code = fake.issue_code(
        "42",
        REDIRECT,
        &["tweet.read", "users.read"],
        &s256(VERIFIER),
    );
    let (_, b) = exchange(&fake, &code).await;
    assert!(b.get("refresh_token").is_none(), "{b}");
}

#[tokio::test]
async fn codes_expire_after_30_seconds_and_check_verifier_redirect_and_client() {
    let fake = XFake::start().await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    fake.advance_time(31);
    assert_eq!(exchange(&fake, &code).await.0, 400);

    let code = fake.issue_code(
        "42",
        REDIRECT,
        WRITE,
        &s256("another-verifier-another-verifier-0123456789"),
    );
    let (s, b) = exchange(&fake, &code).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );

    let code = fake.issue_code("42", "https://other.example/cb", WRITE, &s256(VERIFIER));
    assert_eq!(exchange(&fake, &code).await.0, 400);

    // A confidential client without Basic auth.
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let (s, b) = token_call(
        &fake,
        "/2/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "x-fake-client-id"),
        ],
        false,
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (401, Some("invalid_client")),
        "{b}"
    );
    // The code was not consumed by the failed attempt.
    assert_eq!(exchange(&fake, &code).await.0, 200);
}

#[tokio::test]
async fn public_clients_send_client_id_in_the_body() {
    let fake = XFake::start_with(XFakeConfig {
        confidential: false,
        ..Default::default()
    })
    .await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let (s, b) = token_call(
        &fake,
        "/2/oauth2/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "x-fake-client-id"),
        ],
        false,
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let fake = XFake::start().await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let (_, first) = exchange(&fake, &code).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (s, second) = refresh(&fake, &rt1).await;
    assert_eq!(s, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    let at2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert!(!fake.token_is_live(&rt1));
    // Replaying the used token: invalid_request, and everything of the family dies.
    let (s, b) = refresh(&fake, &rt1).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{b}"
    );
    assert!(!fake.token_is_live(&rt2));
    assert!(!fake.token_is_live(&at2));
    assert_eq!(refresh(&fake, &rt2).await.0, 400);
}

#[tokio::test]
async fn replay_handling_is_configurable() {
    let fake = XFake::start_with(XFakeConfig {
        revoke_family_on_reuse: false,
        bad_refresh_error: "invalid_grant".into(),
        ..Default::default()
    })
    .await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let rt1 = exchange(&fake, &code).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt2 = refresh(&fake, &rt1).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = refresh(&fake, &rt1).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert!(fake.token_is_live(&rt2));
}

#[tokio::test]
async fn a_lost_refresh_answer_leaves_the_old_token_used() {
    let fake = XFake::start().await;
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    let rt1 = exchange(&fake, &code).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.server().faults().inject(
        "POST",
        "/2/oauth2/token",
        Fault::status(503),
        1,
        Timing::AfterCommit,
    );
    assert_eq!(refresh(&fake, &rt1).await.0, 503);
    // X rotated; the client never saw the new token, and its retry kills the family.
    assert_eq!(refresh(&fake, &rt1).await.0, 400);
    // A before-commit fault changes nothing.
    let code = fake.issue_code("43", REDIRECT, WRITE, &s256(VERIFIER));
    let rt = exchange(&fake, &code).await.1["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.server().faults().inject(
        "POST",
        "/2/oauth2/token",
        Fault::status(503),
        1,
        Timing::BeforeCommit,
    );
    assert_eq!(refresh(&fake, &rt).await.0, 503);
    assert_eq!(refresh(&fake, &rt).await.0, 200);
}

#[tokio::test]
async fn revoke_stops_a_token_and_access_tokens_expire_in_two_hours() {
    let fake = XFake::start().await;
    let a = fake.seed_user("42", WRITE);
    let (s, b) = token_call(
        &fake,
        "/2/oauth2/revoke",
        &[("token", &a), ("token_type_hint", "access_token")],
        true,
    )
    .await;
    assert_eq!((s, b), (200, json!({"revoked": true})));
    let (s, b, _) = call(&fake, "GET", "/2/users/me", &a, None).await;
    assert_eq!(s, 401);
    assert_problem(&b, 401);

    let a = fake.seed_user("42", WRITE);
    // The fake's clock is the real one plus what the test advanced: leave a
    // margin so a second ticking over during the test cannot expire the token early.
    fake.advance_time(7_170);
    assert_eq!(call(&fake, "GET", "/2/users/me", &a, None).await.0, 200);
    fake.advance_time(30);
    assert_eq!(call(&fake, "GET", "/2/users/me", &a, None).await.0, 401);
}

#[tokio::test]
async fn users_me_answers_the_profile_and_checks_scopes() {
    let fake = XFake::start().await;
    let t = fake.seed_user("2244994945", &["tweet.read", "users.read"]);
    fake.set_profile("2244994945", "X Dev", "XDevelopers");
    let (s, b, h) = call(&fake, "GET", "/2/users/me", &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"data": {"id": "2244994945", "name": "X Dev", "username": "XDevelopers"}})
    );
    assert_eq!(h["x-rate-limit-limit"], "75");
    assert_eq!(h["x-rate-limit-remaining"], "74");
    let t = fake.seed_user("1", &["tweet.read"]);
    let (s, b, _) = call(&fake, "GET", "/2/users/me", &t, None).await;
    assert_eq!(s, 403);
    assert_problem(&b, 403);
    // Writing needs tweet.write.
    assert_eq!(post(&fake, &t, json!({"text": "hi"})).await.0, 403);
}

#[tokio::test]
async fn posts_are_created_with_options_and_validated() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let (s, b) = post(
        &fake,
        &t,
        json!({"text": "Hello world", "made_with_ai": true, "paid_partnership": false}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(b["data"]["text"], "Hello world");
    assert_eq!(b["data"]["edit_history_tweet_ids"], json!([id]));
    assert_eq!(fake.posts()[0].request["made_with_ai"], true);

    let (s, b) = post(
        &fake,
        &t,
        json!({"text": "re", "reply": {"in_reply_to_tweet_id": id},
                                        "reply_settings": "following"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        post(&fake, &t, json!({"text": "q", "quote_tweet_id": id}))
            .await
            .0,
        201
    );
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": "p", "poll": {"options": ["yes", "no"], "duration_minutes": 120}})
        )
        .await
        .0,
        201
    );

    for bad in [
        json!({"text": "x", "poll": {"options": ["only"], "duration_minutes": 120}}),
        json!({"text": "x", "poll": {"options": ["a", "b"], "duration_minutes": 4}}),
        json!({"text": "x", "poll": {"options": ["a", "b"], "duration_minutes": 60}, "quote_tweet_id": id}),
        json!({"text": "x", "reply_settings": "everyone"}),
        json!({"text": "x", "quote_tweet_id": "1"}),
        json!({"text": "x", "media": {"media_ids": ["123"]}}),
        json!({"text": ""}),
    ] {
        let (s, b) = post(&fake, &t, bad.clone()).await;
        assert_eq!(s, 400, "{bad} -> {b}");
        assert_eq!(b["type"], "https://api.x.com/2/problems/invalid-request");
        assert!(b["errors"].is_array());
    }
    let (s, b) = post(
        &fake,
        &t,
        json!({"text": "x", "reply": {"in_reply_to_tweet_id": "1"}}),
    )
    .await;
    assert_eq!(s, 403, "{b}");
}

#[tokio::test]
async fn text_length_is_weighted_and_duplicates_are_refused() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    assert_eq!(
        post(&fake, &t, json!({"text": "字".repeat(140)})).await.0,
        201
    );
    let (s, b) = post(&fake, &t, json!({"text": "字".repeat(141)})).await;
    assert_eq!(s, 403);
    assert_problem(&b, 403);
    let url = format!("https://example.com/{}", "a".repeat(300));
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": format!("{} {url}", "b".repeat(256))})
        )
        .await
        .0,
        201
    );

    assert_eq!(post(&fake, &t, json!({"text": "same"})).await.0, 201);
    let (s, b) = post(&fake, &t, json!({"text": "same"})).await;
    assert_eq!(s, 403);
    assert_eq!(b["detail"], DUPLICATE_DETAIL);
    // Another user may say the same; after the window the user may too.
    let other = fake.seed_user("43", WRITE);
    assert_eq!(post(&fake, &other, json!({"text": "same"})).await.0, 201);
    fake.advance_time(86_400);
    let t = fake.seed_user("42", WRITE);
    assert_eq!(post(&fake, &t, json!({"text": "same"})).await.0, 201);
}

#[tokio::test]
async fn a_post_whose_answer_is_lost_exists_and_its_retry_is_a_duplicate() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    fake.server()
        .faults()
        .inject("POST", "/2/tweets", Fault::Reset, 1, Timing::AfterCommit);
    let client = Client::new();
    let r = client
        .post(format!("{}/2/tweets", fake.uri()))
        .bearer_auth(&t)
        .json(&json!({"text": "once"}))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(fake.posts().len(), 1);
    let (s, b) = post(&fake, &t, json!({"text": "once"})).await;
    assert_eq!((s, b["detail"].as_str()), (403, Some(DUPLICATE_DETAIL)));
}

#[tokio::test]
async fn delete_and_timeline_page_newest_first() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            post(&fake, &t, json!({"text": format!("p{i}")})).await.1["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        fake.advance_time(10);
    }
    let (s, b, _) = call(&fake, "DELETE", &format!("/2/tweets/{}", ids[6]), &t, None).await;
    assert_eq!((s, b), (200, json!({"data": {"deleted": true}})));
    assert_eq!(
        call(&fake, "DELETE", &format!("/2/tweets/{}", ids[6]), &t, None)
            .await
            .0,
        404
    );
    let other = fake.seed_user("43", WRITE);
    assert_eq!(
        call(
            &fake,
            "DELETE",
            &format!("/2/tweets/{}", ids[0]),
            &other,
            None
        )
        .await
        .0,
        403
    );

    let (s, b, _) = call(
        &fake,
        "GET",
        "/2/users/42/tweets?max_results=5&tweet.fields=created_at",
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let got: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [&ids[5], &ids[4], &ids[3], &ids[2], &ids[1]].map(String::as_str)
    );
    assert!(b["data"][0]["created_at"].is_string());
    assert_eq!(b["meta"]["result_count"], 5);
    let next = b["meta"]["next_token"].as_str().unwrap();
    let (_, b, _) = call(
        &fake,
        "GET",
        &format!("/2/users/42/tweets?max_results=5&pagination_token={next}"),
        &t,
        None,
    )
    .await;
    assert_eq!(b["data"][0]["id"], ids[0].as_str());
    assert!(b["meta"].get("next_token").is_none());

    let start = posts::rfc3339(fake.now() - 25);
    let (_, b, _) = call(
        &fake,
        "GET",
        &format!("/2/users/42/tweets?start_time={start}"),
        &t,
        None,
    )
    .await;
    assert_eq!(b["meta"]["result_count"], 1, "{b}");
    assert_eq!(
        call(&fake, "GET", "/2/users/42/tweets?max_results=101", &t, None)
            .await
            .0,
        400
    );
}

async fn upload(fake: &XFake, t: &str, category: &str, chunks: &[&[u8]]) -> String {
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    let (s, b, _) = call(
        fake,
        "POST",
        "/2/media/upload/initialize",
        t,
        Some(json!({"media_type": "video/mp4", "total_bytes": total, "media_category": category})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let id = b["data"]["id"].as_str().unwrap().to_owned();
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(append(fake, t, &id, i, c).await, 200);
    }
    id
}

async fn append(fake: &XFake, t: &str, id: &str, index: usize, bytes: &[u8]) -> u16 {
    let form = multipart::Form::new()
        .text("segment_index", index.to_string())
        .part(
            "media",
            multipart::Part::bytes(bytes.to_vec()).file_name("blob"),
        );
    Client::new()
        .post(format!("{}/2/media/upload/{id}/append", fake.uri()))
        .bearer_auth(t)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn video_uploads_append_in_order_and_process_through_status_polls() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let id = upload(&fake, &t, "tweet_video", &[b"abcd", b"efgh"]).await;
    // Out of order and out of range.
    assert_eq!(append(&fake, &t, &id, 5, b"x").await, 400);
    assert_eq!(append(&fake, &t, &id, 2, b"overflow").await, 400);
    // The last segment again replaces itself.
    assert_eq!(append(&fake, &t, &id, 1, b"efgh").await, 200);
    let m = &fake.media()[0];
    assert_eq!((m.received_bytes, m.segments), (8, 2));
    assert_eq!(m.checksum, upload_checksum(b"abcdefgh"));

    // Not yet usable.
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": "v", "media": {"media_ids": [id]}})
        )
        .await
        .0,
        400
    );
    let (s, b, _) = call(
        &fake,
        "POST",
        &format!("/2/media/upload/{id}/finalize"),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["processing_info"]["state"], "pending");
    assert_eq!(b["data"]["media_key"], format!("7_{id}"));
    let status = format!("/2/media/upload?command=STATUS&media_id={id}");
    let (_, b, h) = call(&fake, "GET", &status, &t, None).await;
    assert_eq!(b["data"]["processing_info"]["state"], "in_progress");
    assert_eq!(h["x-rate-limit-limit"], "1000");
    let (_, b, _) = call(&fake, "GET", &status, &t, None).await;
    assert_eq!(b["data"]["processing_info"]["state"], "succeeded");
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": "v", "media": {"media_ids": [id]}})
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn images_need_no_processing_and_failures_surface_in_status() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let img = upload(&fake, &t, "tweet_image", &[b"png"]).await;
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/2/media/upload/{img}/finalize"),
            &t,
            None
        )
        .await
        .0,
        200
    );
    assert!(fake.media()[0].state.is_none());
    fake.fail_next_media("Unsupported video format");
    let vid = upload(&fake, &t, "tweet_video", &[b"mov"]).await;
    call(
        &fake,
        "POST",
        &format!("/2/media/upload/{vid}/finalize"),
        &t,
        None,
    )
    .await;
    let status = format!("/2/media/upload?command=STATUS&media_id={vid}");
    call(&fake, "GET", &status, &t, None).await;
    let (_, b, _) = call(&fake, "GET", &status, &t, None).await;
    assert_eq!(b["data"]["processing_info"]["state"], "failed");
    assert_eq!(
        b["data"]["processing_info"]["error"]["message"],
        "Unsupported video format"
    );
    // An image and a video cannot go together; the failed video not at all.
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": "m", "media": {"media_ids": [img, vid]}})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        post(
            &fake,
            &t,
            json!({"text": "", "media": {"media_ids": [img]}})
        )
        .await
        .0,
        201
    );
    // Finalize with missing bytes, an unknown category, a missing scope.
    let (_, b, _) = call(
        &fake,
        "POST",
        "/2/media/upload/initialize",
        &t,
        Some(
            json!({"media_type": "image/png", "total_bytes": 10, "media_category": "tweet_image"}),
        ),
    )
    .await;
    let short = b["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/2/media/upload/{short}/finalize"),
            &t,
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            "/2/media/upload/initialize",
            &t,
            Some(json!({"media_type": "image/png", "total_bytes": 10, "media_category": "banner"}))
        )
        .await
        .0,
        400
    );
    let no_media = fake.seed_user("42", &["tweet.read", "tweet.write", "users.read"]);
    assert_eq!(
        call(
            &fake,
            "POST",
            "/2/media/upload/initialize",
            &no_media,
            Some(json!({"media_type": "image/png", "total_bytes": 10}))
        )
        .await
        .0,
        403
    );
}

#[tokio::test]
async fn rate_limits_count_per_user_and_endpoint_and_reset() {
    let fake = XFake::start().await;
    fake.set_rate_limit("POST /2/tweets", 2);
    let t = fake.seed_user("42", WRITE);
    let other = fake.seed_user("43", WRITE);
    assert_eq!(post(&fake, &t, json!({"text": "1"})).await.0, 201);
    let (s, _, h) = call(&fake, "POST", "/2/tweets", &t, Some(json!({"text": "2"}))).await;
    assert_eq!(
        (s, &h["x-rate-limit-remaining"]),
        (201, &"0".parse().unwrap())
    );
    let (s, b, h) = call(&fake, "POST", "/2/tweets", &t, Some(json!({"text": "3"}))).await;
    assert_eq!(s, 429);
    assert_problem(&b, 429);
    assert_eq!(h["x-rate-limit-remaining"], "0");
    let reset: i64 = h["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > fake.now() && reset <= fake.now() + 900);
    assert!(h.get("retry-after").is_none());
    // Other users and endpoints are unaffected; the window resets.
    assert_eq!(post(&fake, &other, json!({"text": "3"})).await.0, 201);
    assert_eq!(call(&fake, "GET", "/2/users/me", &t, None).await.0, 200);
    fake.advance_time(900);
    let t = fake.seed_user("42", WRITE);
    assert_eq!(post(&fake, &t, json!({"text": "3"})).await.0, 201);
    // Even a 401 carries the headers.
    let (_, _, h) = call(&fake, "GET", "/2/users/me", "nope", None).await;
    assert!(h.get("x-rate-limit-limit").is_some());
}

#[tokio::test]
async fn credits_and_usage_cap_switches_answer_their_problems() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    fake.set_usage_capped(true);
    let (s, b, _) = call(&fake, "GET", "/2/users/42/tweets", &t, None).await;
    assert_eq!(s, 429);
    assert_eq!(b["type"], "https://api.x.com/2/problems/usage-capped");
    assert_eq!(
        post(&fake, &t, json!({"text": "writes still work"}))
            .await
            .0,
        201
    );
    fake.set_usage_capped(false);
    fake.set_credits_depleted(true);
    let (s, b) = post(&fake, &t, json!({"text": "no credits"})).await;
    assert_eq!(s, 402);
    assert_eq!(b["title"], "CreditsDepleted");
    assert_eq!(fake.posts().len(), 1);
}

#[tokio::test]
async fn webhook_crc_signature_and_deliveries() {
    let fake = XFake::start().await;
    let crc = fake.crc_response("challenge");
    assert_eq!(
        crc["response_token"],
        crc_response_token("x-fake-consumer-secret", "challenge")
    );
    assert!(
        crc["response_token"]
            .as_str()
            .unwrap()
            .starts_with("sha256=")
    );
    assert!(fake.crc_accepts("challenge", crc.to_string().as_bytes()));
    assert!(!fake.crc_accepts("other", crc.to_string().as_bytes()));

    fake.subscribe("post.create", Some("42"), Some("posts"));
    fake.subscribe("oauth.revoke", None, None);
    let t = fake.seed_user("42", WRITE);
    let id = post(&fake, &t, json!({"text": "Hello from the Activity API"}))
        .await
        .1["data"]["id"]
        .clone();
    let other = fake.seed_user("43", WRITE);
    post(&fake, &other, json!({"text": "not subscribed"})).await;
    fake.set_protected("42", true);
    post(&fake, &t, json!({"text": "protected"})).await;
    fake.remove_authorization("42");
    assert!(!fake.token_is_live(&t));

    let d = fake.deliveries();
    assert_eq!(
        d.iter().map(|d| d.event_type.as_str()).collect::<Vec<_>>(),
        ["post.create", "oauth.revoke"]
    );
    let body: Value = serde_json::from_slice(&d[0].body).unwrap();
    assert_eq!(body["data"]["filter"], json!({"user_id": "42"}));
    assert_eq!(body["data"]["tag"], "posts");
    assert_eq!(body["data"]["payload"]["id"], id);
    assert_eq!(body["data"]["payload"]["author_id"], "42");
    assert_eq!(body["data"]["event_uuid"], d[0].event_uuid.as_str());
    assert_eq!(d[0].signature, fake.sign_delivery(&d[0].body));
    let revoke: Value = serde_json::from_slice(&d[1].body).unwrap();
    assert_eq!(revoke["data"]["filter"], json!({}));
    assert_eq!(revoke["data"]["payload"]["user_id"], "42");
    assert_eq!(revoke["data"]["payload"]["app_id"], "29820954");
    let req = fake.signed_delivery(&d[0].body);
    assert_eq!(
        req.headers["x-twitter-webhooks-signature"],
        d[0].signature.as_str()
    );
}

#[tokio::test]
async fn unknown_routes_fail_loudly_and_requests_are_logged() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let (s, _, _) = call(&fake, "GET", "/2/tweets/search/recent?query=a", &t, None).await;
    assert_eq!(s, 421);
    assert_eq!(fake.server().unmatched(), ["GET /2/tweets/search/recent"]);
    assert_eq!(fake.requests(), ["GET /2/tweets/search/recent?query=a"]);
    // The unmatched request would fail the test when the server drops: that is the point.
    std::mem::forget(fake);
}

const ALL_FIELDS: &str =
    "id,text,created_at,author_id,attachments,public_metrics,non_public_metrics,organic_metrics";

fn sample_metrics() -> XPostMetrics {
    XPostMetrics {
        retweet_count: 1,
        reply_count: 2,
        like_count: 3,
        quote_count: 4,
        bookmark_count: 5,
        impression_count: 600,
        url_link_clicks: 7,
        user_profile_clicks: 8,
    }
}

fn rate_limit_of(h: &postd_core::reqwest::header::HeaderMap) -> &str {
    h["x-rate-limit-limit"].to_str().unwrap()
}

#[tokio::test]
async fn a_single_lookup_answers_the_fields_and_the_authors_private_metrics() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let img = upload(&fake, &t, "tweet_image", &[b"png"]).await;
    call(
        &fake,
        "POST",
        &format!("/2/media/upload/{img}/finalize"),
        &t,
        None,
    )
    .await;
    let (s, created) = post(
        &fake,
        &t,
        json!({"text": "with a picture", "media": {"media_ids": [img]}}),
    )
    .await;
    assert_eq!(s, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    fake.set_metrics(&id, sample_metrics());
    assert_eq!(fake.posts()[0].metrics, sample_metrics());

    let path = format!("/2/tweets/{id}?tweet.fields={ALL_FIELDS}");
    let (s, b, h) = call(&fake, "GET", &path, &t, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(rate_limit_of(&h), "900");
    let d = &b["data"];
    assert_eq!(d["id"], id.as_str());
    assert_eq!(d["text"], "with a picture");
    assert_eq!(d["edit_history_tweet_ids"], json!([id]));
    assert_eq!(d["author_id"], "42");
    assert!(d["created_at"].as_str().unwrap().ends_with(".000Z"));
    assert_eq!(
        d["attachments"]["media_keys"],
        json!([fake.media()[0].media_key])
    );
    assert_eq!(
        d["public_metrics"],
        json!({"retweet_count": 1, "reply_count": 2, "like_count": 3, "quote_count": 4,
               "bookmark_count": 5, "impression_count": 600})
    );
    assert_eq!(
        d["non_public_metrics"],
        json!({"impression_count": 600, "url_link_clicks": 7, "user_profile_clicks": 8})
    );
    assert_eq!(
        d["organic_metrics"],
        json!({"impression_count": 600, "like_count": 3, "reply_count": 2, "retweet_count": 1,
               "url_link_clicks": 7, "user_profile_clicks": 8})
    );
    assert!(b.get("errors").is_none(), "{b}");
    // Without tweet.fields: the default fields only.
    let (_, b, _) = call(&fake, "GET", &format!("/2/tweets/{id}"), &t, None).await;
    let mut keys: Vec<&String> = b["data"].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["edit_history_tweet_ids", "id", "text"]);

    // Older than 30 days, the private metrics are refused, the public ones still answered.
    fake.advance_time(30 * 86_400 + 60);
    let t = fake.seed_user("42", WRITE);
    let (s, b, _) = call(&fake, "GET", &path, &t, None).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("data").is_none(), "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 3 + 6);
    let (_, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets/{id}?tweet.fields=public_metrics"),
        &t,
        None,
    )
    .await;
    assert_eq!(b["data"]["public_metrics"]["impression_count"], 600);
}

#[tokio::test]
async fn private_metrics_of_another_users_post_are_field_authorization_errors() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let theirs = fake.seed_post("43", "someone else's");
    fake.set_metrics(&theirs, sample_metrics());
    let (s, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets/{theirs}?tweet.fields=non_public_metrics"),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("data").is_none(), "{b}");
    let errors = b["errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "non_public_metrics.impression_count",
            "non_public_metrics.url_link_clicks",
            "non_public_metrics.user_profile_clicks"
        ]
    );
    assert_eq!(
        errors[0],
        json!({
            "resource_type": "tweet",
            "field": "non_public_metrics.impression_count",
            "parameter": "id",
            "resource_id": theirs,
            "title": "Field Authorization Error",
            "section": "data",
            "detail": format!("Sorry, you are not authorized to access 'non_public_metrics.impression_count' on the Tweet with id : [{theirs}]."),
            "value": theirs,
            "type": "https://api.x.com/2/problems/not-authorized-for-field",
        })
    );
    // Public metrics of anyone's Post are fine.
    let (_, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets/{theirs}?tweet.fields=public_metrics,author_id"),
        &t,
        None,
    )
    .await;
    assert_eq!(b["data"]["public_metrics"]["like_count"], 3);
    assert_eq!(b["data"]["author_id"], "43");
    // A protected author's Post is not visible to another user at all.
    fake.set_protected("43", true);
    let (s, b, _) = call(&fake, "GET", &format!("/2/tweets/{theirs}"), &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        b["errors"][0]["type"],
        "https://api.x.com/2/problems/not-authorized-for-resource"
    );
    assert_eq!(b["errors"][0]["title"], "Authorization Error");
    assert!(b.get("data").is_none());
}

#[tokio::test]
async fn a_multi_lookup_answers_found_posts_and_errors_for_the_rest() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let mine = post(&fake, &t, json!({"text": "mine"})).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = post(&fake, &t, json!({"text": "gone"})).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(&fake, "DELETE", &format!("/2/tweets/{gone}"), &t, None)
            .await
            .0,
        200
    );
    let theirs = fake.seed_post("43", "theirs");
    let ids = format!("{mine},{theirs},1,{gone}");
    let (s, b, h) = call(
        &fake,
        "GET",
        &format!("/2/tweets?ids={ids}&tweet.fields=author_id"),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(rate_limit_of(&h), "5000");
    let found: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, [mine.as_str(), theirs.as_str()]);
    assert_eq!(
        b["errors"],
        json!([
            {"value": "1", "detail": "Could not find tweet with ids: [1].", "title": "Not Found Error",
             "resource_type": "tweet", "parameter": "ids", "resource_id": "1",
             "type": "https://api.x.com/2/problems/resource-not-found"},
            {"value": gone, "detail": format!("Could not find tweet with ids: [{gone}]."),
             "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
             "resource_id": gone, "type": "https://api.x.com/2/problems/resource-not-found"},
        ])
    );
    // Private metrics: another user's Post leaves data for errors, one per sub-field.
    let (_, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets?ids={mine},{theirs}&tweet.fields=non_public_metrics,organic_metrics"),
        &t,
        None,
    )
    .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], mine.as_str());
    assert!(b["data"][0]["non_public_metrics"].is_object());
    let errors = b["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3 + 6);
    assert!(
        errors
            .iter()
            .all(|e| e["resource_id"] == theirs.as_str() && e["parameter"] == "ids")
    );
    // Nothing found: errors and no data.
    let (s, b, _) = call(&fake, "GET", "/2/tweets?ids=1,2", &t, None).await;
    assert_eq!(s, 200);
    assert!(b.get("data").is_none());
    assert_eq!(b["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn lookups_validate_ids_and_fields() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let hundred: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    let (s, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets?ids={}", hundred.join(",")),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 100);
    let (s, b, _) = call(
        &fake,
        "GET",
        &format!("/2/tweets?ids={},101", hundred.join(",")),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert_problem(&b, 400);
    assert_eq!(b["type"], "https://api.x.com/2/problems/invalid-request");
    for path in [
        "/2/tweets",
        "/2/tweets?ids=",
        "/2/tweets?ids=1,abc",
        "/2/tweets?ids=12345678901234567890",
        "/2/tweets/abc",
        "/2/tweets/1?tweet.fields=public_metrics,nope",
    ] {
        let (s, b, _) = call(&fake, "GET", path, &t, None).await;
        assert_eq!(s, 400, "{path}: {b}");
        assert!(b["errors"][0]["message"].is_string(), "{path}: {b}");
    }
}

#[tokio::test]
async fn a_missing_single_post_answers_200_errors_or_the_configured_status() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let (s, b, _) = call(&fake, "GET", "/2/tweets/1", &t, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"errors": [{"value": "1", "detail": "Could not find tweet with id: [1].",
            "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
            "resource_id": "1", "type": "https://api.x.com/2/problems/resource-not-found"}]})
    );
    let fake = XFake::start_with(XFakeConfig {
        single_lookup_not_found_status: Some(404),
        ..Default::default()
    })
    .await;
    let t = fake.seed_user("42", WRITE);
    let (s, b, _) = call(&fake, "GET", "/2/tweets/1", &t, None).await;
    assert_eq!(s, 404);
    assert_eq!(b["errors"][0]["title"], "Not Found Error");
    // The multi-id form keeps its partial-error 200.
    assert_eq!(call(&fake, "GET", "/2/tweets?ids=1", &t, None).await.0, 200);
}

#[tokio::test]
async fn lookups_check_scopes_rate_limits_credits_and_the_usage_cap() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let id = fake.seed_post("42", "hello");
    let one = format!("/2/tweets/{id}");
    let many = format!("/2/tweets?ids={id}");
    let narrow = fake.seed_user("44", &["tweet.read"]);
    let (s, b, _) = call(&fake, "GET", &one, &narrow, None).await;
    assert_eq!(s, 403);
    assert!(b["detail"].as_str().unwrap().contains("users.read"), "{b}");
    assert_eq!(call(&fake, "GET", &one, "nope", None).await.0, 401);

    fake.set_rate_limit("GET /2/tweets/:id", 1);
    let (s, _, h) = call(&fake, "GET", &one, &t, None).await;
    assert_eq!(
        (s, h["x-rate-limit-remaining"].to_str().unwrap()),
        (200, "0")
    );
    let (s, b, _) = call(&fake, "GET", &one, &t, None).await;
    assert_eq!(s, 429);
    assert_problem(&b, 429);
    // The other lookup has its own window.
    assert_eq!(call(&fake, "GET", &many, &t, None).await.0, 200);

    fake.set_usage_capped(true);
    for path in [many.as_str(), "/2/users/42/tweets"] {
        let (s, b, _) = call(&fake, "GET", path, &t, None).await;
        assert_eq!(s, 429, "{path}");
        assert_eq!(b["type"], "https://api.x.com/2/problems/usage-capped");
    }
    fake.set_usage_capped(false);
    fake.set_credits_depleted(true);
    let (s, b, _) = call(&fake, "GET", &many, &t, None).await;
    assert_eq!(s, 402);
    assert_eq!(b["title"], "CreditsDepleted");
}

#[tokio::test]
async fn the_timeline_answers_private_metrics_for_the_authors_recent_posts_only() {
    let fake = XFake::start().await;
    let old = fake.seed_post("42", "old");
    fake.advance_time(31 * 86_400);
    let t = fake.seed_user("42", WRITE);
    let recent = fake.seed_post("42", "recent");
    fake.set_metrics(&recent, sample_metrics());
    let (_, b, _) = call(
        &fake,
        "GET",
        "/2/users/42/tweets?tweet.fields=public_metrics",
        &t,
        None,
    )
    .await;
    assert_eq!(b["meta"]["result_count"], 2);
    let (_, b, _) = call(
        &fake,
        "GET",
        "/2/users/42/tweets?tweet.fields=non_public_metrics",
        &t,
        None,
    )
    .await;
    let ids: Vec<&str> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [recent.as_str()], "{old} is past the 30 days");
    assert_eq!(b["data"][0]["non_public_metrics"]["url_link_clicks"], 7);
    let theirs = fake.seed_post("43", "theirs");
    let (s, b, _) = call(
        &fake,
        "GET",
        "/2/users/43/tweets?tweet.fields=organic_metrics",
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(b.get("data").is_none(), "{b}");
    assert_eq!(b["errors"].as_array().unwrap().len(), 6);
    assert_eq!(b["errors"][0]["resource_id"], theirs.as_str());
}

#[tokio::test]
async fn users_me_answers_public_metrics() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    post(&fake, &t, json!({"text": "one"})).await;
    fake.seed_post("42", "two");
    let (s, b, h) = call(
        &fake,
        "GET",
        "/2/users/me?user.fields=public_metrics",
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(rate_limit_of(&h), "75");
    assert_eq!(
        b["data"]["public_metrics"],
        json!({"followers_count": 0, "following_count": 0, "tweet_count": 2,
               "listed_count": 0, "like_count": 0, "media_count": 0})
    );
    let seeded = XUserMetrics {
        followers_count: 10,
        following_count: 20,
        tweet_count: 30,
        listed_count: 4,
        like_count: 50,
        media_count: 6,
    };
    fake.set_user_metrics("42", seeded);
    let (_, b, _) = call(
        &fake,
        "GET",
        "/2/users/me?user.fields=public_metrics",
        &t,
        None,
    )
    .await;
    assert_eq!(
        b["data"]["public_metrics"],
        json!({"followers_count": 10, "following_count": 20, "tweet_count": 30,
               "listed_count": 4, "like_count": 50, "media_count": 6})
    );
    assert_eq!(b["data"]["id"], "42");
    // Without user.fields, no metrics.
    let (_, b, _) = call(&fake, "GET", "/2/users/me", &t, None).await;
    assert!(b["data"].get("public_metrics").is_none());
}

#[tokio::test]
async fn seeded_refresh_tokens_share_the_family_and_revoke_token_kills_one_token() {
    let fake = XFake::start().await;
    let (at, rt) = fake.seed_user_with_refresh("42", &["tweet.read", "users.read"]);
    assert!(rt.is_none());
    assert!(fake.token_is_live(&at));
    let (at, rt) = fake.seed_user_with_refresh("42", WRITE);
    let rt = rt.unwrap();
    assert_eq!(call(&fake, "GET", "/2/users/me", &at, None).await.0, 200);
    // Revoking the access token leaves the refresh token working.
    fake.revoke_token(&at);
    assert_eq!(call(&fake, "GET", "/2/users/me", &at, None).await.0, 401);
    assert!(fake.token_is_live(&rt));
    let (s, b) = refresh(&fake, &rt).await;
    assert_eq!(s, 200, "{b}");
    let at2 = b["access_token"].as_str().unwrap().to_owned();
    let rt2 = b["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(call(&fake, "GET", "/2/users/me", &at2, None).await.0, 200);
    // Same family: replaying the seeded refresh token kills what its refresh issued.
    assert_eq!(refresh(&fake, &rt).await.0, 400);
    assert!(!fake.token_is_live(&at2) && !fake.token_is_live(&rt2));
    // A revoked refresh token is X's invalid value.
    let (_, rt3) = fake.seed_user_with_refresh("42", WRITE);
    let rt3 = rt3.unwrap();
    fake.revoke_token(&rt3);
    let (s, b) = refresh(&fake, &rt3).await;
    assert_eq!(
        (s, b),
        (
            400,
            json!({"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
        )
    );
}

#[tokio::test]
async fn throttled_users_get_429_with_remaining_0_and_a_reset_a_window_ahead() {
    let fake = XFake::start().await;
    let t = fake.seed_user("42", WRITE);
    let other = fake.seed_user("43", WRITE);
    fake.throttle_user("42", true);
    for (method, path, body) in [
        ("GET", "/2/users/me", None),
        ("POST", "/2/tweets", Some(json!({"text": "throttled"}))),
        ("GET", "/2/tweets?ids=1", None),
        ("GET", "/2/users/42/tweets", None),
    ] {
        let (s, b, h) = call(&fake, method, path, &t, body).await;
        assert_eq!(s, 429, "{method} {path}");
        assert_problem(&b, 429);
        assert_eq!(h["x-rate-limit-remaining"], "0");
        let reset: i64 = h["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
        assert!(
            (fake.now() + 899..=fake.now() + 900).contains(&reset),
            "{reset}"
        );
    }
    assert!(fake.posts().is_empty());
    assert_eq!(call(&fake, "GET", "/2/users/me", &other, None).await.0, 200);
    fake.throttle_user("42", false);
    assert_eq!(post(&fake, &t, json!({"text": "free again"})).await.0, 201);
}

#[tokio::test]
async fn codes_without_pkce_accept_any_verifier_once() {
    let fake = XFake::start().await;
    let code = fake.issue_code_without_pkce("42", REDIRECT, WRITE);
    let pairs = |verifier: &'static str, code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let ex = |p: Vec<(&'static str, String)>| {
        let fake = &fake;
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            token_call(fake, "/2/oauth2/token", &p, true).await
        }
    };
    // A verifier is still required.
    let mut missing = pairs("x", &code);
    missing.pop();
    assert_eq!(ex(missing).await.0, 400);
    let (s, b) = ex(pairs("any-verifier-at-all", &code)).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["refresh_token"].is_string());
    assert_eq!(ex(pairs("any-verifier-at-all", &code)).await.0, 400);
    // A code with a challenge still checks it.
    let code = fake.issue_code("42", REDIRECT, WRITE, &s256(VERIFIER));
    assert_eq!(ex(pairs("wrong", &code)).await.0, 400);
}

mod platform_fake {
    use std::time::Duration;

    use hmac::{Hmac, KeyInit, Mac};
    use postd_core::secrecy::ExposeSecret;
    use postd_core::{ChallengeResponse, Credentials, TargetKind};
    use sha2::Sha256;

    use super::*;
    use crate::conformance::{GrantEnd, PlatformFake, Received};

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
    async fn seeds_canary_families_that_post_and_refresh() {
        let fake = XFake::start().await;
        let seeded = fake.seed(TargetKind::TwitterAccount, Some("POSTDCANARY1"));
        assert_eq!(seeded.target.kind, TargetKind::TwitterAccount);
        assert_eq!(seeded.target.id, seeded.account);
        assert!(seeded.account.bytes().all(|b| b.is_ascii_digit()));
        let Credentials::OAuth(set) = &seeded.credentials else {
            panic!("OAuth credentials")
        };
        assert_eq!(set.subject.as_deref(), Some(seeded.account.as_str()));
        assert!(
            set.scopes.iter().any(|s| s == "offline.access"),
            "{:?}",
            set.scopes
        );
        let (at, rt) = tokens(&seeded);
        assert!(at.starts_with("POSTDCANARY1") && rt.starts_with("POSTDCANARY1"));
        let (s, b) = post(&fake, &at, json!({"text": "canary"})).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(
            fake.post_ids(&seeded.target),
            [b["data"]["id"].as_str().unwrap()]
        );
        // Refreshes of the family stay canaries.
        let (s, b) = refresh(&fake, &rt).await;
        assert_eq!(s, 200, "{b}");
        for k in ["access_token", "refresh_token"] {
            assert!(b[k].as_str().unwrap().starts_with("POSTDCANARY1"), "{b}");
        }
        // Without a canary, no prefix; post_ids are the user's own, live ones, oldest first.
        let plain = fake.seed(TargetKind::TwitterAccount, None);
        let (at, _) = tokens(&plain);
        assert!(!at.starts_with("POSTDCANARY1"));
        let a = post(&fake, &at, json!({"text": "a"})).await.1["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let b_ = post(&fake, &at, json!({"text": "b"})).await.1["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let c = post(&fake, &at, json!({"text": "c"})).await.1["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        call(&fake, "DELETE", &format!("/2/tweets/{b_}"), &at, None).await;
        assert_eq!(fake.post_ids(&plain.target), [a, c]);
    }

    #[tokio::test]
    #[should_panic(expected = "XFake seeds X accounts")]
    async fn seeds_only_x_accounts() {
        let fake = XFake::start().await;
        fake.seed(TargetKind::TikTokAccount, None);
    }

    #[tokio::test]
    async fn codes_exchange_and_dead_grants_answer_invalid_request() {
        let fake = XFake::start().await;
        let seeded = fake.seed(TargetKind::TwitterAccount, None);
        let code = fake.authorization_code(&seeded, REDIRECT);
        let (s, b) = exchange(&fake, &code).await;
        assert_eq!(s, 200, "{b}");
        let at = b["access_token"].as_str().unwrap();
        let (_, me, _) = call(&fake, "GET", "/2/users/me", at, None).await;
        assert_eq!(me["data"]["id"], seeded.account.as_str());
        for how in [GrantEnd::Expired, GrantEnd::Revoked] {
            let seeded = fake.seed(TargetKind::TwitterAccount, None);
            fake.end_refresh_grant(&seeded, how);
            let (_, rt) = tokens(&seeded);
            let (s, b) = refresh(&fake, &rt).await;
            assert_eq!(
                (s, b["error"].as_str()),
                (400, Some("invalid_request")),
                "{how:?}"
            );
            assert_eq!(
                b["error_description"],
                "Value passed for the token was invalid."
            );
        }
    }

    #[tokio::test]
    async fn routes_match_the_create_and_the_reads_only() {
        let fake = XFake::start().await;
        let seeded = fake.seed(TargetKind::TwitterAccount, None);
        let (at, _) = tokens(&seeded);
        let id = post(&fake, &at, json!({"text": "route"})).await.1["data"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        call(&fake, "GET", &format!("/2/tweets/{id}"), &at, None).await;
        call(&fake, "GET", &format!("/2/tweets?ids={id}"), &at, None).await;
        call(
            &fake,
            "GET",
            &format!("/2/users/{}/tweets", seeded.account),
            &at,
            None,
        )
        .await;
        call(&fake, "GET", "/2/users/me", &at, None).await;
        call(&fake, "DELETE", &format!("/2/tweets/{id}"), &at, None).await;
        let received: Vec<Received> = fake.received().await;
        assert_eq!(received.len(), 6);
        let create = fake.create_route(&seeded.target);
        let reads = fake.lookup_route();
        let hits = |route: crate::conformance::Route| -> Vec<bool> {
            received.iter().map(|r| route.matches(r)).collect()
        };
        assert_eq!(hits(create), [true, false, false, false, false, false]);
        assert_eq!(hits(reads), [false, true, true, true, false, false]);
        // A fault injected on the create strikes the create alone.
        fake.faults().inject(
            create.method,
            create.path_contains,
            Fault::status(503),
            1,
            Timing::BeforeCommit,
        );
        assert_eq!(
            call(&fake, "GET", "/2/tweets?ids=1", &at, None).await.0,
            200
        );
        assert_eq!(post(&fake, &at, json!({"text": "faulted"})).await.0, 503);
    }

    #[tokio::test]
    async fn throttling_an_account_answers_a_wait_within_the_bound() {
        let fake = XFake::start().await;
        let seeded = fake.seed(TargetKind::TwitterAccount, None);
        let (at, _) = tokens(&seeded);
        let bound = fake.throttle_account(&seeded, true).unwrap();
        assert_eq!(bound, Duration::from_secs(901));
        let (s, _, h) = call(&fake, "POST", "/2/tweets", &at, Some(json!({"text": "t"}))).await;
        assert_eq!(s, 429);
        let reset: i64 = h["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
        let wait = reset - chrono::Utc::now().timestamp();
        assert!(wait > 0 && wait as u64 <= bound.as_secs(), "{wait}");
        assert!(fake.post_ids(&seeded.target).is_empty());
        assert_eq!(fake.throttle_account(&seeded, false), Some(bound));
        assert_eq!(post(&fake, &at, json!({"text": "t"})).await.0, 201);
    }

    #[tokio::test]
    async fn webhook_deliveries_are_signed_activity_envelopes() {
        let fake = XFake::start().await;
        assert_eq!(fake.client_secret(), fake.config().consumer_secret);
        let bodies = fake.webhook_deliveries();
        let parsed: Vec<Value> = bodies
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        let types: Vec<&str> = parsed
            .iter()
            .map(|v| v["data"]["event_type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "post.create",
                "post.delete",
                "oauth.revoke",
                "x.unknown.event"
            ]
        );
        for v in &parsed {
            let d = &v["data"];
            assert!(
                d["event_uuid"].is_string() && d["filter"].is_object(),
                "{v}"
            );
            assert_eq!(d["tag"], "postd");
            assert!(d["payload"].is_object(), "{v}");
        }
        let created = &parsed[0]["data"]["payload"];
        assert!(created["id"].is_string() && created["text"].is_string());
        assert_eq!(created["edit_history_tweet_ids"], json!([created["id"]]));
        assert_eq!(
            parsed[0]["data"]["filter"],
            json!({"user_id": "2244994945"})
        );
        let revoke = &parsed[2]["data"]["payload"];
        assert_eq!(revoke["app_id"], fake.config().app_id.as_str());
        assert!(revoke["date_time"].is_string() && revoke["user_id"].is_string());

        let req = PlatformFake::signed_delivery(&fake, &bodies[0]);
        assert_eq!(req.method, "POST");
        assert_eq!(req.headers.len(), 1);
        let mut mac = Hmac::<Sha256>::new_from_slice(fake.client_secret().as_bytes()).unwrap();
        mac.update(&bodies[0]);
        let expected = format!(
            "sha256={}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                mac.finalize().into_bytes()
            )
        );
        assert_eq!(
            req.headers["x-twitter-webhooks-signature"],
            expected.as_str()
        );
        assert_eq!(req.body.as_ref(), bodies[0].as_slice());
    }

    #[tokio::test]
    async fn the_crc_challenge_has_the_documented_shape_and_answer() {
        let fake = XFake::start().await;
        let token = fake.challenge_token();
        assert_eq!(token.len(), 48);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token, fake.challenge_token());
        assert!(
            postd_core::webhook::challenge_token(
                postd_core::Platform::Twitter,
                "crc_token",
                Some(&token)
            )
            .is_ok()
        );
        let req = fake.challenge_request(Some(&token));
        assert_eq!(req.method, "GET");
        assert_eq!(req.query_param("crc_token"), Some(token.as_str()));
        assert!(fake.challenge_request(None).query.is_empty());
        let good = ChallengeResponse::json(fake.crc_response(&token).to_string());
        assert!(fake.accepts_challenge_answer(&token, &good));
        let other =
            ChallengeResponse::json(fake.crc_response("another-token-entirely").to_string());
        assert!(!fake.accepts_challenge_answer(&token, &other));
        let bare =
            ChallengeResponse::text(crc_response_token(&fake.config().consumer_secret, &token));
        assert!(!fake.accepts_challenge_answer(&token, &bare));
    }
}
