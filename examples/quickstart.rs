//! POSTD quickstart: the whole pipeline on a fresh machine, with no
//! credentials and no network.
//!
//! 1. Local fakes of Meta's Graph API, LinkedIn's REST API, TikTok's
//!    Content Posting API, X's API v2 and Google Business Profile's APIs
//!    start in this process (no real platform is called).
//! 2. A Meta user (a Facebook Page and its Instagram account), a LinkedIn
//!    member, a TikTok creator, an X user and a Business Profile owner (two
//!    locations) connect through the real OAuth flow
//!    against the fakes: the
//!    authorization URL with its `state`, the code the "browser" brings back,
//!    the code exchange; their tokens are sealed in a SQLite vault.
//! 3. Posts are scheduled to every target through the engine: an image post
//!    (to X as an uploaded image too), a video (to TikTok as a chunked Direct
//!    Post too), a local post with a photo by URL to both locations (Google
//!    reviews it before it is live), a text post held a few seconds in the
//!    queue, and one handed to Facebook's own scheduler for an hour from now.
//! 4. A worker runs until every delivery has ended, and a table shows each
//!    delivery, its platform post id, its latency and the dead-letter queue.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With real app credentials in the environment (`META_CLIENT_ID`, ...), it
//! lists the accounts `postd connect` stored in `POSTD_DATABASE_URL`'s vault
//! instead, and publishes a test post to them only with `QUICKSTART_PUBLISH=1`.
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use postd::config::Vars;
use postd::engine::{Connectors, DeliveryTarget, Engine, EngineConfig};
use postd::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use postd::vault::{KeyRing, TokenVault, VaultConfig};
use postd::{
    ClientRef, Connector, ConnectorManager, Media, MediaKind, Platform, Post, Target, TargetKind,
    TikTokCommercialContent, TikTokOptions, TikTokPrivacy,
};
use postd_testkit::gbp::{GbpFake, GbpFakeConfig};
use postd_testkit::linkedin::LinkedInFake;
use postd_testkit::mailchimp::{MailchimpFake, MailchimpFakeConfig};
use postd_testkit::meta::MetaFake;
use postd_testkit::tiktok::TikTokFake;
use postd_testkit::x::XFake;
use url::Url;

const TENANT: &str = "quickstart";

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    let sandbox =
        vars.optional("META_CLIENT_ID").is_none() && vars.optional("LINKEDIN_CLIENT_ID").is_none();
    if sandbox {
        sandbox_run(vars).await
    } else {
        real_run().await
    }
}

async fn sandbox_run(mut vars: Vars) -> Result<(), postd::Error> {
    println!(
        "No app credentials found: the platforms are local fakes (no real platform is called).\n"
    );
    let meta = MetaFake::start().await;
    let linkedin = LinkedInFake::start().await;
    let tiktok = TikTokFake::start().await;
    let x = XFake::start().await;
    // Google reviews a new local post for a second here.
    let gbp = GbpFake::start_with(GbpFakeConfig {
        processing_secs: 1,
        ..GbpFakeConfig::default()
    })
    .await;
    // Mailchimp's sending takes one status question here.
    let mailchimp = MailchimpFake::start_with(MailchimpFakeConfig {
        sending_gets: Some(1),
        ..MailchimpFakeConfig::default()
    })
    .await;
    for (name, value) in [
        ("MAILCHIMP_BASE_URL", mailchimp.uri()),
        ("MAILCHIMP_STATUS_POLL_SECONDS", "1".to_owned()),
        ("GOOGLE_CLIENT_ID", gbp.client_id().to_owned()),
        ("GOOGLE_CLIENT_SECRET", gbp.client_secret().to_owned()),
        ("GOOGLE_OAUTH_BASE_URL", gbp.uri()),
        ("GBP_BASE_URL", gbp.uri()),
        ("GBP_REVIEW_POLL_SECONDS", "1".to_owned()),
        ("X_CLIENT_ID", x.config().client_id.clone()),
        ("X_CLIENT_SECRET", x.config().client_secret.clone()),
        ("X_CONSUMER_SECRET", x.config().consumer_secret.clone()),
        ("X_BASE_URL", x.uri()),
        ("TIKTOK_CLIENT_KEY", tiktok.client_key().to_owned()),
        ("TIKTOK_CLIENT_SECRET", tiktok.client_secret().to_owned()),
        ("TIKTOK_BASE_URL", tiktok.uri()),
        ("TIKTOK_DIRECT_POST_AUDITED", "true".to_owned()),
        ("META_CLIENT_ID", meta.app_id().to_owned()),
        ("META_CLIENT_SECRET", meta.app_secret().to_owned()),
        ("LINKEDIN_CLIENT_ID", linkedin.client_id().to_owned()),
        (
            "LINKEDIN_CLIENT_SECRET",
            linkedin.client_secret().to_owned(),
        ),
        ("LINKEDIN_ORGANIZATIONS", "true".to_owned()),
    ] {
        vars.set(name, value);
    }
    for name in [
        "META_BASE_URL",
        "META_OAUTH_BASE_URL",
        "META_VIDEO_BASE_URL",
        "META_UPLOAD_BASE_URL",
    ] {
        vars.set(name, meta.uri());
    }
    for name in ["LINKEDIN_BASE_URL", "LINKEDIN_OAUTH_BASE_URL"] {
        vars.set(name, linkedin.uri());
    }
    let manager = ConnectorManager::builder()
        .vars(vars)
        .sandbox_defaults()
        .build()?;

    // A fresh SQLite file holds the jobs and the vault; the key is made up for this run.
    let dir = std::env::temp_dir().join(format!("postd-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    let db = dir.join("postd.db");
    let jobs = Arc::new(
        postd::queue::SqliteJobStore::open(&db)
            .await
            .map_err(postd::engine::queue_error)?,
    );
    let store = Arc::new(postd::vault::SqliteStore::open(&db).await?);
    let key: [u8; 32] = rand::random();
    let vault = TokenVault::new(
        store,
        KeyRing::from_keys([(1, key)])?,
        VaultConfig::default(),
    )
    .await?;
    let config = EngineConfig::default()
        .with_concurrency(8)
        .with_idle_poll(Duration::from_millis(50))
        .with_settle_wait(Duration::from_secs(2));
    let engine = Engine::new(
        jobs,
        vault.clone(),
        Connectors::from_manager(&manager),
        config,
    );

    // The platforms' side of a login: a user with a Page and its Instagram
    // account; a member who administers an organization.
    meta.seed_user(
        "10001",
        "Ada",
        &[
            "pages_show_list",
            "pages_read_engagement",
            "pages_manage_posts",
            "publish_video",
            "instagram_basic",
            "instagram_content_publish",
        ],
    );
    meta.seed_page("10001", "20002", "Ada's Bakery", Some("17841400000000003"));
    linkedin.seed_member(
        "782bbtaQ",
        "Ada Lovelace",
        &[
            "openid",
            "profile",
            "w_member_social",
            "r_member_social",
            "w_organization_social",
            "r_organization_social",
            "rw_organization_admin",
        ],
    );
    linkedin.seed_organization("5515715", "Analytical Engines", "782bbtaQ", "ADMINISTRATOR");

    println!(
        "Connecting accounts (OAuth with state against the fakes; tokens sealed in {}):",
        db.display()
    );
    let meta_c = manager.connector(Platform::Meta)?;
    let meta_targets = connect(&vault, meta_c.as_ref(), "meta-ada", |auth| {
        meta.issue_code("10001", auth.redirect_uri.as_str())
    })
    .await?;
    let tt_c = manager.connector(Platform::TikTok)?;
    let tt_targets = connect(&vault, tt_c.as_ref(), "tiktok-ada", |auth| {
        // TikTok checks the PKCE challenge the authorization URL carried.
        let challenge = auth
            .url
            .query_pairs()
            .find(|(k, _)| k == "code_challenge")
            .map(|(_, v)| v.into_owned());
        tiktok.issue_code(
            "ada-open-id",
            auth.redirect_uri.as_str(),
            &[
                "user.info.basic",
                "video.publish",
                "video.upload",
                "video.list",
            ],
            challenge.as_deref(),
        )
    })
    .await?;
    x.set_profile("2244994945", "Ada Lovelace", "adasbakery");
    let x_c = manager.connector(Platform::Twitter)?;
    let x_targets = connect(&vault, x_c.as_ref(), "x-ada", |auth| {
        // X checks the S256 challenge too; offline.access gives a refresh token.
        let challenge = auth
            .url
            .query_pairs()
            .find(|(k, _)| k == "code_challenge")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        x.issue_code(
            "2244994945",
            auth.redirect_uri.as_str(),
            &[
                "tweet.read",
                "tweet.write",
                "users.read",
                "media.write",
                "offline.access",
            ],
            &challenge,
        )
    })
    .await?;
    gbp.seed_account("104857600000000000001", "1234567890", "Ada's Bakeries");
    gbp.seed_location(
        "1234567890",
        "9876543210",
        "Ada's Bakery, Main Street",
        true,
    );
    gbp.seed_location("1234567890", "9876543211", "Ada's Bakery, Harbour", true);
    let gbp_c = manager.connector(Platform::Gbp)?;
    let gbp_targets = connect(&vault, gbp_c.as_ref(), "gbp-ada", |auth| {
        // Google checks the S256 challenge; access_type=offline gives a refresh token.
        let challenge = auth
            .url
            .query_pairs()
            .find(|(k, _)| k == "code_challenge")
            .map(|(_, v)| v.into_owned());
        gbp.issue_code(
            "104857600000000000001",
            auth.redirect_uri.as_str(),
            &[postd_testkit::gbp::SCOPE],
            challenge.as_deref(),
        )
    })
    .await?;
    // Mailchimp connects with an API key (`postd connect mailchimp` reads it from stdin).
    let mc_account = mailchimp.seed_account("Ada's Bakery");
    let mc_list = mailchimp.seed_list(
        &mc_account,
        "Bread lovers",
        "Ada's Bakery",
        "news@adasbakery.example",
    );
    mailchimp.seed_member(&mc_list, "ada@example.com", "subscribed");
    let mc_c = manager.connector(Platform::Mailchimp)?;
    let mc_creds = postd::Credentials::ApiKey(mailchimp.seed_api_key(&mc_account).into());
    let mc_targets = mc_c.targets(&mc_creds).await?;
    vault
        .store(
            TENANT,
            "mailchimp-ada",
            Platform::Mailchimp,
            &mc_creds,
            mc_targets.clone(),
        )
        .await?;
    println!(
        "  Mailchimp mailchimp-ada: {}",
        mc_targets
            .iter()
            .map(|t| format!("{:?} {}", t.kind, t.name.as_deref().unwrap_or(&t.id)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let li_c = manager.connector(Platform::LinkedIn)?;
    let li_targets = connect(&vault, li_c.as_ref(), "linkedin-ada", |auth| {
        linkedin.issue_code(
            "782bbtaQ",
            auth.redirect_uri.as_str(),
            &[
                "openid",
                "profile",
                "w_member_social",
                "r_member_social",
                "w_organization_social",
                "r_organization_social",
                "rw_organization_admin",
            ],
        )
    })
    .await?;

    // Media for the posts: files on disk for uploads, URLs where the platform fetches.
    let image_file = dir.join("loaf.jpg");
    std::fs::write(&image_file, jpeg_bytes()).expect("write the image");
    let video_file = dir.join("knead.mp4");
    std::fs::write(&video_file, vec![0x42u8; 512 * 1024]).expect("write the video");
    let image_url: Url = "https://cdn.example/loaf.jpg".parse().expect("a URL");
    let shop_url: Url = "https://example.com/order".parse().expect("a URL");
    let video_url: Url = "https://cdn.example/knead.mp4".parse().expect("a URL");

    let to = |account: &str, t: &Target| DeliveryTarget::new(TENANT, account, t.clone());
    let page = find(&meta_targets, TargetKind::FacebookPage);
    let ig = find(&meta_targets, TargetKind::InstagramAccount);
    let member = find(&li_targets, TargetKind::LinkedInPerson);
    let org = find(&li_targets, TargetKind::LinkedInOrganization);
    let creator = find(&tt_targets, TargetKind::TikTokAccount);
    let x_user = find(&x_targets, TargetKind::TwitterAccount);

    println!("\nScheduling:");
    let started = Instant::now();
    let mut scheduled = Vec::new();
    // An image post: Facebook and LinkedIn upload the file; Instagram fetches the URL.
    let bread = || {
        Post::new(ClientRef::new("image-post").expect("a ref"))
            .with_text("Fresh loaves today #bread")
    };
    scheduled.push(
        engine
            .schedule_now(
                bread().with_media(
                    Media::file(MediaKind::Image, &image_file).with_mime_type("image/jpeg"),
                ),
                vec![
                    to("meta-ada", &page),
                    to("linkedin-ada", &member),
                    to("linkedin-ada", &org),
                    to("x-ada", &x_user),
                ],
            )
            .await?,
    );
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("image-post-ig")?)
                    .with_text("Fresh loaves today #bread")
                    .with_media(Media::url(MediaKind::Image, image_url.clone())),
                vec![to("meta-ada", &ig)],
            )
            .await?,
    );
    // A local post to both Business Profile locations: Google fetches the
    // photo by URL and reviews the post; the link is its "Learn more" button.
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("local-post")?)
                    .with_text("Fresh loaves today, order ahead")
                    .with_link(shop_url)
                    .with_media(Media::url(MediaKind::Image, image_url)),
                gbp_targets.iter().map(|t| to("gbp-ada", t)).collect(),
            )
            .await?,
    );
    // A newsletter: a Mailchimp campaign, checked and sent once.
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("newsletter")?)
                    .with_text("Fresh loaves today.\n\nOrder ahead and skip the queue.")
                    .with_mailchimp(
                        postd::MailchimpOptions::new().with_subject_line("Fresh loaves today"),
                    ),
                mc_targets.iter().map(|t| to("mailchimp-ada", t)).collect(),
            )
            .await?,
    );
    // A video: the Page fetches it by URL and processes it; LinkedIn gets the file in parts.
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("video-post")?)
                    .with_text("How we knead")
                    .with_media(Media::url(MediaKind::Video, video_url)),
                vec![to("meta-ada", &page)],
            )
            .await?,
    );
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("video-post-li")?)
                    .with_text("How we knead")
                    .with_media(
                        Media::file(MediaKind::Video, &video_file).with_mime_type("video/mp4"),
                    ),
                vec![to("linkedin-ada", &member)],
            )
            .await?,
    );
    // TikTok: the video file in chunks, as a Direct Post carrying the creator's
    // own choices (a real app asks for each on its compose screen).
    scheduled.push(
        engine
            .schedule_now(
                Post::new(ClientRef::new("video-post-tt")?)
                    .with_text("How we knead #bread")
                    .with_media(
                        Media::file(MediaKind::Video, &video_file).with_mime_type("video/mp4"),
                    )
                    .with_tiktok(TikTokOptions::direct_post(
                        TikTokPrivacy::SelfOnly,
                        true,
                        false,
                        false,
                        TikTokCommercialContent::none(),
                    )),
                vec![to("tiktok-ada", &creator)],
            )
            .await?,
    );
    // Held in the queue until a few seconds from now.
    scheduled.push(
        engine
            .schedule(
                Post::new(ClientRef::new("soon-post")?).with_text("Doors open in a minute"),
                vec![
                    to("linkedin-ada", &member),
                    to("meta-ada", &page),
                    to("x-ada", &x_user),
                ],
                Utc::now() + chrono::Duration::seconds(3),
            )
            .await?,
    );
    // Handed to Facebook's own scheduler at once, for an hour from now.
    scheduled.push(
        engine
            .schedule(
                Post::new(ClientRef::new("tonight-post")?).with_text("Late bake tonight"),
                vec![to("meta-ada", &page)],
                Utc::now() + chrono::Duration::hours(1),
            )
            .await?,
    );
    for s in &scheduled {
        for d in &s.deliveries {
            println!(
                "  {:<14} -> {:<22} {}",
                s.post,
                format!("{:?}", d.to.target.kind),
                if d.native {
                    "handed to the platform's scheduler".to_owned()
                } else {
                    format!("due {}", d.run_at.format("%H:%M:%S"))
                }
            );
        }
    }

    println!("\nRunning a worker until every delivery has ended...");
    let report = engine.run_until_idle(Duration::from_secs(60)).await?;
    println!(
        "  done in {:.1}s: {} published, {} dead ({} attempts waited, {} retried)\n",
        started.elapsed().as_secs_f64(),
        report.published,
        report.dead,
        report.waiting + report.pending,
        report.retrying
    );
    println!(
        "{:<14} {:<22} {:<10} {:>8}  platform id",
        "post", "target", "state", "latency"
    );
    for s in &scheduled {
        for d in engine.post_status(&s.post).await?.deliveries {
            // A native schedule is handed over at once; its latency is the platform's.
            let latency = match (d.published_at, d.due_at) {
                (Some(p), Some(due)) if !d.native => {
                    format!("{}ms", (p - due).num_milliseconds().max(0))
                }
                _ => "-".to_owned(),
            };
            let id = d.published.as_ref().map_or_else(
                || "-".to_owned(),
                |p| match p.scheduled_for {
                    Some(at) => format!("{} (live at {})", p.id, at.format("%H:%M")),
                    None => p.id.clone(),
                },
            );
            let kind =
                d.to.as_ref()
                    .map_or_else(|| "?".to_owned(), |t| format!("{:?}", t.target.kind));
            println!(
                "{:<14} {:<22} {:<10} {:>8}  {id}",
                s.post,
                kind,
                d.state.as_str(),
                latency
            );
        }
    }
    let dead = engine.dead(20, 0).await?;
    println!("\nDead-letter queue: {} deliveries", dead.len());
    for d in dead {
        println!(
            "  {} {:?}: {}",
            d.id,
            d.post,
            d.dead_reason.unwrap_or_default()
        );
    }
    println!(
        "\nThe same pipeline runs from the command line: postd connect, postd schedule, postd worker, postd status, postd dead list."
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The OAuth code flow against a fake: the URL a user would open, the code the
/// platform hands back on the redirect, the exchange with the state check,
/// then the account's targets sealed in the vault.
async fn connect(
    vault: &TokenVault,
    connector: &dyn Connector,
    account: &str,
    authorize: impl FnOnce(&Authorization) -> String,
) -> Result<Vec<Target>, postd::Error> {
    let redirect = Url::parse("http://127.0.0.1:8917/callback").expect("a URL");
    let auth = connector.authorize_url(&AuthorizationRequest::new(redirect))?;
    // The "browser": the user approves, the platform redirects back with a code and the state.
    let code = authorize(&auth);
    let received_state = auth.state.as_str().to_owned();
    let credentials = connector
        .exchange_code(CodeExchange::new(
            code,
            received_state,
            auth.state,
            auth.pkce_verifier,
            auth.redirect_uri,
        ))
        .await?;
    let targets = connector.targets(&credentials).await?;
    vault
        .store(
            TENANT,
            account,
            connector.platform(),
            &credentials,
            targets.clone(),
        )
        .await?;
    println!(
        "  {:<9} {account}: {}",
        connector.platform().display_name(),
        targets
            .iter()
            .map(|t| format!("{:?} {}", t.kind, t.name.as_deref().unwrap_or(&t.id)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(targets)
}

fn find(targets: &[Target], kind: TargetKind) -> Target {
    targets
        .iter()
        .find(|t| t.kind == kind)
        .cloned()
        .unwrap_or_else(|| panic!("the fake lists a {kind:?}"))
}

/// A minimal JPEG (start and end markers around a little data).
fn jpeg_bytes() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend(std::iter::repeat_n(0x11, 2048));
    b.extend([0xFF, 0xD9]);
    b
}

/// With real credentials: what `postd connect` stored, and a test post only when asked.
async fn real_run() -> Result<(), postd::Error> {
    let manager = ConnectorManager::from_env()?;
    println!("App credentials found: using the real platforms.");
    for platform in Platform::ALL {
        println!(
            "  {:<26} {}",
            platform.display_name(),
            manager.status(platform)
        );
    }
    let url =
        std::env::var("POSTD_DATABASE_URL").unwrap_or_else(|_| "sqlite://postd.db".to_owned());
    let path = url.strip_prefix("sqlite://").unwrap_or("postd.db");
    let jobs = Arc::new(
        postd::queue::SqliteJobStore::open(path)
            .await
            .map_err(postd::engine::queue_error)?,
    );
    let store = Arc::new(postd::vault::SqliteStore::open(path).await?);
    let vault = TokenVault::new(store, KeyRing::from_env()?, VaultConfig::default()).await?;
    let engine = Engine::new(
        jobs,
        vault.clone(),
        Connectors::from_manager(&manager),
        EngineConfig::default(),
    );
    let records = vault
        .store_handle()
        .list(&postd::vault::ListFilter::default())
        .await?;
    if records.is_empty() {
        println!(
            "\nNo accounts yet: connect one with `postd connect meta --tenant me --account main`."
        );
        return Ok(());
    }
    let mut targets = Vec::new();
    for r in &records {
        for t in &r.targets {
            println!("  {} {} -> {:?} {}", r.tenant, r.account, t.kind, t.id);
            targets.push(DeliveryTarget::new(&r.tenant, &r.account, t.clone()));
        }
    }
    if std::env::var("QUICKSTART_PUBLISH").as_deref() != Ok("1") {
        println!("\nSet QUICKSTART_PUBLISH=1 to publish a test post to these targets.");
        return Ok(());
    }
    let post = Post::new(ClientRef::new(format!(
        "quickstart-{}",
        Utc::now().timestamp()
    ))?)
    .with_text("Hello from the POSTD quickstart");
    let s = engine.schedule_now(post, targets).await?;
    engine.run_until_idle(Duration::from_secs(120)).await?;
    for d in engine.post_status(&s.post).await?.deliveries {
        println!("  {:?}: {}", d.to.map(|t| t.target.id), d.state.as_str());
    }
    Ok(())
}
