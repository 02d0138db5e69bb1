//! Tests of the Mailchimp fake, driven with plain reqwest as a connector would drive Mailchimp.

use std::time::Duration;

use postd_core::reqwest::Client;
use serde_json::{Value, json};

use super::*;
use crate::conformance::PlatformFake;
use crate::{Fault, Timing};

const REDIRECT: &str = "https://app.example/oauth/mailchimp/callback";

async fn call(
    fake: &MailchimpFake,
    method: &str,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = Client::new();
    let url = format!("{}/3.0{path}", fake.uri());
    let mut req = match method {
        "GET" => client.get(url),
        "PUT" => client.put(url),
        "PATCH" => client.patch(url),
        "DELETE" => client.delete(url),
        _ => client.post(url),
    }
    .basic_auth("anystring", Some(key));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An account with a key and an audience of two subscribed members.
fn seeded(fake: &MailchimpFake) -> (String, String, String) {
    let account = fake.seed_account("Acme");
    let key = fake.seed_api_key(&account);
    let list = fake.seed_list(&account, "Newsletter", "Acme", "news@acme.example");
    fake.seed_member(&list, "a@example.com", "subscribed");
    fake.seed_member(&list, "b@example.com", "subscribed");
    (account, key, list)
}

/// A campaign ready to send; returns its id.
async fn ready_campaign(fake: &MailchimpFake, key: &str, list: &str) -> String {
    let (s, c) = call(
        fake,
        "POST",
        "/campaigns",
        key,
        Some(json!({
            "type": "regular",
            "recipients": {"list_id": list},
            "settings": {"subject_line": "Spring news", "title": "Spring [postd:1]", "from_name": "Acme", "reply_to": "news@acme.example"}
        })),
    )
    .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("save")), "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, _) = call(
        fake,
        "PUT",
        &format!("/campaigns/{id}/content"),
        key,
        Some(json!({"html": "<p>Hi</p>"})),
    )
    .await;
    assert_eq!(s, 200);
    id
}

#[tokio::test]
async fn api_keys_work_only_in_their_data_center() {
    let fake = MailchimpFake::start().await;
    let (account, key, _) = seeded(&fake);
    let (s, b) = call(&fake, "GET", "/ping", &key, None).await;
    assert_eq!(
        (s, b),
        (200, json!({"health_status": "Everything's Chimpy!"}))
    );
    let other = fake.seed_api_key_for_dc(&account, "us1");
    let (s, b) = call(&fake, "GET", "/ping", &other, None).await;
    assert_eq!(
        (s, b["title"].as_str(), b["detail"].as_str()),
        (401, Some("API Key Invalid"), Some(API_KEY_INVALID_DETAIL))
    );
    assert_eq!(b["type"], ERROR_TYPE);
    assert!(b["instance"].as_str().is_some_and(|i| !i.is_empty()));
    fake.revoke_key(&key);
    assert_eq!(call(&fake, "GET", "/ping", &key, None).await.0, 401);
    let resp = Client::new()
        .get(format!("{}/3.0/ping", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["title"], "API Key Missing");

    let forbidding = MailchimpFake::start_with(MailchimpFakeConfig {
        wrong_dc_forbidden: true,
        ..Default::default()
    })
    .await;
    let a = forbidding.seed_account("Acme");
    let k = forbidding.seed_api_key_for_dc(&a, "us1");
    let (s, b) = call(&forbidding, "GET", "/", &k, None).await;
    assert_eq!((s, b["title"].as_str()), (403, Some("Wrong Datacenter")));
}

#[tokio::test]
async fn oauth_codes_give_tokens_that_never_expire_and_metadata_names_the_dc() {
    let fake = MailchimpFake::start().await;
    let account = fake.seed_account("Acme Shop");
    let code = fake.issue_code(&account, REDIRECT);
    let c = &fake.config;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_str()),
        ("redirect_uri", REDIRECT),
        ("code", code.as_str()),
    ];
    let token_url = format!("{}/oauth2/token", fake.uri());
    let resp = Client::new()
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let t: Value = resp.json().await.unwrap();
    assert_eq!(
        (t["expires_in"].as_i64(), t["scope"].is_null()),
        (Some(0), true)
    );
    let token = t["access_token"].as_str().unwrap().to_owned();
    let again = Client::new()
        .post(&token_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let meta = |token: String| {
        let url = format!("{}/oauth2/metadata", fake.uri());
        async move {
            Client::new()
                .get(url)
                .header("authorization", format!("OAuth {token}"))
                .send()
                .await
                .unwrap()
        }
    };
    let m: Value = meta(token.clone()).await.json().await.unwrap();
    assert_eq!(
        (m["dc"].as_str(), m["api_endpoint"].as_str()),
        (Some("us6"), Some("https://us6.api.mailchimp.com"))
    );
    assert_eq!(m["accountname"], "Acme Shop");
    assert!(m["login"]["login_email"].is_string());
    let me = Client::new()
        .get(format!("{}/3.0/", fake.uri()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.json::<Value>().await.unwrap()["account_id"],
        account.as_str()
    );
    fake.revoke_token(&token);
    let dead = meta(token.clone()).await;
    assert_eq!(dead.status(), 401);
    assert_eq!(
        dead.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );
}

#[tokio::test]
async fn audiences_count_subscribed_members_and_list_segments() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    fake.seed_member(&list, "gone@example.com", "unsubscribed");
    let seg = fake.seed_segment(&list, "VIP", &["a@example.com"]);
    let (s, b) = call(
        &fake,
        "GET",
        "/lists?fields=lists.id,lists.stats.member_count,total_items",
        &key,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"lists": [{"id": list, "stats": {"member_count": 2}}], "total_items": 1})
    );
    let (_, l) = call(&fake, "GET", &format!("/lists/{list}"), &key, None).await;
    assert_eq!(
        (
            l["stats"]["unsubscribe_count"].as_u64(),
            l["campaign_defaults"]["from_email"].as_str()
        ),
        (Some(1), Some("news@acme.example"))
    );
    let (_, segs) = call(&fake, "GET", &format!("/lists/{list}/segments"), &key, None).await;
    assert_eq!(segs["segments"][0]["id"], seg);
    assert_eq!(segs["segments"][0]["member_count"], 1);
    assert_eq!(call(&fake, "GET", "/lists/nope", &key, None).await.0, 404);
}

#[tokio::test]
async fn members_upsert_by_hash_and_refuse_silent_resubscription() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    let email = "New.Reader@Example.com";
    let hash = subscriber_hash(email);
    let path = format!("/lists/{list}/members/{hash}");
    let (s, b) = call(
        &fake,
        "PUT",
        &path,
        &key,
        Some(json!({"email_address": email})),
    )
    .await;
    assert_eq!(
        (s, b["errors"][0]["field"].as_str()),
        (400, Some("status_if_new"))
    );
    let (s, m) = call(
        &fake,
        "PUT",
        &path,
        &key,
        Some(json!({"email_address": email, "status_if_new": "subscribed"})),
    )
    .await;
    assert_eq!(
        (s, m["id"].as_str(), m["status"].as_str()),
        (200, Some(hash.as_str()), Some("subscribed"))
    );
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/lists/{list}/members"),
        &key,
        Some(json!({"email_address": email, "status": "subscribed"})),
    )
    .await;
    assert_eq!((s, b["title"].as_str()), (400, Some("Member Exists")));
    let (s, _) = call(
        &fake,
        "PATCH",
        &path,
        &key,
        Some(json!({"status": "unsubscribed"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &fake,
        "PUT",
        &path,
        &key,
        Some(json!({"email_address": email, "status": "subscribed"})),
    )
    .await;
    assert_eq!(
        (s, b["title"].as_str()),
        (400, Some("Member In Compliance State"))
    );
    let (s, b) = call(
        &fake,
        "PATCH",
        &path,
        &key,
        Some(json!({"status": "pending"})),
    )
    .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("pending")));
    let (s, _) = call(
        &fake,
        "POST",
        &format!("{path}/tags"),
        &key,
        Some(json!({"tags": [{"name": "VIP", "status": "active"}]})),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(fake.member(&list, email).unwrap().tags, ["VIP"]);
    assert_eq!(call(&fake, "DELETE", &path, &key, None).await.0, 204);
    assert_eq!(fake.member(&list, email).unwrap().status, "archived");
    let (s, _) = call(
        &fake,
        "POST",
        &format!("{path}/actions/delete-permanent"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/lists/{list}/members"),
        &key,
        Some(json!({"email_address": email, "status": "pending"})),
    )
    .await;
    assert_eq!(
        (s, b["title"].as_str()),
        (400, Some("Forgotten Email Not Subscribed"))
    );
    assert_eq!(call(&fake, "GET", &path, &key, None).await.0, 404);
}

#[tokio::test]
async fn the_checklist_blocks_a_send_until_the_campaign_is_ready() {
    let fake = MailchimpFake::start().await;
    let (account, key, list) = seeded(&fake);
    let (_, c) = call(
        &fake,
        "POST",
        "/campaigns",
        &key,
        Some(json!({"type": "regular", "recipients": {"list_id": list}})),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (_, cl) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}/send-checklist"),
        &key,
        None,
    )
    .await;
    assert_eq!(cl["is_ready"], false);
    let errors: Vec<&str> = cl["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "error")
        .map(|i| i["heading"].as_str().unwrap())
        .collect();
    assert_eq!(
        errors,
        ["Subject Line", "From Name", "From Email", "Content"]
    );
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/campaigns/{id}/actions/send"),
        &key,
        None,
    )
    .await;
    assert_eq!((s, b["detail"].as_str()), (400, Some(NOT_READY_DETAIL)));
    assert_eq!(b["errors"].as_array().unwrap().len(), 4);
    assert_eq!(fake.sends(&id), 0);

    fake.set_domain_verified(&account, "acme.example", false);
    let id = ready_campaign(&fake, &key, &list).await;
    let (_, cl) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}/send-checklist"),
        &key,
        None,
    )
    .await;
    assert_eq!(cl["is_ready"], false, "{cl}");
    fake.set_domain_verified(&account, "acme.example", true);
    let seg = fake.seed_segment(&list, "Nobody", &[]);
    call(
        &fake,
        "PATCH",
        &format!("/campaigns/{id}"),
        &key,
        Some(json!({"recipients": {"segment_opts": {"saved_segment_id": seg}}})),
    )
    .await;
    let (_, cl) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}/send-checklist"),
        &key,
        None,
    )
    .await;
    assert_eq!(cl["items"][1]["heading"], "Recipients");
    assert_eq!(cl["items"][1]["type"], "error");
    fake.set_segment_processing(seg, true);
    let (_, cl) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}/send-checklist"),
        &key,
        None,
    )
    .await;
    assert_eq!(cl["items"][1]["heading"], "Segment");
}

#[tokio::test]
async fn a_send_moves_to_sending_then_sent_and_fills_the_report() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    let id = ready_campaign(&fake, &key, &list).await;
    assert_eq!(
        call(&fake, "GET", &format!("/reports/{id}"), &key, None)
            .await
            .0,
        404
    );
    let (_, cl) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}/send-checklist"),
        &key,
        None,
    )
    .await;
    assert_eq!(cl["is_ready"], true, "{cl}");
    let (s, _) = call(
        &fake,
        "POST",
        &format!("/campaigns/{id}/actions/test"),
        &key,
        Some(json!({"test_emails": ["qa@acme.example"], "send_type": "html"})),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(fake.sends(&id), 0);
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/campaigns/{id}/actions/send"),
        &key,
        None,
    )
    .await;
    assert_eq!((s, b), (204, Value::Null));
    let (_, c) = call(
        &fake,
        "GET",
        &format!("/campaigns/{id}?fields=id,status,emails_sent"),
        &key,
        None,
    )
    .await;
    assert_eq!(c, json!({"id": id, "status": "sending", "emails_sent": 2}));
    fake.set_report(
        &id,
        MailchimpReport {
            opens_total: 5,
            unique_opens: 1,
            clicks_total: 2,
            unique_clicks: 1,
            ..Default::default()
        },
    );
    let (_, r) = call(&fake, "GET", &format!("/reports/{id}"), &key, None).await;
    assert_eq!(
        (
            r["emails_sent"].as_u64(),
            r["opens"]["opens_total"].as_u64()
        ),
        (Some(2), Some(0))
    );
    fake.advance_time(61);
    let (_, c) = call(
        &fake,
        "GET",
        &format!("/campaigns?status=sent&list_id={list}"),
        &key,
        None,
    )
    .await;
    assert_eq!(c["campaigns"][0]["id"], id.as_str());
    let (_, r) = call(&fake, "GET", &format!("/reports/{id}"), &key, None).await;
    assert_eq!(
        (
            r["opens"]["opens_total"].as_u64(),
            r["opens"]["open_rate"].as_f64()
        ),
        (Some(5), Some(0.5))
    );
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/campaigns/{id}/actions/send"),
        &key,
        None,
    )
    .await;
    assert_eq!((s, b["title"].as_str()), (400, Some("Bad Request")));
    assert_eq!(fake.sends(&id), 1);
}

#[tokio::test]
async fn a_lost_send_answer_retried_counts_exactly_one_send() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    let id = ready_campaign(&fake, &key, &list).await;
    fake.server().faults().inject(
        "POST",
        "/actions/send",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    let url = format!("{}/3.0/campaigns/{id}/actions/send", fake.uri());
    let lost = Client::new()
        .post(&url)
        .basic_auth("u", Some(&key))
        .send()
        .await;
    assert!(lost.is_err(), "the answer should be lost: {lost:?}");
    assert_eq!(fake.sends(&id), 1);
    let (s, b) = call(
        &fake,
        "POST",
        &format!("/campaigns/{id}/actions/send"),
        &key,
        None,
    )
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(fake.sends(&id), 1);
    assert_eq!(
        fake.post_ids(&postd_core::Target::new(
            postd_core::TargetKind::MailchimpAudience,
            list.as_str()
        )),
        [id]
    );
}

#[tokio::test]
async fn schedules_land_on_quarter_hours_and_send_at_their_time() {
    let fake = MailchimpFake::start().await;
    let (account, key, list) = seeded(&fake);
    let id = ready_campaign(&fake, &key, &list).await;
    let base = (fake.now() / 900 + 2) * 900;
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
    let path = format!("/campaigns/{id}/actions/schedule");
    let (s, b) = call(
        &fake,
        "POST",
        &path,
        &key,
        Some(json!({"schedule_time": at(base + 420)})),
    )
    .await;
    assert_eq!((s, b["detail"].as_str()), (400, Some(QUARTER_HOUR_DETAIL)));
    let (s, _) = call(&fake, "POST", &path, &key, Some(json!({"schedule_time": at(base), "timewarp": true, "batch_delivery": {"batch_delay": 5, "batch_count": 2}}))).await;
    assert_eq!(s, 400);
    fake.set_paid_plan(&account, false);
    assert_eq!(
        call(
            &fake,
            "POST",
            &path,
            &key,
            Some(json!({"schedule_time": at(base)}))
        )
        .await
        .0,
        400
    );
    fake.set_paid_plan(&account, true);
    assert_eq!(
        call(
            &fake,
            "POST",
            &path,
            &key,
            Some(json!({"schedule_time": at(base)}))
        )
        .await
        .0,
        204
    );
    assert_eq!(fake.campaign(&id).unwrap().status, "schedule");
    assert_eq!(
        call(
            &fake,
            "POST",
            &path,
            &key,
            Some(json!({"schedule_time": at(base)}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/campaigns/{id}/actions/unschedule"),
            &key,
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(fake.campaign(&id).unwrap().status, "save");
    assert_eq!(
        call(
            &fake,
            "POST",
            &format!("/campaigns/{id}/actions/unschedule"),
            &key,
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
            &path,
            &key,
            Some(json!({"schedule_time": at(base)}))
        )
        .await
        .0,
        204
    );
    fake.advance_time(base - fake.now() + 1);
    let c = fake.campaign(&id).unwrap();
    assert_eq!(
        (c.status.as_str(), c.send_time, c.sends),
        ("sending", Some(base), 1)
    );
    fake.advance_time(60);
    assert_eq!(fake.campaign(&id).unwrap().status, "sent");
}

#[tokio::test]
async fn more_than_ten_connections_per_key_answer_429() {
    let fake = MailchimpFake::start_with(MailchimpFakeConfig {
        response_delay: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let (_, key, _) = seeded(&fake);
    let calls = (0..14).map(|_| {
        let url = format!("{}/3.0/ping", fake.uri());
        let key = key.clone();
        async move {
            Client::new()
                .get(url)
                .basic_auth("u", Some(key))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_join(calls).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 4);
    assert_eq!(fake.max_in_flight(&key), 10);
    tokio::time::sleep(Duration::from_millis(450)).await;
    fake.throttle(&key, true);
    let (s, b) = call(&fake, "GET", "/ping", &key, None).await;
    assert_eq!(
        (s, b["title"].as_str(), b["detail"].as_str()),
        (
            429,
            Some("Too Many Requests"),
            Some(TOO_MANY_REQUESTS_DETAIL)
        )
    );
    fake.throttle(&key, false);
    assert_eq!(call(&fake, "GET", "/ping", &key, None).await.0, 200);
}

async fn futures_join<F: std::future::Future<Output = u16> + Send + 'static>(
    calls: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn batches_advance_over_fake_time_and_run_their_operations() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    let body = json!({"email_address": "batch@example.com", "status": "subscribed"}).to_string();
    let ops = json!({"operations": [
        {"method": "POST", "path": format!("/lists/{list}/members"), "body": body, "operation_id": "add"},
        {"method": "GET", "path": "/lists/nope", "operation_id": "missing"}
    ]});
    let (s, b) = call(&fake, "POST", "/batches", &key, Some(ops)).await;
    assert_eq!(
        (s, b["status"].as_str(), b["total_operations"].as_u64()),
        (200, Some("pending"), Some(2))
    );
    let id = b["id"].as_str().unwrap().to_owned();
    let mut seen = Vec::new();
    for _ in 0..5 {
        let (_, b) = call(&fake, "GET", &format!("/batches/{id}"), &key, None).await;
        seen.push(b["status"].as_str().unwrap().to_owned());
        fake.advance_time(5);
    }
    assert_eq!(
        seen,
        [
            "pending",
            "preprocessing",
            "started",
            "finalizing",
            "finished"
        ]
    );
    let (_, b) = call(&fake, "GET", &format!("/batches/{id}"), &key, None).await;
    assert_eq!(
        (
            b["finished_operations"].as_u64(),
            b["errored_operations"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let results = fake.batch_results(&id).unwrap();
    assert_eq!((results[0].status_code, results[1].status_code), (200, 404));
    assert_eq!(
        fake.member(&list, "batch@example.com").unwrap().status,
        "subscribed"
    );
}

#[tokio::test]
async fn list_webhooks_are_validated_stored_and_fed() {
    let fake = MailchimpFake::start().await;
    let (_, key, list) = seeded(&fake);
    let path = format!("/lists/{list}/webhooks");
    fake.set_url_reachable("https://down.example/hook", false);
    let (s, b) = call(
        &fake,
        "POST",
        &path,
        &key,
        Some(json!({"url": "https://down.example/hook"})),
    )
    .await;
    assert_eq!((s, b["errors"][0]["field"].as_str()), (400, Some("url")));
    let url = "https://hooks.example/mailchimp/secret";
    let (s, w) = call(
        &fake,
        "POST",
        &path,
        &key,
        Some(json!({"url": url, "sources": {"api": true}})),
    )
    .await;
    assert_eq!(
        (
            s,
            w["events"]["campaign"].as_bool(),
            w["sources"]["api"].as_bool()
        ),
        (200, Some(true), Some(true))
    );
    assert_eq!(
        fake.webhook_validations(),
        ["https://down.example/hook", url]
    );
    let (_, all) = call(&fake, "GET", &path, &key, None).await;
    assert_eq!(all["total_items"], 1);
    call(&fake, "POST", &format!("/lists/{list}/members"), &key, Some(json!({"email_address": "hooked@example.com", "status": "subscribed", "merge_fields": {"FNAME": "Ada"}}))).await;
    let d = fake.deliveries();
    assert_eq!(
        (d.len(), d[0].kind.as_str(), d[0].url.as_str()),
        (1, "subscribe", url)
    );
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&d[0].body)
        .into_owned()
        .collect();
    assert_eq!(
        (
            form["type"].as_str(),
            form["data[email]"].as_str(),
            form["data[merges][FNAME]"].as_str()
        ),
        ("subscribe", "hooked@example.com", "Ada")
    );
    assert_eq!(form["data[list_id]"], list);
    let id = w["id"].as_str().unwrap();
    assert_eq!(
        call(&fake, "DELETE", &format!("{path}/{id}"), &key, None)
            .await
            .0,
        204
    );
    assert!(fake.webhooks(&list).is_empty());
}

#[tokio::test]
async fn the_conformance_seed_publishes_through_oauth() {
    let fake = MailchimpFake::start_with(MailchimpFakeConfig {
        sending_gets: Some(1),
        ..Default::default()
    })
    .await;
    let seeded = fake.seed(postd_core::TargetKind::MailchimpAudience, Some("CANARY"));
    let postd_core::Credentials::OAuth(t) = &seeded.credentials else {
        panic!("not OAuth")
    };
    use postd_core::secrecy::ExposeSecret;
    let token = t.access_token.expose_secret().to_owned();
    assert!(token.starts_with("CANARY"));
    let url = format!("{}/3.0/campaigns", fake.uri());
    let c: Value = Client::new().post(&url).bearer_auth(&token).json(&json!({
        "type": "regular", "recipients": {"list_id": seeded.target.id},
        "settings": {"subject_line": "Hi", "from_name": "POSTD", "reply_to": "news@postd.example"}
    })).send().await.unwrap().json().await.unwrap();
    let id = c["id"].as_str().unwrap();
    Client::new()
        .put(format!("{url}/{id}/content"))
        .bearer_auth(&token)
        .json(&json!({"html": "<p>x</p>"}))
        .send()
        .await
        .unwrap();
    let s = Client::new()
        .post(format!("{url}/{id}/actions/send"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(s, 204);
    assert_eq!(fake.post_ids(&seeded.target), [id]);
    let got: Value = Client::new()
        .get(format!("{url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "sent");
    assert!(
        fake.create_route(&seeded.target)
            .matches(&crate::conformance::Received::new(
                "POST",
                format!("{url}/{id}/actions/send").parse().unwrap()
            ))
    );
    assert_eq!(
        fake.throttle_account(&seeded, true),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    fake.throttle_account(&seeded, false);
    let body = fake.webhook_deliveries().remove(0);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .starts_with("type=subscribe&fired_at=")
    );
}

#[tokio::test]
async fn unknown_routes_fail_loudly_and_requests_are_logged() {
    let fake = MailchimpFake::start().await;
    let (_, key, _) = seeded(&fake);
    let (s, _) = call(&fake, "GET", "/automations?count=1", &key, None).await;
    assert_eq!(s, 421);
    assert_eq!(fake.server().unmatched(), ["GET /3.0/automations"]);
    assert_eq!(fake.requests(), ["GET /3.0/automations?count=1"]);
    // The unmatched request would fail the test when the server drops: that is the point.
    std::mem::forget(fake);
}
