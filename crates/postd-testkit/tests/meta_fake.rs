//! The Meta Graph API fake, driven with plain HTTP as a connector would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use postd_core::reqwest::header::HeaderMap;
use postd_core::reqwest::{Client, RequestBuilder, multipart};
use postd_testkit::meta::{MetaFake, MetaFakeConfig, TokenVia, graph_error, upload_checksum};
use postd_testkit::{Fault, Timing};
use serde_json::{Value, json};

const V: &str = "v24.0";

struct Resp {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

async fn send(rb: RequestBuilder) -> Resp {
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Resp {
        status,
        body,
        headers,
    }
}

fn graph(fake: &MetaFake, path: &str) -> String {
    format!("{}/{V}/{path}", fake.uri())
}

async fn get(fake: &MetaFake, path: &str, token: &str, query: &[(&str, &str)]) -> Resp {
    send(
        Client::new()
            .get(graph(fake, path))
            .bearer_auth(token)
            .query(query),
    )
    .await
}

async fn post(fake: &MetaFake, path: &str, token: &str, form: &[(&str, &str)]) -> Resp {
    send(
        Client::new()
            .post(graph(fake, path))
            .bearer_auth(token)
            .form(form),
    )
    .await
}

fn assert_error(r: &Resp, status: u16, code: i64, subcode: Option<i64>) {
    assert_eq!(r.status, status, "{:?}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], json!(code), "{:?}", r.body);
    assert_eq!(e["type"], "OAuthException");
    assert!(e["message"].is_string());
    assert!(e["is_transient"].is_boolean());
    assert!(e["fbtrace_id"].is_string());
    match subcode {
        Some(s) => assert_eq!(e["error_subcode"], json!(s), "{:?}", r.body),
        None => assert!(e.get("error_subcode").is_none(), "{:?}", r.body),
    }
}

const PAGE_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "read_insights",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
];

/// A user with one Page linked to an Instagram account.
async fn seeded(config: MetaFakeConfig) -> (MetaFake, String, String) {
    let fake = MetaFake::start_with(config).await;
    let user = fake.seed_user("u1", "Ada", PAGE_SCOPES);
    let page = fake.seed_page("u1", "p1", "Ada's Page", Some("ig1"));
    (fake, user, page)
}

#[tokio::test]
async fn code_exchange_is_one_time_and_bound_to_the_redirect_uri() {
    let fake = MetaFake::start().await;
    fake.seed_user("u1", "Ada", &["pages_show_list"]);
    let redirect = "https://app.example/callback";
    let code = fake.issue_code("u1", redirect);
    let client = Client::new();
    let exchange = |code: &str, redirect: &str, secret: &str| {
        client.get(graph(&fake, "oauth/access_token")).query(&[
            ("client_id", fake.app_id()),
            ("redirect_uri", redirect),
            ("client_secret", secret),
            ("code", code),
        ])
    };

    let r = send(exchange(
        &code,
        "https://app.example/other",
        fake.app_secret(),
    ))
    .await;
    assert_error(&r, 400, 100, Some(36008));

    let r = send(exchange(&code, redirect, "wrong-secret")).await;
    assert_error(&r, 400, 1, None);
    assert_eq!(
        r.body["error"]["message"],
        "Error validating client secret."
    );

    let r = send(exchange(&code, redirect, fake.app_secret())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "bearer");
    assert_eq!(r.body["expires_in"], 5400);
    let short = r.body["access_token"].as_str().unwrap().to_owned();

    let r = send(exchange(&code, redirect, fake.app_secret())).await;
    assert_error(&r, 400, 100, Some(36009));

    let r = send(exchange("not-a-code", redirect, fake.app_secret())).await;
    assert_error(&r, 400, 100, None);

    // Short-lived -> long-lived, and long-lived -> a fresh long-lived one.
    let long_lived = |t: String| {
        let client = client.clone();
        let url = graph(&fake, "oauth/access_token");
        let (id, secret) = (fake.app_id().to_owned(), fake.app_secret().to_owned());
        async move {
            send(client.get(url).query(&[
                ("grant_type", "fb_exchange_token"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
                ("fb_exchange_token", t.as_str()),
            ]))
            .await
        }
    };
    let r = long_lived(short.clone()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["expires_in"], 5_183_944);
    let long = r.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(long, short);
    let r = long_lived(long.clone()).await;
    assert_eq!(r.body["expires_in"], 5_183_944);
    assert_ne!(r.body["access_token"].as_str().unwrap(), long);

    // An expired token cannot be exchanged; neither can garbage.
    fake.expire_token(&short);
    assert_error(&long_lived(short).await, 400, 190, Some(463));
    assert_error(&long_lived("garbage".into()).await, 400, 190, None);

    // The short-lived token dies after ~1.5 h on the fake clock.
    let code = fake.issue_code("u1", redirect);
    let t = send(exchange(&code, redirect, fake.app_secret()))
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get(&fake, "me", &t, &[]).await.status, 200);
    fake.advance_time(5_401);
    assert_error(&get(&fake, "me", &t, &[]).await, 400, 190, Some(463));
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let fake = MetaFake::start().await;
    fake.seed_user("u1", "Ada", &[]);
    let code = fake.issue_code("u1", "https://app.example/cb");
    fake.advance_time(601);
    let r = send(
        Client::new()
            .get(graph(&fake, "oauth/access_token"))
            .query(&[
                ("client_id", fake.app_id()),
                ("redirect_uri", "https://app.example/cb"),
                ("client_secret", fake.app_secret()),
                ("code", code.as_str()),
            ]),
    )
    .await;
    assert_error(&r, 400, 100, Some(36007));
}

#[tokio::test]
async fn debug_token_reports_user_and_page_tokens() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;
    fake.set_data_access_expires_at("u1", 1_900_000_000);
    let app = fake.app_token();

    let r = get(&fake, "debug_token", &app, &[("input_token", &user)]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let d = &r.body["data"];
    assert_eq!(d["type"], "USER");
    assert_eq!(d["is_valid"], true);
    assert_eq!(d["app_id"], fake.app_id());
    assert_eq!(d["user_id"], "u1");
    assert_eq!(d["data_access_expires_at"], 1_900_000_000);
    assert!(d["expires_at"].as_i64().unwrap() > fake.now() + 59 * 86_400);
    assert!(
        d["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("pages_manage_posts"))
    );
    let granular = d["granular_scopes"].as_array().unwrap();
    assert!(granular.contains(&json!({"scope": "pages_show_list", "target_ids": ["p1"]})));
    assert!(granular.contains(&json!({"scope": "instagram_basic", "target_ids": ["ig1"]})));

    let r = get(&fake, "debug_token", &app, &[("input_token", &page)]).await;
    let d = &r.body["data"];
    assert_eq!(d["type"], "PAGE");
    assert_eq!(d["expires_at"], 0);
    assert_eq!(d["profile_id"], "p1");

    fake.revoke_token(&user);
    let r = get(&fake, "debug_token", &app, &[("input_token", &user)]).await;
    assert_eq!(r.body["data"]["is_valid"], false);
    assert_eq!(r.body["data"]["error"]["code"], 190);
    assert_eq!(r.body["data"]["error"]["subcode"], 460);

    let r = get(&fake, "debug_token", &app, &[("input_token", "junk")]).await;
    assert_eq!(r.body["data"]["is_valid"], false);
    assert_eq!(r.body["data"]["error"]["code"], 190);

    // Only an app token may inspect tokens here.
    let r = get(&fake, "debug_token", &page, &[("input_token", &page)]).await;
    assert_error(&r, 400, 100, None);
    let r = get(
        &fake,
        "debug_token",
        "1234567890|bad",
        &[("input_token", &page)],
    )
    .await;
    assert_error(&r, 400, 190, None);
}

#[tokio::test]
async fn me_permissions_and_paginated_accounts() {
    let fake = MetaFake::start().await;
    let user = fake.seed_user("u1", "Ada", &["pages_show_list", "pages_manage_posts"]);
    fake.decline_scope("u1", "read_insights");
    for (id, ig) in [("p1", Some("ig1")), ("p2", None), ("p3", None)] {
        fake.seed_page("u1", id, &format!("Page {id}"), ig);
    }

    let r = get(&fake, "me", &user, &[("fields", "id,name")]).await;
    assert_eq!(r.body, json!({"id": "u1", "name": "Ada"}));

    let r = get(&fake, "me/permissions", &user, &[]).await;
    let data = r.body["data"].as_array().unwrap();
    assert!(data.contains(&json!({"permission": "pages_manage_posts", "status": "granted"})));
    assert!(data.contains(&json!({"permission": "read_insights", "status": "declined"})));

    let fields = "id,name,access_token,tasks,instagram_business_account{id,username}";
    let r = get(
        &fake,
        "me/accounts",
        &user,
        &[("fields", fields), ("limit", "2")],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], "p1");
    assert_eq!(
        data[0]["instagram_business_account"],
        json!({"id": "ig1", "username": "ig_ig1"})
    );
    assert_eq!(data[0]["access_token"], fake.page_token("p1").unwrap());
    assert!(
        data[0]["tasks"]
            .as_array()
            .unwrap()
            .contains(&json!("CREATE_CONTENT"))
    );
    assert!(data[1].get("instagram_business_account").is_none());
    let after = r.body["paging"]["cursors"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = r.body["paging"]["next"].as_str().unwrap();
    // Like Meta, `next` carries the token in its query string.
    assert!(next.contains("access_token="), "{next}");
    assert!(next.contains("after="), "{next}");

    let r = get(
        &fake,
        "me/accounts",
        &user,
        &[("fields", fields), ("limit", "2"), ("after", &after)],
    )
    .await;
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], "p3");
    assert!(r.body["paging"].get("next").is_none());

    let r = get(
        &fake,
        "p1",
        &user,
        &[("fields", "instagram_business_account")],
    )
    .await;
    assert_eq!(
        r.body,
        json!({"instagram_business_account": {"id": "ig1"}, "id": "p1"})
    );

    let r = get(&fake, "p1", &user, &[("fields", "nonsense")]).await;
    assert_error(&r, 400, 100, None);
    assert_eq!(fake.tokens_in_query(), 0);
}

#[tokio::test]
async fn page_tokens_from_short_lived_user_tokens_last_an_hour() {
    let fake = MetaFake::start().await;
    fake.seed_user("u1", "Ada", &["pages_show_list"]);
    fake.seed_page("u1", "p1", "Page", None);
    let code = fake.issue_code("u1", "https://a/cb");
    let r = send(
        Client::new()
            .get(graph(&fake, "oauth/access_token"))
            .query(&[
                ("client_id", fake.app_id()),
                ("redirect_uri", "https://a/cb"),
                ("client_secret", fake.app_secret()),
                ("code", code.as_str()),
            ]),
    )
    .await;
    let short = r.body["access_token"].as_str().unwrap().to_owned();
    let r = get(
        &fake,
        "me/accounts",
        &short,
        &[("fields", "id,access_token")],
    )
    .await;
    let page = r.body["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(page, fake.page_token("p1").unwrap());
    let r = get(
        &fake,
        "debug_token",
        &fake.app_token(),
        &[("input_token", &page)],
    )
    .await;
    let exp = r.body["data"]["expires_at"].as_i64().unwrap();
    assert!((exp - fake.now() - 3_600).abs() < 5, "{exp}");
}

#[tokio::test]
async fn tokens_are_read_from_headers_query_and_body_and_recorded() {
    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    let c = Client::new();
    assert_eq!(
        send(c.get(graph(&fake, "me")).bearer_auth(&user))
            .await
            .status,
        200
    );
    let r = send(
        c.get(graph(&fake, "me"))
            .header("Authorization", format!("OAuth {user}")),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = send(c.get(graph(&fake, "me")).query(&[("access_token", &user)])).await;
    assert_eq!(r.status, 200);
    let r = send(c.post(graph(&fake, "ig1/media")).form(&[
        ("access_token", user.as_str()),
        ("image_url", "https://cdn.example/a.jpg"),
    ]))
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let vias: Vec<TokenVia> = fake.token_uses().iter().map(|u| u.via).collect();
    assert_eq!(
        vias,
        vec![
            TokenVia::BearerHeader,
            TokenVia::OAuthHeader,
            TokenVia::Query,
            TokenVia::Body
        ]
    );
    assert_eq!(fake.tokens_in_query(), 1);

    let r = send(c.get(graph(&fake, "me"))).await;
    assert_error(&r, 400, 2500, None);
    let r = send(c.get(graph(&fake, "p1"))).await;
    assert_error(&r, 400, 104, None);
    let r = send(c.get(graph(&fake, "me")).bearer_auth("nope")).await;
    assert_error(&r, 400, 190, None);
}

#[tokio::test]
async fn appsecret_proof_is_verified_and_can_be_required() {
    let (fake, user, _) = seeded(MetaFakeConfig {
        require_appsecret_proof: true,
        ..MetaFakeConfig::default()
    })
    .await;
    let r = get(&fake, "me", &user, &[]).await;
    assert_error(&r, 400, 100, None);
    assert_eq!(
        r.body["error"]["message"],
        "API calls from the server require an appsecret_proof argument"
    );
    let r = get(&fake, "me", &user, &[("appsecret_proof", "00ff")]).await;
    assert_eq!(
        r.body["error"]["message"],
        "Invalid appsecret_proof provided in the API argument"
    );
    let proof = postd_core::webhook::hmac_sha256_hex(fake.app_secret().as_bytes(), user.as_bytes());
    assert_eq!(proof, fake.appsecret_proof(&user));
    let r = get(&fake, "me", &user, &[("appsecret_proof", &proof)]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn expired_revoked_and_foreign_tokens() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;
    let other = fake.seed_page("u2", "p2", "Someone else's", None);
    fake.seed_user("u2", "Bob", &["pages_manage_posts"]);

    let r = post(&fake, "p1/feed", &other, &[("message", "hi")]).await;
    assert_error(&r, 403, 200, None);
    let r = get(&fake, "p1/published_posts", &other, &[]).await;
    assert_error(&r, 400, 100, Some(33));

    fake.expire_token(&page);
    assert_error(
        &post(&fake, "p1/feed", &page, &[("message", "hi")]).await,
        400,
        190,
        Some(463),
    );
    fake.revoke_token(&user);
    assert_error(&get(&fake, "me", &user, &[]).await, 400, 190, Some(460));

    // A password change kills every token of the user.
    let bob = fake.seed_user("u2", "Bob", &[]);
    fake.change_password("u2");
    assert_error(&get(&fake, "me", &bob, &[]).await, 400, 190, Some(460));
    assert_error(&get(&fake, "me", &other, &[]).await, 400, 190, Some(460));
}

#[tokio::test]
async fn feed_posts_need_the_page_token_and_a_valid_schedule() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;

    let r = post(&fake, "p1/feed", &user, &[("message", "as the user")]).await;
    assert_error(&r, 403, 200, None);
    let r = post(
        &fake,
        "p1/feed",
        &user,
        &[("message", "later"), ("published", "false")],
    )
    .await;
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Unpublished posts must be posted to a page as the page itself")
    );

    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[("message", "hello"), ("link", "https://example.com")],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("p1_"));

    // The same message again soon after is a duplicate.
    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[("message", "hello"), ("link", "https://example.com")],
    )
    .await;
    assert_error(&r, 400, 506, None);

    let now = fake.now();
    let too_soon = (now + 300).to_string();
    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[
            ("message", "soon"),
            ("published", "false"),
            ("scheduled_publish_time", &too_soon),
        ],
    )
    .await;
    assert_error(&r, 400, 100, None);
    assert_eq!(
        r.body["error"]["message"],
        "(#100) scheduled_publish_time must be at least 10 minutes in the future"
    );
    let too_late = (now + 31 * 86_400).to_string();
    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[
            ("message", "late"),
            ("published", "false"),
            ("scheduled_publish_time", &too_late),
        ],
    )
    .await;
    assert_error(&r, 400, 100, None);
    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[
            ("message", "published+scheduled"),
            ("scheduled_publish_time", &(now + 3600).to_string()),
        ],
    )
    .await;
    assert_error(&r, 400, 100, None);

    let iso = chrono::DateTime::from_timestamp(now + 86_400, 0)
        .unwrap()
        .to_rfc3339();
    let r = send(
        Client::new()
            .post(graph(&fake, "p1/feed"))
            .bearer_auth(&page)
            .json(
                &json!({"message": "tomorrow", "published": false, "scheduled_publish_time": iso}),
            ),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let scheduled_id = r.body["id"].as_str().unwrap().to_owned();

    let r = get(
        &fake,
        "p1/scheduled_posts",
        &page,
        &[("fields", "id,message")],
    )
    .await;
    assert_eq!(
        r.body["data"],
        json!([{"id": scheduled_id, "message": "tomorrow"}])
    );
    let r = get(
        &fake,
        "p1/published_posts",
        &page,
        &[("fields", "id,message,created_time,permalink_url")],
    )
    .await;
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], id);
    assert!(
        data[0]["permalink_url"]
            .as_str()
            .unwrap()
            .starts_with("https://www.facebook.com/p1/posts/")
    );
    assert_error(
        &get(&fake, "p1/published_posts", &user, &[]).await,
        400,
        190,
        None,
    );

    // Once its time comes, the scheduled post is live.
    fake.advance_time(86_401);
    let posts = fake.facebook_posts("p1");
    assert!(posts.iter().all(|p| p.published));
    assert_eq!(posts[1].scheduled_publish_time, Some(now + 86_400));
}

#[tokio::test]
async fn multi_photo_posts_and_photo_uploads() {
    let (fake, _, page) = seeded(MetaFakeConfig::default()).await;
    let r = post(
        &fake,
        "p1/photos",
        &page,
        &[
            ("url", "https://cdn.example/1.jpg"),
            ("published", "false"),
            ("temporary", "true"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body.get("post_id").is_none());
    let one = r.body["id"].as_str().unwrap().to_owned();

    let form = multipart::Form::new().text("published", "false").part(
        "source",
        multipart::Part::bytes(vec![0xff_u8; 1234])
            .file_name("two.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let r = send(
        Client::new()
            .post(graph(&fake, "p1/photos"))
            .bearer_auth(&page)
            .multipart(form),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let two = r.body["id"].as_str().unwrap().to_owned();
    let photos = fake.photos("p1");
    assert_eq!(photos[1].uploaded_bytes, 1234);
    assert!(photos[0].temporary);

    // Form encoding: attached_media[i]={"media_fbid":..}
    let m0 = json!({"media_fbid": one}).to_string();
    let m1 = json!({"media_fbid": two}).to_string();
    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[
            ("message", "two photos"),
            ("attached_media[0]", &m0),
            ("attached_media[1]", &m1),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        fake.facebook_posts("p1")[0].attached_media,
        vec![one.clone(), two.clone()]
    );

    // JSON body: "attached_media": [{"media_fbid": ..}]
    let r = send(
        Client::new()
            .post(graph(&fake, "p1/feed"))
            .bearer_auth(&page)
            .json(&json!({"message": "json", "attached_media": [{"media_fbid": one}]})),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(fake.facebook_posts("p1")[1].attached_media, vec![one]);

    let r = post(
        &fake,
        "p1/feed",
        &page,
        &[
            ("message", "bogus"),
            ("attached_media[0]", r#"{"media_fbid":"999"}"#),
        ],
    )
    .await;
    assert_error(&r, 400, 100, None);

    // A published photo makes a post.
    let r = post(
        &fake,
        "p1/photos",
        &page,
        &[("url", "https://cdn.example/3.jpg"), ("caption", "hi")],
    )
    .await;
    assert!(r.body["post_id"].as_str().unwrap().starts_with("p1_"));
    let r = post(&fake, "p1/photos", &page, &[("caption", "no file")]).await;
    assert_error(&r, 400, 324, None);
}

#[tokio::test]
async fn resumable_upload_checks_offsets_and_keeps_only_counts() {
    let (fake, user, page) = seeded(MetaFakeConfig {
        video_polls: 2,
        ..MetaFakeConfig::default()
    })
    .await;
    let c = Client::new();
    let r = post(
        &fake,
        &format!("{}/uploads", fake.app_id()),
        &user,
        &[
            ("file_name", "clip.mp4"),
            ("file_length", "10"),
            ("file_type", "video/mp4"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let session = r.body["id"].as_str().unwrap().to_owned();
    assert!(session.starts_with("upload:"));
    // The session id is a path segment (its `?sig=` travels as the query).
    let url = format!("{}/{V}/{session}", fake.uri());
    let chunk = |offset: &str, body: &'static [u8]| {
        c.post(&url)
            .header("Authorization", format!("OAuth {user}"))
            .header("file_offset", offset)
            .body(body)
    };

    let r = send(chunk("3", b"abc")).await;
    assert_error(&r, 400, 100, None);
    let r = send(chunk("0", b"0123")).await;
    assert_eq!(r.body["file_offset"], 4, "{:?}", r.body);
    let r = send(c.get(&url).header("Authorization", format!("OAuth {user}"))).await;
    assert_eq!(r.body, json!({"id": session, "file_offset": 4}));
    // The token must travel in the header.
    let r = send(
        c.post(&url)
            .query(&[("access_token", &user)])
            .header("file_offset", "4")
            .body("x"),
    )
    .await;
    assert_error(&r, 400, 104, None);
    let r = send(chunk("4", b"456789")).await;
    let handle = r.body["h"].as_str().unwrap().to_owned();
    assert!(handle.starts_with("2:"));
    let s = &fake.upload_sessions()[0];
    assert_eq!((s.file_length, s.received), (10, 10));
    assert_eq!(s.checksum, upload_checksum(b"0123456789"));

    // Publish the video from the handle and poll its processing.
    let r = post(
        &fake,
        "p1/videos",
        &page,
        &[
            ("fbuploader_video_file_chunk", &handle),
            ("title", "Clip"),
            ("description", "d"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let video = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        fake.videos("p1")[0].upload_handle.as_deref(),
        Some(handle.as_str())
    );
    let status = |r: &Resp| {
        r.body["status"]["video_status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for _ in 0..2 {
        let r = get(&fake, &video, &page, &[("fields", "status")]).await;
        assert_eq!(status(&r), "processing");
    }
    let r = get(&fake, &video, &page, &[("fields", "status")]).await;
    assert_eq!(status(&r), "ready");

    let r = post(
        &fake,
        "p1/videos",
        &page,
        &[("fbuploader_video_file_chunk", "2:nope")],
    )
    .await;
    assert_error(&r, 400, 100, None);
    let r = post(
        &fake,
        "p1/videos",
        &page,
        &[("file_url", "https://cdn.example/v.mp4")],
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn reel_container_state_machine_and_double_publish() {
    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    let r = post(
        &fake,
        "ig1/media",
        &user,
        &[
            ("media_type", "REELS"),
            ("video_url", "https://cdn.example/r.mp4"),
            ("caption", "#reel"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();

    let form = [("creation_id", id.as_str())];
    let publish = || post(&fake, "ig1/media_publish", &user, &form);
    let r = publish().await;
    assert_error(&r, 400, 9007, Some(2_207_027));
    assert_eq!(r.body["error"]["message"], "Media ID is not available");

    let poll = || get(&fake, &id, &user, &[("fields", "status_code,status")]);
    for _ in 0..2 {
        assert_eq!(poll().await.body["status_code"], "IN_PROGRESS");
    }
    let r = poll().await;
    assert_eq!(r.body["status_code"], "FINISHED");
    assert_eq!(r.body["id"], id);

    let r = publish().await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let media_id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(poll().await.body["status_code"], "PUBLISHED");
    let r = publish().await;
    assert_error(&r, 400, 100, None);
    assert_eq!(fake.media_publish_calls(), 3);
    assert_eq!(fake.instagram_media("ig1").len(), 1);

    let r = get(
        &fake,
        &media_id,
        &user,
        &[("fields", "permalink,media_type,media_product_type")],
    )
    .await;
    assert!(
        r.body["permalink"]
            .as_str()
            .unwrap()
            .starts_with("https://www.instagram.com/reel/")
    );
    assert_eq!(r.body["media_type"], "VIDEO");
    assert_eq!(r.body["media_product_type"], "REELS");

    let r = get(
        &fake,
        "ig1/media",
        &user,
        &[(
            "fields",
            "id,caption,timestamp,permalink,media_type,media_product_type",
        )],
    )
    .await;
    assert_eq!(r.body["data"][0]["id"], media_id);
    assert_eq!(r.body["data"][0]["caption"], "#reel");
}

#[tokio::test]
async fn failed_and_expired_containers() {
    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    fake.fail_next_container(
        "ig1",
        "Error: Media upload has failed with error code 2207082",
    );
    let r = post(
        &fake,
        "ig1/media",
        &user,
        &[("image_url", "https://cdn.example/a.jpg")],
    )
    .await;
    let failed = r.body["id"].as_str().unwrap().to_owned();
    let r = get(&fake, &failed, &user, &[("fields", "status_code,status")]).await;
    assert_eq!(r.body["status_code"], "ERROR");
    assert_eq!(
        r.body["status"],
        "Error: Media upload has failed with error code 2207082"
    );
    let r = post(
        &fake,
        "ig1/media_publish",
        &user,
        &[("creation_id", &failed)],
    )
    .await;
    assert_error(&r, 400, 9007, Some(2_207_027));

    let r = post(
        &fake,
        "ig1/media",
        &user,
        &[("image_url", "https://cdn.example/b.jpg")],
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    fake.expire_container(&id);
    assert_eq!(
        get(&fake, &id, &user, &[("fields", "status_code")])
            .await
            .body["status_code"],
        "EXPIRED"
    );
    let r = post(&fake, "ig1/media_publish", &user, &[("creation_id", &id)]).await;
    assert_error(&r, 400, -2, Some(2_207_020));
    let r = post(
        &fake,
        "ig1/media_publish",
        &user,
        &[("creation_id", "nope")],
    )
    .await;
    assert_error(&r, 400, 24, Some(2_207_006));
}

#[tokio::test]
async fn publishing_quota_is_enforced() {
    let (fake, user, page) = seeded(MetaFakeConfig {
        quota_total: 50,
        ..MetaFakeConfig::default()
    })
    .await;
    fake.set_quota_usage("ig1", 49);
    let r = get(
        &fake,
        "ig1/content_publishing_limit",
        &user,
        &[("fields", "quota_usage,config")],
    )
    .await;
    assert_eq!(
        r.body,
        json!({"data": [{"quota_usage": 49, "config": {"quota_total": 50, "quota_duration": 86400}}]})
    );
    for expect in [200, 400] {
        let r = post(
            &fake,
            "ig1/media",
            &page,
            &[("image_url", "https://cdn.example/q.jpg")],
        )
        .await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        let r = post(&fake, "ig1/media_publish", &page, &[("creation_id", &id)]).await;
        assert_eq!(r.status, expect, "{:?}", r.body);
        if expect == 400 {
            assert_error(&r, 400, 9, Some(2_207_042));
            assert!(
                r.body["error"]["error_user_msg"]
                    .as_str()
                    .unwrap()
                    .contains("maximum number of posts")
            );
        }
    }
    let r = get(
        &fake,
        "ig1/content_publishing_limit",
        &user,
        &[("fields", "quota_usage")],
    )
    .await;
    assert_eq!(r.body["data"][0]["quota_usage"], 50);
    // The window rolls.
    fake.set_quota_usage("ig1", 0);
    let r = get(&fake, "ig1/content_publishing_limit", &user, &[]).await;
    assert_eq!(r.body, json!({"data": [{"quota_usage": 0}]}));
}

#[tokio::test]
async fn container_rules() {
    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    let media = |form: Vec<(&'static str, String)>| {
        let fake = &fake;
        let user = user.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(fake, "ig1/media", &user, &form).await
        }
    };
    let s = |x: &str| x.to_owned();

    let r = media(vec![("image_url", s("https://cdn.example/a.png"))]).await;
    assert_error(&r, 400, 36_001, Some(2_207_005));
    let r = media(vec![
        ("image_url", s("https://cdn.example/a.jpg")),
        ("caption", "x".repeat(2201)),
    ])
    .await;
    assert_error(&r, 400, 36_004, Some(2_207_010));
    let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
    let r = media(vec![
        ("image_url", s("https://cdn.example/a.jpg")),
        ("caption", tags),
    ])
    .await;
    assert_error(&r, 400, 36_004, Some(2_207_010));
    let mentions: String = (0..21).map(|i| format!("@u{i} ")).collect();
    let r = media(vec![
        ("image_url", s("https://cdn.example/a.jpg")),
        ("caption", mentions),
    ])
    .await;
    assert_error(&r, 400, 100, Some(2_207_040));
    let r = media(vec![
        ("media_type", s("VIDEO")),
        ("video_url", s("https://cdn.example/v.mp4")),
    ])
    .await;
    assert_error(&r, 400, 100, Some(2_207_023));
    let r = media(vec![
        ("is_carousel_item", s("true")),
        ("image_url", s("https://cdn.example/a.jpg")),
        ("caption", s("no")),
    ])
    .await;
    assert_error(&r, 400, 100, None);
    let r = media(vec![
        ("is_carousel_item", s("true")),
        ("image_url", s("https://cdn.example/a.jpg")),
        ("collaborators", s(r#"["a"]"#)),
    ])
    .await;
    assert_error(&r, 400, 100, None);

    // Carousel: 2-10 finished items.
    let item =
        |url: &'static str| media(vec![("is_carousel_item", s("true")), ("image_url", s(url))]);
    let a = item("https://cdn.example/1.jpg").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = media(vec![("media_type", s("CAROUSEL")), ("children", a.clone())]).await;
    assert_error(&r, 400, 100, Some(2_207_028));
    let v = media(vec![
        ("is_carousel_item", s("true")),
        ("media_type", s("VIDEO")),
        ("video_url", s("https://cdn.example/v.mp4")),
    ])
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let children = format!("{a},{v}");
    let r = media(vec![
        ("media_type", s("CAROUSEL")),
        ("children", children.clone()),
        ("caption", s("album")),
    ])
    .await;
    assert_error(&r, 400, 9007, Some(2_207_027));
    for _ in 0..3 {
        get(&fake, &v, &user, &[("fields", "status_code")]).await;
    }
    let r = media(vec![
        ("media_type", s("CAROUSEL")),
        ("children", children),
        ("caption", s("album")),
    ])
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let carousel = r.body["id"].as_str().unwrap().to_owned();
    let r = post(&fake, "ig1/media_publish", &user, &[("creation_id", &a)]).await;
    assert_error(&r, 400, 100, None);
    let r = post(
        &fake,
        "ig1/media_publish",
        &user,
        &[("creation_id", &carousel)],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let m = &fake.instagram_media("ig1")[0];
    assert_eq!(m.media_type, "CAROUSEL_ALBUM");
    assert_eq!(m.caption.as_deref(), Some("album"));
    let c = fake.containers();
    assert_eq!(
        c.iter().find(|c| c.id == carousel).unwrap().children,
        vec![a, v]
    );

    // Stories: image or video, not both.
    let r = media(vec![
        ("media_type", s("STORIES")),
        ("image_url", s("https://cdn.example/s.jpg")),
        ("video_url", s("https://cdn.example/s.mp4")),
    ])
    .await;
    assert_error(&r, 400, 100, None);
    let r = media(vec![
        ("media_type", s("STORIES")),
        ("image_url", s("https://cdn.example/s.jpg")),
    ])
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn resumable_reel_upload_through_the_rupload_host() {
    let (fake, user, _) = seeded(MetaFakeConfig {
        container_polls: 1,
        ..MetaFakeConfig::default()
    })
    .await;
    let r = post(
        &fake,
        "ig1/media",
        &user,
        &[
            ("media_type", "REELS"),
            ("upload_type", "resumable"),
            ("caption", "big"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let uri = r.body["uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, format!("{}/ig-api-upload/{V}/{id}", fake.uri()));

    let c = Client::new();
    let put = |offset: &str, body: &'static [u8]| {
        c.post(&uri)
            .header("Authorization", format!("OAuth {user}"))
            .header("offset", offset)
            .header("file_size", "8")
            .body(body)
    };
    let poll = || get(&fake, &id, &user, &[("fields", "status_code")]);

    let r = send(put("2", b"ab")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["debug_info"]["type"], "InvalidRequestError");
    assert_eq!(send(put("0", b"abcd")).await.body["success"], true);
    // Polls before the bytes are all there do not count.
    for _ in 0..3 {
        assert_eq!(poll().await.body["status_code"], "IN_PROGRESS");
    }
    let r = send(put("4", b"efgh")).await;
    assert_eq!(
        r.body,
        json!({"success": true, "message": "Upload successful."})
    );
    assert_eq!(poll().await.body["status_code"], "IN_PROGRESS");
    assert_eq!(poll().await.body["status_code"], "FINISHED");
    let container = fake.containers().into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(container.uploaded_bytes, 8);
    assert_eq!(container.checksum, upload_checksum(b"abcdefgh"));

    // The unversioned upload path works too, and bad tokens are refused.
    let r = send(
        c.post(format!("{}/ig-api-upload/{id}", fake.uri()))
            .header("Authorization", "OAuth nope")
            .header("offset", "0")
            .header("file_size", "8")
            .body("x"),
    )
    .await;
    assert_eq!(r.body["debug_info"]["type"], "NotAuthorizedError");
}

#[tokio::test]
async fn usage_headers_and_throttling() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;
    fake.set_app_usage(28, 25, 24);
    fake.set_business_usage("p1", 7, 8, 9);
    let r = get(&fake, "me", &user, &[]).await;
    let app: Value = serde_json::from_str(r.headers["x-app-usage"].to_str().unwrap()).unwrap();
    assert_eq!(
        app,
        json!({"call_count": 28, "total_time": 25, "total_cputime": 24})
    );
    assert!(r.headers.get("x-business-use-case-usage").is_none());

    let r = get(&fake, "p1/published_posts", &page, &[]).await;
    let buc: Value =
        serde_json::from_str(r.headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc["p1"][0]["type"], "pages");
    assert_eq!(buc["p1"][0]["call_count"], 7);
    assert_eq!(buc["p1"][0]["total_time"], 8);
    assert_eq!(buc["p1"][0]["total_cputime"], 9);
    assert_eq!(buc["p1"][0]["estimated_time_to_regain_access"], 0);

    fake.throttle("p1", 80001, 17);
    let r = post(&fake, "p1/feed", &page, &[("message", "x")]).await;
    assert_error(&r, 400, 80001, None);
    assert_eq!(r.body["error"]["is_transient"], true);
    let buc: Value =
        serde_json::from_str(r.headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc["p1"][0]["estimated_time_to_regain_access"], 17);
    assert_eq!(buc["p1"][0]["call_count"], 100);
    assert!(fake.facebook_posts("p1").is_empty());

    fake.throttle("ig1", 80002, 5);
    let r = get(&fake, "ig1/content_publishing_limit", &user, &[]).await;
    assert_error(&r, 400, 80002, None);
    let buc: Value =
        serde_json::from_str(r.headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc["ig1"][0]["type"], "instagram");
    fake.clear_throttle("p1");
    assert_eq!(
        post(&fake, "p1/feed", &page, &[("message", "x")])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn error_bodies_have_metas_exact_shape() {
    let body = graph_error(190, Some(463), "expired");
    let e = body["error"].as_object().unwrap();
    let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "code",
            "error_subcode",
            "fbtrace_id",
            "is_transient",
            "message",
            "type"
        ]
    );
    assert_eq!(e["type"], "OAuthException");
    assert_eq!(e["is_transient"], false);
    assert!(
        graph_error(100, None, "x")["error"]
            .get("error_subcode")
            .is_none()
    );
    assert_eq!(graph_error(2, None, "x")["error"]["is_transient"], true);

    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    let r = get(&fake, "123456", &user, &[]).await;
    assert_error(&r, 400, 100, Some(33));
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unsupported get request.")
    );
    assert_eq!(r.headers["content-type"], "application/json");
}

#[tokio::test]
async fn insights_model_the_2025_metric_removals() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;
    let r = get(
        &fake,
        "p1/insights",
        &page,
        &[("metric", "page_impressions_unique"), ("period", "day")],
    )
    .await;
    assert_error(&r, 400, 100, None);
    assert_eq!(
        r.body["error"]["message"],
        "(#100) The value must be a valid insights metric"
    );
    let r = get(&fake, "p1/insights", &page, &[("metric", "page_fans")]).await;
    assert_error(&r, 400, 100, None);

    let since = "2025-03-01";
    let until = "2025-03-04";
    fake.set_empty_metric("page_daily_follows");
    let r = get(
        &fake,
        "p1/insights",
        &page,
        &[
            ("metric", "page_total_media_view_unique,page_daily_follows"),
            ("period", "day"),
            ("since", since),
            ("until", until),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let rows = r.body["data"].as_array().unwrap();
    assert_eq!(rows[0]["name"], "page_total_media_view_unique");
    assert_eq!(rows[0]["period"], "day");
    assert_eq!(
        rows[0]["id"],
        "p1/insights/page_total_media_view_unique/day"
    );
    let values = rows[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    assert_eq!(values[0]["end_time"], "2025-03-02T07:00:00+0000");
    assert!(values[0]["value"].is_u64());
    assert_eq!(rows[1]["values"], json!([]));
    let r = get(
        &fake,
        "p1/insights",
        &page,
        &[
            ("metric", "page_post_engagements"),
            ("since", "2025-01-01"),
            ("until", "2025-06-01"),
        ],
    )
    .await;
    assert_error(&r, 400, 100, None);
    assert_error(
        &get(&fake, "p1/insights", &page, &[]).await,
        400,
        3001,
        Some(1_504_028),
    );

    // Post insights.
    let post_id = post(&fake, "p1/feed", &page, &[("message", "m")])
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = get(
        &fake,
        &format!("{post_id}/insights"),
        &page,
        &[(
            "metric",
            "post_total_media_view_unique,post_reactions_by_type_total",
        )],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"][0]["period"], "lifetime");
    assert!(r.body["data"][1]["values"][0]["value"]["like"].is_u64());
    let r = get(
        &fake,
        &format!("{post_id}/insights"),
        &page,
        &[("metric", "post_impressions")],
    )
    .await;
    assert_error(&r, 400, 100, None);

    // Videos have video_insights, not insights.
    let video = post(
        &fake,
        "p1/videos",
        &page,
        &[("file_url", "https://cdn.example/v.mp4")],
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = get(
        &fake,
        &format!("{video}/insights"),
        &page,
        &[("metric", "total_video_views")],
    )
    .await;
    assert_error(&r, 400, 100, None);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("(#100) Tried accessing nonexisting field (insights)")
    );
    let r = get(
        &fake,
        &format!("{video}/video_insights"),
        &page,
        &[("metric", "total_video_views")],
    )
    .await;
    assert_eq!(r.body["data"][0]["name"], "total_video_views");

    // Instagram media: impressions/plays are gone; reels reject story metrics.
    let c = post(
        &fake,
        "ig1/media",
        &user,
        &[
            ("media_type", "REELS"),
            ("video_url", "https://cdn.example/r.mp4"),
        ],
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..3 {
        get(&fake, &c, &user, &[("fields", "status_code")]).await;
    }
    let media = post(&fake, "ig1/media_publish", &user, &[("creation_id", &c)])
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{media}/insights");
    assert_error(
        &get(&fake, &path, &user, &[("metric", "impressions")]).await,
        400,
        100,
        None,
    );
    assert_error(
        &get(&fake, &path, &user, &[("metric", "plays")]).await,
        400,
        100,
        None,
    );
    let r = get(&fake, &path, &user, &[("metric", "reach,replies")]).await;
    assert_error(&r, 400, 100, None);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not support the replies metric")
    );
    let r = get(
        &fake,
        &path,
        &user,
        &[("metric", "views,reach,saved,likes,comments,shares")],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 6);

    // Instagram account insights.
    let r = get(
        &fake,
        "ig1/insights",
        &user,
        &[("metric", "follower_count,reach"), ("period", "day")],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(!r.body["data"][0]["values"].as_array().unwrap().is_empty());
    let r = get(
        &fake,
        "ig1/insights",
        &user,
        &[("metric", "likes,views"), ("period", "day")],
    )
    .await;
    assert_error(&r, 400, 100, None);
    let r = get(
        &fake,
        "ig1/insights",
        &user,
        &[
            ("metric", "likes,views"),
            ("period", "day"),
            ("metric_type", "total_value"),
        ],
    )
    .await;
    assert!(r.body["data"][1]["total_value"]["value"].is_u64());
    let r = get(
        &fake,
        "ig1/insights",
        &user,
        &[("metric", "impressions"), ("period", "day")],
    )
    .await;
    assert_error(&r, 400, 100, None);
}

#[tokio::test]
async fn after_commit_faults_strike_after_the_effect() {
    let (fake, user, page) = seeded(MetaFakeConfig::default()).await;
    fake.server().faults().inject(
        "POST",
        "/p1/feed",
        Fault::Delay(Duration::from_secs(5)),
        1,
        Timing::AfterCommit,
    );
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .post(graph(&fake, "p1/feed"))
        .bearer_auth(&page)
        .form(&[("message", "lost answer")])
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(fake.facebook_posts("p1").len(), 1);

    let c = post(
        &fake,
        "ig1/media",
        &user,
        &[("image_url", "https://cdn.example/a.jpg")],
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.server().faults().inject(
        "POST",
        "/media_publish",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    let err = Client::new()
        .post(graph(&fake, "ig1/media_publish"))
        .bearer_auth(&user)
        .form(&[("creation_id", c.as_str())])
        .send()
        .await;
    assert!(err.is_err(), "{err:?}");
    // Published all the same: the container says so, and a retry must not publish twice.
    assert_eq!(fake.instagram_media("ig1").len(), 1);
    let r = get(&fake, &c, &user, &[("fields", "status_code")]).await;
    assert_eq!(r.body["status_code"], "PUBLISHED");

    // A before-commit fault has no effect.
    fake.server().faults().inject(
        "POST",
        "/p1/feed",
        Fault::status(500),
        1,
        Timing::BeforeCommit,
    );
    let r = post(&fake, "p1/feed", &page, &[("message", "never")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(fake.facebook_posts("p1").len(), 1);
}

#[tokio::test]
async fn webhook_signatures_use_the_app_secret() {
    let fake = MetaFake::start().await;
    let body = br#"{"object":"page","entry":[]}"#;
    let sig = fake.sign_webhook(body);
    assert_eq!(
        sig,
        format!(
            "sha256={}",
            postd_core::webhook::hmac_sha256_hex(fake.app_secret().as_bytes(), body)
        )
    );
}

#[tokio::test]
async fn large_uploads_without_recording() {
    let (fake, user, _) = seeded(MetaFakeConfig {
        record_requests: false,
        ..MetaFakeConfig::default()
    })
    .await;
    let len = 4 * 1024 * 1024;
    let r = post(
        &fake,
        &format!("{}/uploads", fake.app_id()),
        &user,
        &[
            ("file_length", &len.to_string()),
            ("file_type", "video/mp4"),
        ],
    )
    .await;
    let session = r.body["id"].as_str().unwrap().to_owned();
    let bytes = vec![7_u8; len];
    let r = send(
        Client::new()
            .post(format!("{}/{V}/{session}", fake.uri()))
            .header("Authorization", format!("OAuth {user}"))
            .header("file_offset", "0")
            .body(bytes.clone()),
    )
    .await;
    assert!(r.body["h"].is_string(), "{:?}", r.body);
    assert_eq!(fake.upload_sessions()[0].checksum, upload_checksum(&bytes));
}

#[tokio::test]
#[should_panic(expected = "requests matched no fake route")]
async fn unversioned_and_unknown_routes_are_loud() {
    let (fake, user, _) = seeded(MetaFakeConfig::default()).await;
    let r = send(
        Client::new()
            .get(format!("{}/me", fake.uri()))
            .bearer_auth(&user),
    )
    .await;
    assert_eq!(r.status, 421);
    let r = get(&fake, "p1/ratings", &user, &[]).await;
    assert_eq!(r.status, 421);
    drop(fake); // panics
}
