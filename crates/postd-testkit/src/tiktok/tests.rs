//! Tests of the TikTok fake, driven with plain reqwest as a connector would drive TikTok.

use postd_core::reqwest::Client;
use serde_json::{Value, json};

use super::*;
use crate::{Fault, Timing};

const ALL: &[&str] = &[
    "user.info.basic",
    "video.publish",
    "video.upload",
    "video.list",
];
const MIB: u64 = 1 << 20;
const REDIRECT: &str = "https://app.example/callback/";

async fn call(
    fake: &TikTokFake,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = Client::new();
    let url = format!("{}{path}", fake.uri());
    let mut req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    }
    .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn form(fake: &TikTokFake, path: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let resp = Client::new()
        .post(format!("{}{path}", fake.uri()))
        .form(pairs)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn photo(privacy: &str, urls: &[&str]) -> Value {
    json!({
        "post_info": {"title": "t", "description": "d", "privacy_level": privacy},
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": urls},
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    })
}

fn file_init(size: u64, chunk: u64, count: u64) -> Value {
    json!({
        "post_info": {"title": "cat", "privacy_level": "PUBLIC_TO_EVERYONE", "disable_duet": false,
                      "disable_comment": true, "disable_stitch": false, "video_cover_timestamp_ms": 1000},
        "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": count},
    })
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        !body["error"]["log_id"].as_str().unwrap().is_empty(),
        "{body}"
    );
    assert!(body["data"].is_object(), "{body}");
}

async fn status(fake: &TikTokFake, token: &str, id: &str) -> Value {
    let (s, b) = call(
        fake,
        "POST",
        "/v2/post/publish/status/fetch/",
        token,
        Some(json!({"publish_id": id})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["data"].clone()
}

async fn put_chunk(url: &str, bytes: &[u8], range: &str) -> (u16, Option<String>) {
    let resp = Client::new()
        .put(url)
        .header("content-type", "video/mp4")
        .header("content-range", range)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let cr = resp
        .headers()
        .get("content-range")
        .map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), cr)
}

#[test]
fn chunk_plan_follows_the_media_transfer_guide_at_each_boundary() {
    let l = ChunkLimits::lenient();
    let max = 4_000_000_000;
    let ok = |v, c, n| chunk_plan_error(l, max, v, c, n).is_none();
    // The guide's worked example, and floor (not ceil) for the count.
    assert!(ok(50_000_123, 10_000_000, 5));
    assert!(!ok(50_000_123, 10_000_000, 6));
    // Under 5 MB: whole, one chunk, chunk_size == video_size.
    assert!(ok(4_999_999, 4_999_999, 1));
    assert!(!ok(4_999_999, 5_000_000, 1));
    assert!(!ok(4_999_999, 2_000_000, 2));
    // Exactly 5 MB (both readings): one chunk of itself, or a 5 MB chunk.
    assert!(ok(5_000_000, 5_000_000, 1));
    assert!(ok(5 * MIB, 5 * MIB, 1));
    assert!(ok(20_000_000, 5_000_000, 4));
    assert!(!ok(20_000_000, 4_999_999, 4));
    // Exactly 64 MB is the largest chunk; one byte more is not.
    assert!(ok(64 * MIB, 64 * MIB, 1));
    assert!(ok(200 * MIB, 64 * MIB, 3));
    assert!(!ok(200 * MIB, 64 * MIB + 1, 3));
    // Over 64 MB: more than one chunk, even when floor gives one.
    assert!(!ok(100 * MIB, 64 * MIB, 1));
    assert!(!ok(70 * MIB, 70 * MIB, 1));
    // The final chunk absorbs the trailing bytes: just under 128 MB with 64 MB chunks.
    assert!(ok(3 * 64 * MIB - 1, 64 * MIB, 2));
    // Floor keeps the final chunk under 2 x chunk_size <= 128 MB, so only a smaller
    // final_max makes that rule bite.
    let tight = ChunkLimits {
        final_max: 100 * MIB,
        ..l
    };
    assert!(chunk_plan_error(tight, max, 3 * 64 * MIB - 1, 64 * MIB, 2).is_some());
    // 1 to 1000 chunks (more than 800 minimal chunks only fit a limit above 4 GB).
    let big = 10_000_000_000;
    assert!(chunk_plan_error(l, big, 1000 * 5_000_000, 5_000_000, 1000).is_none());
    assert!(chunk_plan_error(l, big, 1001 * 5_000_000, 5_000_000, 1001).is_some());
    // The size limit.
    assert!(!ok(max + 1, 64 * MIB, (max + 1) / (64 * MIB)));
    // The strict reading refuses what only one reading allows.
    let s = ChunkLimits::strict();
    assert!(chunk_plan_error(s, max, 20_000_000, 5_000_000, 4).is_some());
    assert!(chunk_plan_error(s, max, 200 * MIB, 64 * MIB, 3).is_some());
    assert!(chunk_plan_error(s, max, 200_000_000, 64_000_000, 3).is_none());
}

#[tokio::test]
async fn a_bad_chunk_plan_is_an_invalid_param_envelope() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/video/init/",
        &token,
        Some(file_init(50_000_123, 10_000_000, 6)),
    )
    .await;
    assert_eq!(s, 400);
    assert_error(&b, "invalid_param");
    assert!(fake.publishes().is_empty());
}

#[tokio::test]
async fn chunks_upload_in_order_and_the_status_moves_on_with_polls() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    let size = 10_000_123u64;
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/video/init/",
        &token,
        Some(file_init(size, 5_000_000, 2)),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["error"]["code"], "ok");
    let id = b["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("v_pub_file~"));
    let url = b["data"]["upload_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/video/?upload_id=", fake.uri())),
        "{url}"
    );
    assert!(url.contains("&upload_token="));

    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let (a, rest) = data.split_at(5_000_000);
    // Out of order: the second chunk first.
    let (st, cr) = put_chunk(&url, rest, &format!("bytes 5000000-{}/{size}", size - 1)).await;
    assert_eq!((st, cr.as_deref()), (416, Some("bytes */10000123")));
    // A total other than the declared size.
    assert_eq!(put_chunk(&url, a, "bytes 0-4999999/10000124").await.0, 416);
    // A range that does not match the body.
    assert_eq!(put_chunk(&url, a, "bytes 0-4999998/10000123").await.0, 400);
    let (st, cr) = put_chunk(&url, a, "bytes 0-4999999/10000123").await;
    assert_eq!((st, cr.as_deref()), (206, Some("bytes 0-4999999/10000123")));
    assert_eq!(
        status(&fake, &token, &id).await["status"],
        "PROCESSING_UPLOAD"
    );
    assert_eq!(
        status(&fake, &token, &id).await["uploaded_bytes"],
        5_000_000
    );
    // The same chunk again (its answer was lost) is accepted once.
    assert_eq!(put_chunk(&url, a, "bytes 0-4999999/10000123").await.0, 206);
    // A chunk that does not follow the plan's next range.
    assert_eq!(
        put_chunk(&url, &rest[..4_000_000], "bytes 5000000-8999999/10000123")
            .await
            .0,
        416
    );
    let (st, _) = put_chunk(&url, rest, "bytes 5000000-10000122/10000123").await;
    assert_eq!(st, 201);
    let p = fake.publish(&id).unwrap();
    assert_eq!((p.uploaded_bytes, p.uploaded_chunks), (size, 2));
    assert_eq!(p.checksum, upload_checksum(&data));

    // polls_per_stage = 1: one more PROCESSING_UPLOAD, then PUBLISH_COMPLETE with the id.
    let d = status(&fake, &token, &id).await;
    assert_eq!(d["status"], "PROCESSING_UPLOAD");
    assert_eq!(d["publicaly_available_post_id"], json!([]));
    let d = status(&fake, &token, &id).await;
    assert_eq!(d["status"], "PUBLISH_COMPLETE", "{d}");
    assert_eq!(d["fail_reason"], "");
    let post_id = d["publicaly_available_post_id"][0].as_u64().unwrap();
    assert_eq!(
        fake.publish(&id).unwrap().post_id,
        Some(post_id.to_string())
    );
    let events: Vec<String> = fake.webhook_outbox().into_iter().map(|w| w.event).collect();
    assert_eq!(
        events,
        ["post.publish.complete", "post.publish.publicly_available"]
    );

    // Another user's token may not read it.
    let other = fake.seed_user("u2", ALL);
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/status/fetch/",
        &other,
        Some(json!({"publish_id": id})),
    )
    .await;
    assert_eq!(s, 400);
    assert_error(&b, "token_not_authorized_for_specified_publish_id");
}

#[tokio::test]
async fn pulls_inbox_and_failures_end_where_the_docs_say() {
    let fake = TikTokFake::start_with(TikTokFakeConfig {
        polls_per_stage: 2,
        ..Default::default()
    })
    .await;
    let token = fake.seed_user("u1", ALL);
    fake.verify_url_prefix("https://media.example/v/");
    let pull = json!({"source_info": {"source": "PULL_FROM_URL", "video_url": "https://media.example/v/1.mp4"}});
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/inbox/video/init/",
        &token,
        Some(pull.clone()),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let inbox = b["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(b["data"].get("upload_url").is_none());
    for _ in 0..2 {
        assert_eq!(
            status(&fake, &token, &inbox).await["status"],
            "PROCESSING_DOWNLOAD"
        );
    }
    let d = status(&fake, &token, &inbox).await;
    assert_eq!(d["status"], "SEND_TO_USER_INBOX");
    assert_eq!(d["downloaded_bytes"], 1_000_000);
    assert!(fake.complete_inbox(&inbox, "SELF_ONLY"));
    let d = status(&fake, &token, &inbox).await;
    assert_eq!(
        (
            d["status"].as_str(),
            d["publicaly_available_post_id"].clone()
        ),
        (Some("PUBLISH_COMPLETE"), json!([]))
    );

    fake.fail_next_publish("video_pull_failed");
    let mut direct = pull.clone();
    direct["post_info"] = json!({"privacy_level": "SELF_ONLY"});
    let (_, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/video/init/",
        &token,
        Some(direct),
    )
    .await;
    let failed = b["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(failed.starts_with("v_pub_url~"));
    for _ in 0..2 {
        status(&fake, &token, &failed).await;
    }
    let d = status(&fake, &token, &failed).await;
    assert_eq!(
        (d["status"].as_str(), d["fail_reason"].as_str()),
        (Some("FAILED"), Some("video_pull_failed"))
    );
    let last = fake.webhook_outbox().pop().unwrap();
    assert_eq!(last.event, "post.publish.failed");
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["reason"], "video_pull_failed");
    assert_eq!(content["publish_type"], "DIRECT_PUBLISH");
    assert_eq!(body["user_openid"], "u1");
    assert_eq!(body["client_key"], fake.client_key());
}

#[tokio::test]
async fn unverified_urls_privacy_options_and_unaudited_clients_are_refused() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    let path = "/v2/post/publish/content/init/";
    let img = "https://cdn.other.example/a.jpg";
    let (s, b) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(photo("PUBLIC_TO_EVERYONE", &[img])),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, "url_ownership_unverified");
    fake.verify_domain("other.example");
    let (s, b) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(photo("PUBLIC_TO_EVERYONE", &[img])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["data"]["publish_id"]
            .as_str()
            .unwrap()
            .starts_with("p_pub_url~")
    );

    // A private account has no PUBLIC_TO_EVERYONE option.
    fake.set_creator("u1", TtCreator::private("u1"));
    let (s, b) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(photo("PUBLIC_TO_EVERYONE", &[img])),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, "privacy_level_option_mismatch");
    let (s, b) = call(&fake, "POST", path, &token, Some(photo("NOBODY", &[img]))).await;
    assert_eq!(s, 400);
    assert_error(&b, "invalid_param");

    fake.set_audited(false);
    let (s, b) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(photo("FOLLOWER_OF_CREATOR", &[img])),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, "unaudited_client_can_only_post_to_private_accounts");
    let (s, _) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(photo("SELF_ONLY", &[img])),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(fake.publishes().len(), 2);
}

#[tokio::test]
async fn creator_info_answers_blocks_with_200_and_inits_with_403() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    fake.verify_domain("cdn.example");
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["error"]["code"], "ok");
    assert_eq!(
        b["data"]["privacy_level_options"],
        json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );
    assert_eq!(b["data"]["max_video_post_duration_sec"], 600);

    fake.block_posting("u1", Some(PostingBlock::BannedFromPosting));
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_error(&b, "spam_risk_user_banned_from_posting");
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, "spam_risk_user_banned_from_posting");
    fake.block_posting("u1", None);

    fake.set_active_user_cap(Some(0));
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_error(&b, "reached_active_user_cap");
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
    )
    .await;
    assert_eq!(s, 403);
    assert_error(&b, "reached_active_user_cap");
}

#[tokio::test]
async fn auth_scopes_and_rate_limits_answer_the_documented_envelopes() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", &["user.info.basic"]);
    let (s, b) = call(
        &fake,
        "GET",
        "/v2/user/info/?fields=open_id,display_name",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["user"]["open_id"], "u1");
    let (s, b) = call(
        &fake,
        "GET",
        "/v2/user/info/?fields=follower_count",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 400);
    assert_error(&b, "scope_permission_missed");
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 401);
    assert_error(&b, "scope_not_authorized");
    let (s, b) = call(
        &fake,
        "GET",
        "/v2/user/info/?fields=open_id",
        "act.unknown",
        None,
    )
    .await;
    assert_eq!(s, 401);
    assert_error(&b, "access_token_invalid");
    fake.expire_token(&token);
    let (s, b) = call(&fake, "GET", "/v2/user/info/?fields=open_id", &token, None).await;
    assert_eq!(s, 401);
    assert_error(&b, "access_token_invalid");

    // Six inits a minute per access token, counted in a sliding window.
    let token = fake.seed_user("u2", ALL);
    fake.verify_domain("cdn.example");
    for _ in 0..6 {
        let (s, b) = call(
            &fake,
            "POST",
            "/v2/post/publish/content/init/",
            &token,
            Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
    )
    .await;
    assert_eq!(s, 429);
    assert_error(&b, "rate_limit_exceeded");
    fake.advance_time(61);
    let (s, _) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
    )
    .await;
    assert_eq!(s, 200);
    fake.throttle_user("u2", true);
    let (s, _) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 429);
}

#[tokio::test]
async fn a_code_is_one_time_bound_to_its_redirect_uri_and_its_challenge() {
    let fake = TikTokFake::start().await;
    let (key, secret) = (
        fake.client_key().to_owned(),
        fake.client_secret().to_owned(),
    );
    let exchange = |code: String, redirect: &'static str, verifier: Option<&'static str>| {
        let (key, secret) = (key.clone(), secret.clone());
        let fake = &fake;
        async move {
            let mut pairs = vec![
                ("client_key", key.as_str()),
                ("client_secret", secret.as_str()),
                ("code", code.as_str()),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect),
            ];
            if let Some(v) = verifier {
                pairs.push(("code_verifier", v));
            }
            form(fake, "/v2/oauth/token/", &pairs).await
        }
    };
    let code = fake.issue_code("u1", REDIRECT, &["user.info.basic", "video.publish"], None);
    let (s, b) = exchange(code.clone(), "https://app.example/other/", None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    assert!(b["log_id"].is_string() && b["error_description"].is_string());
    let (s, b) = exchange(code.clone(), REDIRECT, None).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["access_token"].as_str().unwrap().starts_with("act."));
    assert!(b["refresh_token"].as_str().unwrap().starts_with("rft."));
    assert_eq!(b["expires_in"], 7_200);
    assert_eq!(b["refresh_expires_in"], 15_552_000);
    assert_eq!(
        (
            b["open_id"].as_str(),
            b["scope"].as_str(),
            b["token_type"].as_str()
        ),
        (
            Some("u1"),
            Some("user.info.basic,video.publish"),
            Some("Bearer")
        )
    );
    // Used once: never again.
    let (s, b) = exchange(code, REDIRECT, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));

    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let code = fake.issue_code("u1", REDIRECT, &["user.info.basic"], Some(&s256(verifier)));
    let (s, b) = exchange(code.clone(), REDIRECT, None).await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_request")));
    let (s, b) = exchange(
        code.clone(),
        REDIRECT,
        Some("not-the-verifier-not-the-verifier-not-the-v"),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
    let (s, _) = exchange(code, REDIRECT, Some(verifier)).await;
    assert_eq!(s, 200);

    let (s, b) = form(
        &fake,
        "/v2/oauth/token/",
        &[
            ("client_key", &key),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("invalid_client")));
}

#[tokio::test]
async fn refresh_rotates_and_the_previous_refresh_token_stops_working() {
    for rotate in [true, false] {
        let fake = TikTokFake::start_with(TikTokFakeConfig {
            rotate_refresh_tokens: rotate,
            ..Default::default()
        })
        .await;
        let (key, secret) = (
            fake.client_key().to_owned(),
            fake.client_secret().to_owned(),
        );
        let old = fake.seed_refresh_token("u1", ALL);
        let refresh = |t: String| {
            let (key, secret, fake) = (key.clone(), secret.clone(), &fake);
            async move {
                form(
                    fake,
                    "/v2/oauth/token/",
                    &[
                        ("client_key", &key),
                        ("client_secret", &secret),
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &t),
                    ],
                )
                .await
            }
        };
        let (s, b) = refresh(old.clone()).await;
        assert_eq!(s, 200, "{b}");
        let new = b["refresh_token"].as_str().unwrap().to_owned();
        let access = b["access_token"].as_str().unwrap().to_owned();
        let (s, _) = call(&fake, "GET", "/v2/user/info/?fields=open_id", &access, None).await;
        assert_eq!(s, 200);
        if rotate {
            assert_ne!(new, old);
            let (s, b) = refresh(old.clone()).await;
            assert_eq!((s, b["error"].as_str()), (400, Some("invalid_grant")));
            assert!(!fake.token_is_live(&old));
            let (s, _) = refresh(new).await;
            assert_eq!(s, 200);
        } else {
            assert_eq!(new, old);
            assert!(b["refresh_expires_in"].as_i64().unwrap() <= 15_552_000);
            let (s, _) = refresh(old).await;
            assert_eq!(s, 200);
        }
    }
}

#[tokio::test]
async fn revoke_kills_the_grant() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    let refresh = fake.seed_refresh_token("u1", ALL);
    let (s, b) = form(
        &fake,
        "/v2/oauth/revoke/",
        &[
            ("client_key", fake.client_key()),
            ("client_secret", fake.client_secret()),
            ("token", &token),
        ],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert!(!fake.token_is_live(&token) && !fake.token_is_live(&refresh));
    let (s, b) = call(&fake, "GET", "/v2/user/info/?fields=open_id", &token, None).await;
    assert_eq!(s, 401);
    assert_error(&b, "access_token_invalid");
}

#[tokio::test]
async fn a_lost_init_answer_leaves_exactly_one_publish() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    fake.verify_domain("cdn.example");
    fake.server().faults().inject(
        "POST",
        "/v2/post/publish/content/init/",
        Fault::status(500),
        1,
        Timing::AfterCommit,
    );
    let (s, _) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/a.jpg"])),
    )
    .await;
    assert_eq!(s, 500);
    assert_eq!(fake.publishes().len(), 1);
    assert_eq!(fake.post_inits(), 1);
}

#[tokio::test]
async fn video_list_pages_newest_first_and_query_answers_metrics() {
    let fake = TikTokFake::start().await;
    let token = fake.seed_user("u1", ALL);
    let ids: Vec<String> = (0..3)
        .map(|i| fake.seed_video("u1", &format!("v{i}")))
        .collect();
    assert!(fake.set_metrics(
        &ids[1],
        TtMetrics {
            views: 100,
            likes: 10,
            comments: 2,
            shares: 1
        }
    ));
    let path = "/v2/video/list/?fields=id,title,create_time";
    let (s, b) = call(&fake, "POST", path, &token, Some(json!({"max_count": 2}))).await;
    assert_eq!(s, 200, "{b}");
    let titles: Vec<&str> = b["data"]["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["v2", "v1"]);
    assert_eq!(b["data"]["has_more"], true);
    let cursor = b["data"]["cursor"].clone();
    let (_, b) = call(
        &fake,
        "POST",
        path,
        &token,
        Some(json!({"max_count": 2, "cursor": cursor})),
    )
    .await;
    assert_eq!(b["data"]["videos"][0]["title"], "v0");
    assert_eq!(b["data"]["has_more"], false);
    let (s, b) = call(&fake, "POST", "/v2/video/list/", &token, Some(json!({}))).await;
    assert_eq!(s, 400);
    assert_error(&b, "invalid_params");

    let q = "/v2/video/query/?fields=id,view_count,like_count,comment_count,share_count";
    let (s, b) = call(
        &fake,
        "POST",
        q,
        &token,
        Some(json!({"filters": {"video_ids": [ids[1], "123"]}})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"]["videos"],
        json!([{"id": ids[1], "view_count": 100, "like_count": 10, "comment_count": 2, "share_count": 1}])
    );
}

#[test]
fn webhook_signature_is_hmac_of_timestamp_dot_body() {
    let body = br#"{"event":"post.publish.complete"}"#;
    let sig = webhook_signature("secret", 1_633_174_587, body);
    let expected = crate::util::hmac_hex(
        b"secret",
        b"1633174587.{\"event\":\"post.publish.complete\"}",
    );
    assert_eq!(sig, format!("t=1633174587,s={expected}"));
}

#[tokio::test]
async fn the_platform_fake_seeds_an_account_that_posts_a_photo_by_url() {
    use crate::conformance::PlatformFake;
    use postd_core::TargetKind;
    use postd_core::secrecy::ExposeSecret;

    let fake = TikTokFake::start().await;
    let seeded = fake.seed(TargetKind::TikTokAccount, Some("canary"));
    let postd_core::Credentials::OAuth(tokens) = &seeded.credentials else {
        panic!("OAuth credentials")
    };
    let token = tokens.access_token.expose_secret().to_owned();
    assert!(token.starts_with("canary"));
    let (s, b) = call(
        &fake,
        "POST",
        "/v2/post/publish/content/init/",
        &token,
        Some(photo("SELF_ONLY", &["https://cdn.example/x.jpg"])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let route = fake.create_route(&seeded.target);
    let received = fake.received().await;
    assert!(route.matches(received.last().unwrap()));
    assert_eq!(
        fake.post_ids(&seeded.target),
        [b["data"]["publish_id"].as_str().unwrap()]
    );
    let delivery = fake.signed_delivery_at(b"{}", 1_700_000_000).unwrap();
    assert_eq!(
        delivery.headers["tiktok-signature"],
        webhook_signature(fake.client_secret(), 1_700_000_000, b"{}").as_str()
    );
    assert_eq!(
        fake.throttle_account(&seeded, true),
        Some(std::time::Duration::from_secs(60))
    );
    let (s, _) = call(
        &fake,
        "POST",
        "/v2/post/publish/creator_info/query/",
        &token,
        None,
    )
    .await;
    assert_eq!(s, 429);
}
