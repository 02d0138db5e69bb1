//! The LinkedIn fake, driven with plain HTTP as a connector would.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::reqwest::header::HeaderMap;
use postd_core::reqwest::{Client, Method, RequestBuilder};
use postd_testkit::linkedin::{
    LinkedInFake, LinkedInFakeConfig, duplicate_post_error, render_little_text, upload_checksum,
};
use postd_testkit::{Fault, Timing};
use serde_json::{Value, json};

const VERSION: &str = "202601";
const ME: &str = "abc123";
const ME_URN: &str = "urn:li:person:abc123";

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
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Resp {
        status,
        body,
        headers,
    }
}

/// A versioned `/rest` request with every required header. `path_and_query`
/// is sent verbatim (Rest.li encoding is the caller's job).
fn rest(fake: &LinkedInFake, method: Method, path_and_query: &str, token: &str) -> RequestBuilder {
    Client::new()
        .request(method, format!("{}/rest/{path_and_query}", fake.uri()))
        .bearer_auth(token)
        .header("LinkedIn-Version", VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
}

fn enc(urn: &str) -> String {
    urn.replace(':', "%3A")
}

fn text_post(author: &str, commentary: &str) -> Value {
    json!({
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    })
}

async fn create(fake: &LinkedInFake, token: &str, body: &Value) -> Resp {
    send(rest(fake, Method::POST, "posts", token).json(body)).await
}

fn member(fake: &LinkedInFake) -> String {
    fake.seed_member(
        ME,
        "Ada Lovelace",
        &[
            "openid",
            "profile",
            "email",
            "w_member_social",
            "r_member_social",
        ],
    )
}

async fn upload_image(fake: &LinkedInFake, token: &str, owner: &str, bytes: &[u8]) -> String {
    let init = send(
        rest(fake, Method::POST, "images?action=initializeUpload", token)
            .json(&json!({"initializeUploadRequest": {"owner": owner}})),
    )
    .await;
    assert_eq!(init.status, 200, "{:?}", init.body);
    let urn = init.body["value"]["image"].as_str().unwrap().to_owned();
    let url = init.body["value"]["uploadUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&fake.uri()), "{url}");
    if !bytes.is_empty() {
        let put = send(
            Client::new()
                .put(url)
                .bearer_auth(token)
                .body(bytes.to_vec()),
        )
        .await;
        assert_eq!(put.status, 201, "{:?}", put.body);
    }
    urn
}

// ---- versioning and protocol ------------------------------------------------------------------

#[tokio::test]
async fn rest_calls_need_an_active_version_and_the_restli_protocol_header() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let url = format!("{}/rest/posts", fake.uri());
    let body = text_post(ME_URN, "versioned");

    let r = send(
        Client::new()
            .post(&url)
            .bearer_auth(&token)
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!({"status": 400, "code": "VERSION_MISSING", "message": "A version must be present. Please specify a version by adding the LinkedIn-Version header."})
    );

    let r = send(
        Client::new()
            .post(&url)
            .bearer_auth(&token)
            .header("LinkedIn-Version", "202504")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 426);
    assert_eq!(
        r.body,
        json!({"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version 20250401 is not active"})
    );

    let r = send(
        Client::new()
            .post(&url)
            .bearer_auth(&token)
            .header("LinkedIn-Version", VERSION)
            .json(&body),
    )
    .await;
    assert_eq!(r.status, 400, "{:?}", r.body);

    assert_eq!(fake.requests_missing_version(), 2);
    assert_eq!(fake.post_creates(), 0);

    let r = create(&fake, &token, &body).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.headers["x-restli-protocol-version"], "2.0.0");
    assert!(r.headers.contains_key("x-li-uuid"));
    assert_eq!(fake.requests_missing_version(), 2);
}

#[tokio::test]
async fn the_active_window_is_a_knob() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        active_versions: 202_504..=202_603,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = member(&fake);
    let r = send(
        Client::new()
            .post(format!("{}/rest/posts", fake.uri()))
            .bearer_auth(&token)
            .header("LinkedIn-Version", "202604")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&text_post(ME_URN, "x")),
    )
    .await;
    assert_eq!(r.status, 426);
    assert_eq!(
        r.body["message"],
        "Requested version 20260401 is not active"
    );
}

// ---- auth errors ------------------------------------------------------------------------------

#[tokio::test]
async fn token_and_scope_errors_use_linkedins_bodies() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let post = text_post(ME_URN, "auth");

    let r = create(&fake, "not-a-token", &post).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"status": 401, "serviceErrorCode": 65600, "code": "INVALID_ACCESS_TOKEN", "message": "Invalid access token"})
    );

    let r = send(
        Client::new()
            .post(format!("{}/rest/posts", fake.uri()))
            .header("LinkedIn-Version", VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&post),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["message"], "Empty oauth2_access_token");

    let expired = member(&fake);
    fake.expire_token(&expired);
    let r = create(&fake, &expired, &post).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["serviceErrorCode"], 65602);
    assert_eq!(r.body["code"], "EXPIRED_ACCESS_TOKEN");

    let revoked = member(&fake);
    fake.revoke_token(&revoked);
    let r = create(&fake, &revoked, &post).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["serviceErrorCode"], 65601);
    assert_eq!(r.body["code"], "REVOKED_ACCESS_TOKEN");

    let read_only = fake.seed_member("reader", "Reader", &["openid", "profile"]);
    let r = create(
        &fake,
        &read_only,
        &text_post("urn:li:person:reader", "no scope"),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!({"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260101"})
    );

    // Posting as somebody else is denied too.
    let r = create(&fake, &token, &text_post("urn:li:person:someone-else", "x")).await;
    assert_eq!(r.status, 403);
    assert_eq!(fake.post_creates(), 0);

    // Tokens in the query string work on LinkedIn but are counted.
    let r = send(Client::new().get(format!(
        "{}/v2/userinfo?oauth2_access_token={token}",
        fake.uri()
    )))
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(fake.tokens_in_query(), 1);
}

#[tokio::test]
async fn userinfo_needs_openid_and_shows_email_only_with_the_email_scope() {
    let fake = LinkedInFake::start().await;
    let with_email = member(&fake);
    let r = send(
        Client::new()
            .get(format!("{}/v2/userinfo", fake.uri()))
            .bearer_auth(&with_email),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sub"], ME);
    assert_eq!(r.body["name"], "Ada Lovelace");
    assert_eq!(r.body["given_name"], "Ada");
    assert_eq!(r.body["family_name"], "Lovelace");
    assert_eq!(r.body["email"], "abc123@members.example");
    assert_eq!(r.body["email_verified"], true);

    let no_email = fake.seed_member("b", "Bob Builder", &["openid", "profile"]);
    let r = send(
        Client::new()
            .get(format!("{}/v2/userinfo", fake.uri()))
            .bearer_auth(&no_email),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("email").is_none());
    assert!(r.body.get("email_verified").is_none());

    let no_openid = fake.seed_member("c", "Carol", &["w_member_social"]);
    let r = send(
        Client::new()
            .get(format!("{}/v2/userinfo", fake.uri()))
            .bearer_auth(&no_openid),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body["message"],
        "Not enough permissions to access: userinfo.GET.NO_VERSION"
    );
}

// ---- posts ------------------------------------------------------------------------------------

#[tokio::test]
async fn posts_are_created_read_listed_and_deleted() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);

    let first = create(&fake, &token, &text_post(ME_URN, "first")).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body, Value::Null, "create answers an empty body");
    let first_urn = first.headers["x-restli-id"].to_str().unwrap().to_owned();
    assert!(first_urn.starts_with("urn:li:share:"), "{first_urn}");

    let second = create(&fake, &token, &text_post(ME_URN, "second")).await;
    let second_urn = second.headers["x-restli-id"].to_str().unwrap().to_owned();
    assert_eq!(fake.post_creates(), 2);

    let got = send(rest(
        &fake,
        Method::GET,
        &format!("posts/{}", enc(&first_urn)),
        &token,
    ))
    .await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["id"], first_urn.as_str());
    assert_eq!(got.body["author"], ME_URN);
    assert_eq!(got.body["commentary"], "first");
    assert_eq!(got.body["lifecycleState"], "PUBLISHED");
    assert!(got.body["createdAt"].as_i64().unwrap() > 1_600_000_000_000);
    assert!(got.body["publishedAt"].is_i64());

    // A raw (unencoded) URN path key is rejected: Rest.li 2.0 wants it encoded.
    let raw = send(rest(
        &fake,
        Method::GET,
        &format!("posts/{first_urn}"),
        &token,
    ))
    .await;
    assert_eq!(raw.status, 400, "{:?}", raw.body);

    let list = send(rest(
        &fake,
        Method::GET,
        &format!(
            "posts?q=author&author={}&count=10&sortBy=LAST_MODIFIED",
            enc(ME_URN)
        ),
        &token,
    ))
    .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let ids: Vec<&str> = list.body["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![second_urn.as_str(), first_urn.as_str()]);

    let del = send(rest(
        &fake,
        Method::DELETE,
        &format!("posts/{}", enc(&first_urn)),
        &token,
    ))
    .await;
    assert_eq!(del.status, 204);
    let gone = send(rest(
        &fake,
        Method::GET,
        &format!("posts/{}", enc(&first_urn)),
        &token,
    ))
    .await;
    assert_eq!(gone.status, 404);
    assert!(fake.posts()[0].deleted);

    // Reading posts needs r_member_social; deleting only w_member_social.
    let writer = fake.seed_member(ME, "Ada Lovelace", &["w_member_social"]);
    let denied = send(rest(
        &fake,
        Method::GET,
        &format!("posts/{}", enc(&second_urn)),
        &writer,
    ))
    .await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.body["message"],
        "Not enough permissions to access: partnerApiPostsExternal.GET.20260101"
    );
    let del = send(rest(
        &fake,
        Method::DELETE,
        &format!("posts/{}", enc(&second_urn)),
        &writer,
    ))
    .await;
    assert_eq!(del.status, 204);
}

#[tokio::test]
async fn missing_required_fields_are_restli_422s() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let mut body = text_post(ME_URN, "x");
    body.as_object_mut().unwrap().remove("distribution");
    let r = create(&fake, &token, &body).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("ERROR :: /distribution :: field is required but not found"),
        "{:?}",
        r.body
    );
    let mut body = text_post(ME_URN, "x");
    body["visibility"] = json!("EVERYONE");
    assert_eq!(create(&fake, &token, &body).await.status, 422);
    assert_eq!(fake.post_creates(), 0);
}

#[tokio::test]
async fn duplicate_commentary_is_a_422_inside_the_window() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let first = create(&fake, &token, &text_post(ME_URN, "same words")).await;
    assert_eq!(first.status, 201);
    let urn = first.headers["x-restli-id"].to_str().unwrap().to_owned();

    let dup = create(&fake, &token, &text_post(ME_URN, "same words")).await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.body, duplicate_post_error(&urn));
    assert_eq!(
        dup.body["errorDetails"]["inputErrors"][0]["code"],
        "DUPLICATE_POST"
    );
    assert_eq!(
        dup.body["message"],
        format!(
            "com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of {urn}"
        )
    );

    // Deleted posts still count ("ghost" duplicates).
    send(rest(
        &fake,
        Method::DELETE,
        &format!("posts/{}", enc(&urn)),
        &token,
    ))
    .await;
    assert_eq!(
        create(&fake, &token, &text_post(ME_URN, "same words"))
            .await
            .status,
        422
    );

    fake.set_duplicate_window(60);
    fake.advance_time(61);
    assert_eq!(
        create(&fake, &token, &text_post(ME_URN, "same words"))
            .await
            .status,
        201
    );
    assert_eq!(fake.post_creates(), 2);
}

#[tokio::test]
async fn the_answer_can_be_lost_after_the_post_was_created() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    fake.server().faults().inject(
        "POST",
        "/rest/posts",
        Fault::status(504),
        1,
        Timing::AfterCommit,
    );
    let r = create(&fake, &token, &text_post(ME_URN, "lost answer")).await;
    assert_eq!(r.status, 504);
    assert_eq!(
        fake.posts().len(),
        1,
        "the post exists even though the answer was lost"
    );
    // A blind retry hits the duplicate check.
    let retry = create(&fake, &token, &text_post(ME_URN, "lost answer")).await;
    assert_eq!(retry.status, 422);
    assert_eq!(retry.body, duplicate_post_error(&fake.posts()[0].urn));
}

#[tokio::test]
async fn commentary_is_cut_at_3000_characters_and_rendered_as_little_text() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let long = "a".repeat(3200);
    let r = create(&fake, &token, &text_post(ME_URN, &long)).await;
    assert_eq!(r.status, 201, "LinkedIn does not reject long commentary");
    let urn = r.headers["x-restli-id"].to_str().unwrap().to_owned();
    let got = send(rest(
        &fake,
        Method::GET,
        &format!("posts/{}", enc(&urn)),
        &token,
    ))
    .await;
    assert_eq!(got.body["commentary"].as_str().unwrap().len(), 3000);
    let post = &fake.posts()[0];
    assert_eq!(post.commentary.len(), 3200, "kept as sent");
    assert_eq!(post.rendered.len(), 3000);

    let r = create(
        &fake,
        &token,
        &text_post(ME_URN, "Launch (beta) today #rust"),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(fake.posts()[1].rendered, "Launch ");
    let r = create(
        &fake,
        &token,
        &text_post(
            ME_URN,
            "Launch \\(beta\\) with @[Acme](urn:li:organization:1) #rust",
        ),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(fake.posts()[2].rendered, "Launch (beta) with Acme #rust");
    assert_eq!(render_little_text("a {hashtag|#|b} c"), "a #b c");
}

#[tokio::test]
async fn media_must_exist_be_uploaded_and_be_owned_by_the_author() {
    let fake = LinkedInFake::start().await;
    let token = fake.seed_member(
        ME,
        "Ada",
        &[
            "w_member_social",
            "r_member_social",
            "w_organization_social",
        ],
    );
    fake.seed_organization("42", "Acme", ME, "ADMINISTRATOR");
    let org = "urn:li:organization:42";

    let org_image = upload_image(&fake, &token, org, b"org image").await;
    let mut post = text_post(ME_URN, "with image");
    post["content"] = json!({"media": {"id": org_image, "altText": "alt"}});
    let r = create(&fake, &token, &post).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let err = &r.body["errorDetails"]["inputErrors"][0];
    assert_eq!(err["code"], "INVALID_CONTENT_OWNERSHIP");
    assert_eq!(
        err["description"],
        "Content(s) you provided must be owned by post author"
    );

    let waiting = upload_image(&fake, &token, ME_URN, b"").await;
    let st = send(rest(
        &fake,
        Method::GET,
        &format!("images/{}", enc(&waiting)),
        &token,
    ))
    .await;
    assert_eq!(st.body["status"], "WAITING_UPLOAD");
    post["content"] = json!({"media": {"id": waiting}});
    assert_eq!(create(&fake, &token, &post).await.status, 400);

    let mine = upload_image(&fake, &token, ME_URN, b"my image bytes").await;
    let st = send(rest(
        &fake,
        Method::GET,
        &format!("images/{}", enc(&mine)),
        &token,
    ))
    .await;
    assert_eq!(st.body["status"], "AVAILABLE");
    post["content"] = json!({"media": {"id": mine}});
    assert_eq!(create(&fake, &token, &post).await.status, 201);
    let img = fake.images().into_iter().find(|i| i.urn == mine).unwrap();
    assert_eq!(img.uploaded_bytes, 14);
    assert_eq!(img.checksum, upload_checksum(b"my image bytes"));

    // multiImage needs 2..=20 images.
    let mut multi = text_post(ME_URN, "one image is not a carousel");
    multi["content"] = json!({"multiImage": {"images": [{"id": mine}]}});
    assert_eq!(create(&fake, &token, &multi).await.status, 422);
    let other = upload_image(&fake, &token, ME_URN, b"second").await;
    multi["content"] =
        json!({"multiImage": {"images": [{"id": mine}, {"id": other, "altText": "b"}]}});
    assert_eq!(create(&fake, &token, &multi).await.status, 201);

    // Posting as the organization needs w_organization_social and a page role.
    let mut as_org = text_post(org, "from the page");
    as_org["content"] = json!({"media": {"id": org_image}});
    assert_eq!(create(&fake, &token, &as_org).await.status, 201);
    fake.remove_role("42", ME);
    let again = create(&fake, &token, &text_post(org, "no longer admin")).await;
    assert_eq!(again.status, 403);
}

// ---- videos -----------------------------------------------------------------------------------

#[tokio::test]
async fn videos_upload_in_parts_in_any_order_finalize_with_etags_in_order_and_advance_on_polls() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        video_part_size: 10,
        video_polls: 2,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = member(&fake);
    let file: Vec<u8> = (0u8..25).collect();

    let init = send(
        rest(&fake, Method::POST, "videos?action=initializeUpload", &token).json(&json!({
            "initializeUploadRequest": {"owner": ME_URN, "fileSizeBytes": 25, "uploadCaptions": false, "uploadThumbnail": false}
        })),
    )
    .await;
    assert_eq!(init.status, 200, "{:?}", init.body);
    let value = &init.body["value"];
    let video = value["video"].as_str().unwrap().to_owned();
    let token_for_finalize = value["uploadToken"].as_str().unwrap().to_owned();
    let parts = value["uploadInstructions"].as_array().unwrap().clone();
    let ranges: Vec<(u64, u64)> = parts
        .iter()
        .map(|p| {
            (
                p["firstByte"].as_u64().unwrap(),
                p["lastByte"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ranges, vec![(0, 9), (10, 19), (20, 24)]);

    let status = |body: &Value| body["status"].as_str().unwrap().to_owned();
    let get = || {
        rest(
            &fake,
            Method::GET,
            &format!("videos/{}", enc(&video)),
            &token,
        )
    };
    assert_eq!(status(&send(get()).await.body), "WAITING_UPLOAD");

    // A part with the wrong byte count is refused.
    let url0 = parts[0]["uploadUrl"].as_str().unwrap();
    let short = send(Client::new().put(url0).body(file[0..9].to_vec())).await;
    assert_eq!(short.status, 400);

    // Parts may arrive in any order (last first here); the checksum follows part order.
    let mut etags = vec![String::new(); parts.len()];
    for (i, (p, (first, last))) in parts.iter().zip(&ranges).enumerate().rev() {
        let r = send(
            Client::new()
                .put(p["uploadUrl"].as_str().unwrap())
                .header("Content-Type", "application/octet-stream")
                .body(file[*first as usize..=*last as usize].to_vec()),
        )
        .await;
        assert!(r.status == 200 || r.status == 201, "{}", r.status);
        etags[i] = r.headers["etag"].to_str().unwrap().to_owned();
        if i > 0 {
            assert_ne!(fake.videos()[0].checksum, upload_checksum(&file));
        }
    }
    let v = &fake.videos()[0];
    assert_eq!((v.parts, v.uploaded_parts, v.uploaded_bytes), (3, 3, 25));
    assert_eq!(v.checksum, upload_checksum(&file));

    // Out of order, or missing a part: refused.
    let finalize = |ids: Vec<String>| {
        rest(&fake, Method::POST, "videos?action=finalizeUpload", &token).json(&json!({
            "finalizeUploadRequest": {"video": video, "uploadToken": token_for_finalize, "uploadedPartIds": ids}
        }))
    };
    let swapped = vec![etags[1].clone(), etags[0].clone(), etags[2].clone()];
    assert_eq!(send(finalize(swapped)).await.status, 400);
    assert_eq!(send(finalize(etags[..2].to_vec())).await.status, 400);

    // A video post before the video is AVAILABLE is refused.
    let mut post = text_post(ME_URN, "my video");
    post["content"] = json!({"media": {"id": video, "title": "clip"}});
    assert_eq!(create(&fake, &token, &post).await.status, 400);

    let ok = send(finalize(etags.clone())).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, Value::Null);
    assert_eq!(send(finalize(etags)).await.status, 400, "already finalized");

    assert_eq!(status(&send(get()).await.body), "PROCESSING");
    assert_eq!(status(&send(get()).await.body), "PROCESSING");
    assert_eq!(status(&send(get()).await.body), "AVAILABLE");
    assert_eq!(create(&fake, &token, &post).await.status, 201);
}

#[tokio::test]
async fn a_video_can_fail_processing() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        video_polls: 0,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = member(&fake);
    fake.fail_next_video();
    let init = send(
        rest(
            &fake,
            Method::POST,
            "videos?action=initializeUpload",
            &token,
        )
        .json(&json!({
            "initializeUploadRequest": {"owner": ME_URN, "fileSizeBytes": 4}
        })),
    )
    .await;
    let value = &init.body["value"];
    let video = value["video"].as_str().unwrap().to_owned();
    assert_eq!(
        value["uploadToken"], "",
        "a single-part upload has an empty token"
    );
    let put = send(
        Client::new()
            .put(
                value["uploadInstructions"][0]["uploadUrl"]
                    .as_str()
                    .unwrap(),
            )
            .body(vec![1, 2, 3, 4]),
    )
    .await;
    let etag = put.headers["etag"].to_str().unwrap().to_owned();
    let fin = send(
        rest(&fake, Method::POST, "videos?action=finalizeUpload", &token).json(&json!({
            "finalizeUploadRequest": {"video": video, "uploadToken": "", "uploadedPartIds": [etag]}
        })),
    )
    .await;
    assert_eq!(fin.status, 200);
    let st = send(rest(
        &fake,
        Method::GET,
        &format!("videos/{}", enc(&video)),
        &token,
    ))
    .await;
    assert_eq!(st.body["status"], "PROCESSING_FAILED");
}

// ---- OAuth ------------------------------------------------------------------------------------

async fn token_call(fake: &LinkedInFake, form: &[(&str, &str)]) -> Resp {
    send(
        Client::new()
            .post(format!("{}/oauth/v2/accessToken", fake.uri()))
            .form(form),
    )
    .await
}

#[tokio::test]
async fn codes_are_one_time_and_bound_to_their_redirect_uri() {
    let fake = LinkedInFake::start().await;
    let redirect = "https://app.example/callback";
    let code = fake.issue_code(ME, redirect, &["openid", "profile", "w_member_social"]);
    let (id, secret) = (fake.client_id().to_owned(), fake.client_secret().to_owned());

    let wrong_redirect = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", &secret),
            ("redirect_uri", "https://evil.example/cb"),
        ],
    )
    .await;
    assert_eq!(wrong_redirect.status, 400);
    assert_eq!(wrong_redirect.body["error"], "invalid_redirect_uri");

    let bad_secret = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", "nope"),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(bad_secret.status, 401);

    let missing = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        json!({"error": "invalid_request", "error_description": "A required parameter \"redirect_uri\" is missing"})
    );

    let ok = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", &secret),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["expires_in"], 5_184_000);
    assert_eq!(ok.body["refresh_token_expires_in"], 31_536_000);
    assert!(ok.body["refresh_token"].is_string());
    assert!(ok.body["id_token"].as_str().unwrap().split('.').count() == 3);
    let access = ok.body["access_token"].as_str().unwrap();
    let me = send(
        Client::new()
            .get(format!("{}/v2/userinfo", fake.uri()))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(me.body["sub"], ME);

    let reused = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &id),
            ("client_secret", &secret),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(reused.status, 400);
    assert_eq!(
        reused.body,
        json!({"error": "invalid_request", "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked"})
    );

    let expired = fake.issue_code(ME, redirect, &["openid", "profile", "w_member_social"]);
    fake.advance_time(31 * 60);
    let late = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &expired),
            ("client_id", &id),
            ("client_secret", &secret),
            ("redirect_uri", redirect),
        ],
    )
    .await;
    assert_eq!(late.status, 400);
    assert_eq!(late.body["error"], "invalid_redirect_uri");
}

/// A lifetime in seconds, within the one second the fake's real clock may tick between calls.
fn assert_secs(value: &serde_json::Value, want: i64) {
    let got = value.as_i64().unwrap_or(i64::MIN);
    assert!((got - want).abs() <= 1, "{got} is not {want} (±1 s)");
}

#[tokio::test]
async fn refreshing_does_not_extend_the_refresh_token() {
    let fake = LinkedInFake::start().await;
    member(&fake);
    let refresh = fake.seed_refresh_token(ME);
    let (id, secret) = (fake.client_id().to_owned(), fake.client_secret().to_owned());
    fake.advance_time(59 * 86_400);
    let r = token_call(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["refresh_token"], refresh.as_str());
    assert_secs(&r.body["refresh_token_expires_in"], 306 * 86_400);
    assert_secs(&r.body["expires_in"], 5_184_000);

    // Five days before the refresh token dies, the access token dies with it.
    fake.advance_time(301 * 86_400);
    let r = token_call(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_secs(&r.body["refresh_token_expires_in"], 5 * 86_400);
    assert_secs(&r.body["expires_in"], 5 * 86_400);

    fake.advance_time(6 * 86_400);
    let dead = token_call(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(dead.status, 400);
    assert_eq!(dead.body["error"], "invalid_request");
}

#[tokio::test]
async fn apps_without_programmatic_refresh_get_no_refresh_token() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        refresh_tokens: false,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let code = fake.issue_code(ME, "https://app.example/cb", &["w_member_social"]);
    let r = token_call(
        &fake,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", fake.client_id()),
            ("client_secret", fake.client_secret()),
            ("redirect_uri", "https://app.example/cb"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("refresh_token").is_none());
    assert!(r.body.get("refresh_token_expires_in").is_none());
}

#[tokio::test]
async fn introspection_reports_active_expired_revoked_and_foreign_tokens() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let introspect = |client_id: String, secret: String, token: String| {
        send(
            Client::new()
                .post(format!("{}/oauth/v2/introspectToken", fake.uri()))
                .form(&[
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("token", token),
                ]),
        )
    };
    let (id, secret) = (fake.client_id().to_owned(), fake.client_secret().to_owned());

    let r = introspect(id.clone(), secret.clone(), token.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["auth_type"], "3L");
    assert_eq!(r.body["client_id"], id.as_str());
    assert_eq!(
        r.body["expires_at"].as_i64().unwrap() - r.body["created_at"].as_i64().unwrap(),
        5_184_000
    );
    assert!(
        r.body["scope"]
            .as_str()
            .unwrap()
            .contains("w_member_social")
    );

    let r = introspect(id.clone(), "wrong".to_owned(), token.clone()).await;
    assert_eq!(r.status, 401);

    fake.register_app("other-app", "other-secret");
    let r = introspect(
        "other-app".to_owned(),
        "other-secret".to_owned(),
        token.clone(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"active": false}));

    fake.revoke_token(&token);
    let r = introspect(id.clone(), secret.clone(), token.clone()).await;
    assert_eq!(
        (r.body["active"].clone(), r.body["status"].clone()),
        (json!(false), json!("revoked"))
    );

    let other = member(&fake);
    fake.advance_time(5_184_001);
    let r = introspect(id, secret, other).await;
    assert_eq!(
        (r.body["active"].clone(), r.body["status"].clone()),
        (json!(false), json!("expired"))
    );
}

// ---- throttling -------------------------------------------------------------------------------

#[tokio::test]
async fn daily_limits_throttle_until_utc_midnight() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        member_daily_limit: 2,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = member(&fake);
    fake.seed_organization("7", "Acme", ME, "ADMINISTRATOR");
    let acl = |t: &str| rest(&fake, Method::GET, "organizations?ids=List(7)", t);
    assert_eq!(send(acl(&token)).await.status, 200);
    assert_eq!(send(acl(&token)).await.status, 200);
    let r = send(acl(&token)).await;
    assert_eq!(r.status, 429);
    assert_eq!(
        r.body,
        json!({"status": 429, "message": "Resource level throttle limit for calls to this resource is reached."})
    );
    assert!(!r.headers.contains_key("retry-after"));

    // Another resource has its own counter.
    let r = send(rest(&fake, Method::POST, "posts", &token).json(&text_post(ME_URN, "still fine")))
        .await;
    assert_eq!(r.status, 201);

    let now = fake.now();
    fake.advance_time(86_400 - now.rem_euclid(86_400) + 1);
    assert_eq!(send(acl(&token)).await.status, 200);
}

// ---- organizations, Rest.li encoding and analytics ------------------------------------------

#[tokio::test]
async fn organization_discovery_with_restli_lists() {
    let fake = LinkedInFake::start().await;
    let token = fake.seed_member(
        ME,
        "Ada",
        &["rw_organization_admin", "w_organization_social"],
    );
    fake.seed_organization("1", "Acme", ME, "ADMINISTRATOR");
    fake.seed_organization("2", "Globex", ME, "ANALYST");
    fake.seed_organization("3", "Initech", "someone-else", "ADMINISTRATOR");

    let r = send(rest(
        &fake,
        Method::GET,
        "organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED",
        &token,
    ))
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["elements"],
        json!([{"organization": "urn:li:organization:1", "role": "ADMINISTRATOR", "state": "APPROVED", "roleAssignee": ME_URN}])
    );
    let all = send(rest(
        &fake,
        Method::GET,
        "organizationAcls?q=roleAssignee",
        &token,
    ))
    .await;
    assert_eq!(all.body["elements"].as_array().unwrap().len(), 2);

    let r = send(rest(
        &fake,
        Method::GET,
        "organizations?ids=List(1,2,99)",
        &token,
    ))
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["results"]["1"]["localizedName"], "Acme");
    assert_eq!(r.body["results"]["1"]["id"], 1);
    assert_eq!(r.body["results"]["2"]["localizedName"], "Globex");
    assert_eq!(r.body["errors"]["99"]["status"], 404);

    // An encoded List( is a literal string, not a list.
    let r = send(rest(
        &fake,
        Method::GET,
        "organizations?ids=List%281%29",
        &token,
    ))
    .await;
    assert_eq!(r.status, 400);

    let no_scope = fake.seed_member("x", "X", &["w_member_social"]);
    let r = send(rest(
        &fake,
        Method::GET,
        "organizationAcls?q=roleAssignee",
        &no_scope,
    ))
    .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn share_statistics_member_analytics_and_social_metadata_read_the_knobs() {
    let fake = LinkedInFake::start().await;
    let token = fake.seed_member(
        ME,
        "Ada",
        &[
            "w_member_social",
            "r_member_social",
            "r_member_postAnalytics",
            "w_organization_social",
            "r_organization_social",
            "rw_organization_admin",
        ],
    );
    fake.seed_organization("5", "Acme", ME, "ADMINISTRATOR");
    let org = "urn:li:organization:5";
    let org_post = create(&fake, &token, &text_post(org, "org post")).await;
    let org_urn = org_post.headers["x-restli-id"].to_str().unwrap().to_owned();
    let my_post = create(&fake, &token, &text_post(ME_URN, "my post")).await;
    let my_urn = my_post.headers["x-restli-id"].to_str().unwrap().to_owned();
    fake.set_share_statistics(&org_urn, 1000, 50, 30, 10, 5);
    fake.set_share_statistics(&my_urn, 200, 4, 3, 2, 1);
    fake.set_post_metric(&my_urn, "MEMBERS_REACHED", 150);

    let lifetime = send(rest(
        &fake,
        Method::GET,
        &format!(
            "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}",
            enc(org)
        ),
        &token,
    ))
    .await;
    assert_eq!(lifetime.status, 200, "{:?}", lifetime.body);
    let t = &lifetime.body["elements"][0]["totalShareStatistics"];
    assert_eq!(t["impressionCount"], 1000);
    assert_eq!(t["clickCount"], 50);
    assert_eq!(t["likeCount"], 30);
    assert_eq!(t["commentCount"], 10);
    assert_eq!(t["shareCount"], 5);
    assert!((t["engagement"].as_f64().unwrap() - 0.095).abs() < 1e-9);

    let per_share = send(rest(
        &fake,
        Method::GET,
        &format!(
            "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&shares=List({})",
            enc(org),
            enc(&org_urn)
        ),
        &token,
    ))
    .await;
    assert_eq!(per_share.status, 200, "{:?}", per_share.body);
    assert_eq!(per_share.body["elements"][0]["share"], org_urn.as_str());

    let start = fake.now() * 1000 - 86_400_000;
    let end = fake.now() * 1000 + 86_400_000;
    let daily = send(rest(
        &fake,
        Method::GET,
        &format!(
            "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&timeIntervals=(timeRange:(start:{start},end:{end}),timeGranularityType:DAY)",
            enc(org)
        ),
        &token,
    ))
    .await;
    assert_eq!(daily.status, 200, "{:?}", daily.body);
    let days = daily.body["elements"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    let total: u64 = days
        .iter()
        .map(|d| {
            d["totalShareStatistics"]["impressionCount"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 1000);

    // A raw URN inside List() is not valid Rest.li 2.0.
    let raw = send(rest(
        &fake,
        Method::GET,
        &format!(
            "organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={}&shares=List({org_urn})",
            enc(org)
        ),
        &token,
    ))
    .await;
    assert_eq!(raw.status, 400);

    let metric = |q: &str| {
        rest(
            &fake,
            Method::GET,
            &format!(
                "memberCreatorPostAnalytics?q=entity&entity=(share:{})&queryType={q}&aggregation=TOTAL",
                enc(&my_urn)
            ),
            &token,
        )
    };
    let r = send(metric("IMPRESSION")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["elements"][0]["count"], 200);
    assert_eq!(
        r.body["elements"][0]["targetEntity"]["share"],
        my_urn.as_str()
    );
    assert_eq!(
        send(metric("MEMBERS_REACHED")).await.body["elements"][0]["count"],
        150
    );
    assert_eq!(
        send(metric("REACTION")).await.body["elements"][0]["count"],
        3
    );
    assert_eq!(
        send(metric("COMMENT")).await.body["elements"][0]["count"],
        2
    );
    assert_eq!(
        send(metric("RESHARE")).await.body["elements"][0]["count"],
        1
    );

    let me_total = send(rest(
        &fake,
        Method::GET,
        "memberCreatorPostAnalytics?q=me&queryType=IMPRESSION&aggregation=TOTAL",
        &token,
    ))
    .await;
    assert_eq!(me_total.body["elements"][0]["count"], 200);

    let social = send(rest(
        &fake,
        Method::GET,
        &format!("socialMetadata/{}", enc(&my_urn)),
        &token,
    ))
    .await;
    assert_eq!(social.status, 200, "{:?}", social.body);
    assert_eq!(social.body["reactionSummaries"]["LIKE"]["count"], 3);
    assert_eq!(social.body["commentSummary"]["count"], 2);

    let no_scope = fake.seed_member("y", "Y", &["w_member_social"]);
    let r = send(rest(
        &fake,
        Method::GET,
        "memberCreatorPostAnalytics?q=me&queryType=IMPRESSION",
        &no_scope,
    ))
    .await;
    assert_eq!(r.status, 403);
}

// ---- webhooks and the loud catch-all ----------------------------------------------------------

#[tokio::test]
async fn webhook_signatures_use_the_prefixed_string_to_sign() {
    let fake = LinkedInFake::start().await;
    let sig = fake.sign_webhook(b"{\"type\":\"X\"}");
    assert_eq!(sig.len(), 64);
    assert!(
        sig.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(sig, fake.sign_webhook(b"{\"type\":\"Y\"}"));
    assert_eq!(fake.challenge_response("abc").len(), 64);
}

#[tokio::test]
#[should_panic(expected = "requests matched no fake route")]
async fn unknown_linkedin_routes_are_loud() {
    let fake = LinkedInFake::start().await;
    let token = member(&fake);
    let r = send(rest(&fake, Method::GET, "somethingElse", &token)).await;
    assert_eq!(r.status, 421);
    assert_eq!(
        fake.server().unmatched(),
        vec!["GET /rest/somethingElse".to_owned()]
    );
    drop(fake); // panics
}

#[tokio::test]
async fn a_reset_after_a_part_upload_leaves_the_part_uploaded_and_a_resend_is_idempotent() {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        video_part_size: 4,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = member(&fake);
    let init = send(
        rest(
            &fake,
            Method::POST,
            "videos?action=initializeUpload",
            &token,
        )
        .json(&json!({
            "initializeUploadRequest": {"owner": ME_URN, "fileSizeBytes": 8}
        })),
    )
    .await;
    let url = init.body["value"]["uploadInstructions"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.server().faults().inject(
        "PUT",
        "/dms-uploads/video",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    assert!(
        Client::new()
            .put(&url)
            .body(vec![1, 2, 3, 4])
            .send()
            .await
            .is_err()
    );
    assert_eq!(fake.videos()[0].uploaded_parts, 1);
    let again = send(Client::new().put(&url).body(vec![1, 2, 3, 4])).await;
    assert_eq!(again.status, 200);
    let v = &fake.videos()[0];
    assert_eq!((v.uploaded_parts, v.uploaded_bytes), (1, 4));
    assert_eq!(v.checksum, upload_checksum(&[1, 2, 3, 4]));
}
