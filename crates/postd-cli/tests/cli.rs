//! `postd` end to end: the built binary against the Meta and LinkedIn fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_testkit::{Fault, Timing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_meta_seals_the_tokens_and_lists_the_page_and_its_instagram_account() {
    let env = Env::new("connect").await;
    let (user, page, ig) = env.seed_meta(1);
    let connecting = env.start_connect("meta", "main").await;
    assert!(
        connecting.addr.starts_with("127.0.0.1:"),
        "{}",
        connecting.addr
    );
    assert_eq!(
        connecting.redirect_uri,
        format!("http://{}/callback", connecting.addr)
    );
    assert!(
        connecting.url.path().ends_with("/dialog/oauth"),
        "{}",
        connecting.url
    );

    // A stray request (a favicon) is answered and the listener keeps waiting.
    let (status, _) = get(&connecting.addr, "/favicon.ico").await;
    assert_eq!(status, 404);

    let code = env.meta.issue_code(&user, &connecting.redirect_uri);
    let (status, page_html) = connecting
        .callback(&format!("code={code}&state={}", connecting.state))
        .await;
    assert_eq!(status, 200);
    assert!(
        page_html.contains("acme/main is connected with 2 targets"),
        "{page_html}"
    );
    let out = connecting.finish().await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let connected = out.json();
    assert_eq!(connected["tenant"], "acme");
    assert_eq!(connected["account"], "main");
    assert_eq!(connected["platform"], "meta");
    assert_eq!(connected["app"], "default");
    let targets = connected["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{connected}");
    assert_eq!(targets[0]["kind"], "facebook_page");
    assert_eq!(targets[0]["id"], page.as_str());
    assert_eq!(targets[1]["kind"], "instagram_account");
    assert_eq!(targets[1]["id"], ig.as_str());
    assert_eq!(targets[1]["parent_id"], page.as_str());
    assert!(
        !out.stdout.contains(&env.meta.page_token(&page).unwrap()),
        "no token is printed"
    );

    let accounts = env.json(&["accounts"]).await;
    let accounts = accounts.as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    let a = &accounts[0];
    assert_eq!(a["tenant"], "acme");
    assert_eq!(a["account"], "main");
    assert_eq!(a["platform"], "meta");
    assert_eq!(a["app"], "default");
    assert_eq!(a["status"], "active");
    assert!(
        a["expires_at"].is_string(),
        "a long-lived token has an expiry: {a}"
    );
    assert!(a["reauth_deadline"].is_string(), "data access expires: {a}");
    assert_eq!(a["targets"].as_array().unwrap().len(), 2);

    let table = env.run(&["accounts", "--tenant", "acme"]).await;
    assert_eq!(table.code, Some(0), "{table:?}");
    assert!(table.stdout.starts_with("TENANT"), "{table:?}");
    assert!(table.stdout.contains("acme    main     meta"), "{table:?}");
    let other = env.json(&["accounts", "--tenant", "globex"]).await;
    assert_eq!(other, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_the_wrong_state_is_refused_and_nothing_is_stored() {
    let env = Env::new("bad-state").await;
    let (user, _, _) = env.seed_meta(1);
    let connecting = env.start_connect("meta", "main").await;
    let code = env.meta.issue_code(&user, &connecting.redirect_uri);
    let (status, html) = connecting
        .callback(&format!("code={code}&state=forged-state"))
        .await;
    assert_eq!(status, 400);
    assert!(html.contains("state does not match"), "{html}");
    let out = connecting.finish().await;
    let line = out.one_line_error();
    assert!(line.contains("state does not match"), "{line}");
    assert!(line.contains("nothing was stored"), "{line}");
    assert_eq!(env.json(&["accounts"]).await, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_that_says_the_user_declined_is_a_clear_error() {
    let env = Env::new("declined").await;
    let connecting = env.start_connect("meta", "main").await;
    let (status, _) = connecting
        .callback(&format!(
            "error=access_denied&error_description=Permissions+error&state={}",
            connecting.state
        ))
        .await;
    assert_eq!(status, 400);
    let line = connecting.finish().await.one_line_error();
    assert!(
        line.contains("did not authorize the account (access_denied: Permissions error)"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_linkedin_stores_the_member_as_a_target() {
    let env = Env::new("linkedin").await;
    let connecting = env.start_connect("linkedin", "li").await;
    let code = env.linkedin.issue_code(
        "member7",
        &connecting.redirect_uri,
        &["openid", "profile", "w_member_social"],
    );
    let (status, _) = connecting
        .callback(&format!("code={code}&state={}", connecting.state))
        .await;
    assert_eq!(status, 200);
    let out = connecting.finish().await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let targets = out.json()["targets"].clone();
    assert_eq!(targets[0]["kind"], "linked_in_person", "{targets}");
    assert_eq!(targets[0]["id"], "urn:li:person:member7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_post_is_published_by_the_worker_and_shows_as_published() {
    let env = Env::new("publish").await;
    let (page, _) = env.connect_meta("main", 1).await;
    let to = format!("acme/main/facebook_page:{page}");

    let scheduled = env
        .json(&[
            "schedule",
            "--ref",
            "launch-1",
            "--text",
            "We shipped",
            "--to",
            &to,
        ])
        .await;
    assert_eq!(scheduled["post"], "launch-1");
    let d = &scheduled["deliveries"][0];
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["to"]["target"]["id"], page.as_str());
    assert_eq!(
        d["to"]["target"]["name"], "Bakery",
        "the stored target is used"
    );
    assert_eq!(d["native"], false);
    assert_eq!(d["duplicate"], false);
    assert!(d["run_at"].is_string());

    let again = env
        .run(&[
            "schedule",
            "--ref",
            "launch-1",
            "--text",
            "We shipped",
            "--to",
            &to,
        ])
        .await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains("(0 new)"), "{again:?}");
    let label = format!("acme/main/facebook_page:{page}");
    assert!(
        again
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{id} ")) && l.contains(&label) && l.ends_with("yes")),
        "the same delivery, a duplicate: {again:?}"
    );

    let report = env.json(FAST_WORKER).await;
    assert_eq!(report["published"], 1, "{report}");
    assert_eq!(report["dead"], 0, "{report}");

    let posts = env.meta.facebook_posts(&page);
    assert_eq!(posts.len(), 1, "published once");
    assert_eq!(posts[0].message.as_deref(), Some("We shipped"));

    let status = env.json(&["status", "launch-1"]).await;
    let d = &status["deliveries"][0];
    assert_eq!(d["id"], id);
    assert_eq!(d["state"], "published");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["published"]["id"], posts[0].id.as_str());

    let table = env.run(&["status", "launch-1"]).await;
    assert_eq!(table.code, Some(0), "{table:?}");
    assert!(table.stdout.contains("published"), "{table:?}");
    assert!(table.stdout.contains(&posts[0].id), "{table:?}");

    assert_eq!(env.json(&["dead", "list"]).await, serde_json::json!([]));
    let empty = env.run(&["dead", "list"]).await;
    assert_eq!(empty.stdout, "the dead-letter queue is empty\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_dead_with_its_error_and_a_replay_publishes_it() {
    let env = Env::new("dead").await;
    let (page, _) = env.connect_meta("main", 1).await;
    env.meta.server().faults().inject(
        "POST",
        "/feed",
        Fault::status_with_body(
            400,
            r#"{"error":{"message":"(#200) The user hasn't authorized the application to perform this action","type":"OAuthException","code":200}}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    let to = format!("acme/main/facebook_page:{page}");
    env.json(&[
        "schedule", "--ref", "denied-1", "--text", "hello", "--to", &to,
    ])
    .await;
    let report = env.json(FAST_WORKER).await;
    assert_eq!(report["dead"], 1, "{report}");
    assert!(env.meta.facebook_posts(&page).is_empty());

    let dead = env.json(&["dead", "list"]).await;
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let id = dead[0]["id"].as_i64().unwrap();
    assert_eq!(dead[0]["post"], "denied-1");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], 1, "a permanent error is not retried");
    assert!(
        dead[0]["dead_reason"]
            .as_str()
            .unwrap()
            .contains("permanent")
    );

    let shown = env.json(&["dead", "show", &id.to_string()]).await;
    let errors = shown["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["kind"], "permission_denied");
    assert_eq!(errors[0]["attempt"], 1);
    assert_eq!(errors[0]["status"], 400);
    let text = env.run(&["dead", "show", &id.to_string()]).await;
    assert_eq!(text.code, Some(0), "{text:?}");
    assert!(text.stdout.contains("state        dead"), "{text:?}");
    assert!(text.stdout.contains("permission_denied"), "{text:?}");

    let status = env.json(&["status", "denied-1"]).await;
    assert_eq!(status["deliveries"][0]["state"], "dead");

    let replayed = env.json(&["dead", "replay", &id.to_string()]).await;
    assert_eq!(replayed["id"], id);
    assert_eq!(
        replayed["state"], "failed",
        "back in the queue, history kept"
    );
    assert_eq!(env.json(&["dead", "list"]).await, serde_json::json!([]));

    let report = env.json(FAST_WORKER).await;
    assert_eq!(report["published"], 1, "{report}");
    assert_eq!(env.meta.facebook_posts(&page).len(), 1);
    let status = env.json(&["status", "denied-1"]).await;
    assert_eq!(status["deliveries"][0]["state"], "published");

    let again = env.run(&["dead", "replay", &id.to_string()]).await;
    let line = again.one_line_error();
    assert!(line.contains("not in the dead-letter queue"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_reschedule_change_a_post_that_waits_for_its_time() {
    let env = Env::new("cancel").await;
    let (_, ig) = env.connect_meta("main", 1).await;
    let to = format!("acme/main/instagram_account:{ig}");
    let scheduled = env
        .json(&[
            "schedule",
            "--ref",
            "later-1",
            "--text",
            "soon",
            "--media",
            "image:https://cdn.example/a.jpg",
            "--at",
            "2099-01-01T09:00:00+01:00",
            "--to",
            &to,
        ])
        .await;
    assert_eq!(scheduled["deliveries"][0]["run_at"], "2099-01-01T08:00:00Z");
    let moved = env
        .json(&["reschedule", "later-1", "--at", "2099-02-01T00:00:00Z"])
        .await;
    assert_eq!(moved["moved"].as_array().unwrap().len(), 1, "{moved}");
    let status = env.json(&["status", "later-1"]).await;
    assert_eq!(
        status["deliveries"][0]["next_run_at"],
        "2099-02-01T00:00:00Z"
    );
    let cancelled = env.json(&["cancel", "later-1"]).await;
    assert_eq!(cancelled["cancelled"], 1);
    let status = env.json(&["status", "later-1"]).await;
    assert_eq!(status["deliveries"][0]["state"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_stops_gracefully_on_sigterm_and_prints_its_report() {
    let env = Env::new("sigterm").await;
    let mut child = env
        .command(&["--json", "worker", "--idle-poll-ms", "20"])
        .spawn()
        .unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stderr.take().unwrap()));
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.contains("running"), "{first}");
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = finish(child).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    let report = out.json();
    assert_eq!(report["published"], 0);
    assert_eq!(report["abandoned"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_postd_vault_keys_postd_stops_with_one_line_naming_the_variable() {
    let mut env = Env::new("no-keys").await;
    env.without("POSTD_VAULT_KEYS");
    for args in [
        &["status", "launch-1"][..],
        &["worker", "--until-idle"][..],
        &["accounts"][..],
    ] {
        let line = env.run(args).await.one_line_error();
        assert!(
            line.contains("POSTD_VAULT_KEYS is not set"),
            "{args:?}: {line}"
        );
        assert!(
            line.contains("export POSTD_VAULT_KEYS=1:"),
            "{args:?}: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_an_unknown_post_exits_1_with_one_line() {
    let env = Env::new("unknown").await;
    let line = env.run(&["status", "launch-2"]).await.one_line_error();
    assert!(line.contains("no database at"), "before any: {line}");
    // The worker creates the database.
    assert_eq!(env.json(FAST_WORKER).await["published"], 0);
    let line = env.run(&["status", "launch-2"]).await.one_line_error();
    assert_eq!(
        line,
        "postd: no such post launch-2; check the reference (the --ref given to postd schedule)"
    );
    let line = env.run(&["dead", "show", "999"]).await.one_line_error();
    assert!(line.contains("no such delivery 999"), "{line}");
    let line = env.run(&["cancel", "launch-2"]).await.one_line_error();
    assert!(line.contains("no such post launch-2"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_refuses_an_unknown_account_a_target_it_lacks_and_a_malformed_to() {
    let env = Env::new("bad-to").await;
    let (page, _) = env.connect_meta("main", 1).await;
    let schedule_to = |to: &'static str| {
        let env = &env;
        async move {
            env.run(&["schedule", "--ref", "x", "--text", "hi", "--to", to])
                .await
        }
    };
    let line = schedule_to("acme/nobody/facebook_page:1")
        .await
        .one_line_error();
    assert!(line.contains("no account acme/nobody"), "{line}");
    let line = schedule_to("acme/main/facebook_page:999")
        .await
        .one_line_error();
    assert!(line.contains("has no target facebook_page:999"), "{line}");
    assert!(
        line.contains(&format!("facebook_page:{page}")),
        "lists what it has: {line}"
    );

    let usage = schedule_to("acme-main").await;
    assert_eq!(usage.code, Some(2), "a usage error: {usage:?}");
    assert!(
        usage
            .stderr
            .contains("TENANT/ACCOUNT/TARGET_KIND:TARGET_ID"),
        "{usage:?}"
    );
    let missing = env
        .run(&["schedule", "--text", "hi", "--to", "a/b/facebook_page:1"])
        .await;
    assert_eq!(
        missing.code,
        Some(2),
        "--ref is required with --text: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_from_a_json_file_takes_the_ref_from_the_command_line() {
    let env = Env::new("file").await;
    let (page, _) = env.connect_meta("main", 1).await;
    let file = env.dir.join("post.json");
    std::fs::write(
        &file,
        r#"{"client_ref": "from-file", "text": "From a file", "link": "https://example.com/news"}"#,
    )
    .unwrap();
    let to = format!("acme/main/facebook_page:{page}");
    let scheduled = env
        .json(&[
            "schedule",
            "--ref",
            "file-1",
            "--file",
            file.to_str().unwrap(),
            "--to",
            &to,
        ])
        .await;
    assert_eq!(scheduled["post"], "file-1");
    assert_eq!(env.json(FAST_WORKER).await["published"], 1);
    let posts = env.meta.facebook_posts(&page);
    assert_eq!(posts[0].message.as_deref(), Some("From a file"));
    assert_eq!(posts[0].link.as_deref(), Some("https://example.com/news"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_gives_up_after_its_timeout_and_says_to_run_it_again() {
    let env = Env::new("timeout").await;
    let out = env
        .run(&[
            "connect",
            "meta",
            "--tenant",
            "acme",
            "--account",
            "main",
            "--timeout",
            "0.3",
        ])
        .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let last = out.stderr.lines().last().unwrap();
    assert_eq!(
        last,
        "postd: no callback came within 0.3 s; run postd connect again (and open the URL it prints)"
    );
    assert_eq!(env.json(&["accounts"]).await, serde_json::json!([]));
}
