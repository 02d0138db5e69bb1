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
