//! POSTD quickstart: build the connector manager, show what each platform
//! can do, then publish through the manager to local fakes of the platforms
//! that are implemented.
//!
//! Runs on a fresh machine with no credentials and no network: when no app
//! credentials are set, sandbox values are filled in and every platform that
//! publishes is pointed at an in-process fake.
//!
//! ```text
//! cargo run --example quickstart
//! ```
#![allow(clippy::expect_used)] // an example fails loudly

use postd::config::Vars;
use postd::{
    ClientRef, ConnectorManager, ConnectorStatus, Credentials, Media, MediaKind, Platform, Post,
    PublishOutcome, TokenSet,
};
use postd_testkit::linkedin::LinkedInFake;
use postd_testkit::meta::MetaFake;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let mut vars = Vars::from_env();
    let sandbox =
        vars.optional("META_CLIENT_ID").is_none() && vars.optional("LINKEDIN_CLIENT_ID").is_none();

    // In the sandbox, Meta and LinkedIn are local fakes: one user with a page and
    // its Instagram account, one LinkedIn member who administers an organization.
    let meta_fake = if sandbox {
        Some(MetaFake::start().await)
    } else {
        None
    };
    let linkedin_fake = if sandbox {
        Some(LinkedInFake::start().await)
    } else {
        None
    };
    if let Some(fake) = &linkedin_fake {
        vars.set("LINKEDIN_CLIENT_ID", fake.client_id());
        vars.set("LINKEDIN_CLIENT_SECRET", fake.client_secret());
        vars.set("LINKEDIN_BASE_URL", fake.uri());
        vars.set("LINKEDIN_OAUTH_BASE_URL", fake.uri());
        vars.set("LINKEDIN_ORGANIZATIONS", "true");
    }
    if let Some(fake) = &meta_fake {
        println!(
            "No app credentials found: using sandbox values and local fakes (no real platform is called).\n"
        );
        vars.set("META_CLIENT_ID", fake.app_id());
        vars.set("META_CLIENT_SECRET", fake.app_secret());
        vars.set("META_BASE_URL", fake.uri());
        vars.set("META_OAUTH_BASE_URL", fake.uri());
        vars.set("META_VIDEO_BASE_URL", fake.uri());
        vars.set("META_UPLOAD_BASE_URL", fake.uri());
    }
    let mut builder = ConnectorManager::builder().vars(vars);
    if sandbox {
        builder = builder.sandbox_defaults();
    }
    let manager = builder.build()?;

    println!(
        "{:<26} {:<28} {:>6}  {:<10} media",
        "platform", "status", "text", "scheduling"
    );
    for platform in Platform::ALL {
        let status = manager.status(platform);
        let caps = manager.capabilities(platform);
        let text = caps
            .as_ref()
            .and_then(|c| c.text_max_chars)
            .map_or_else(|| "-".to_owned(), |n| n.to_string());
        let scheduling = match caps.as_ref().map(|c| c.native_scheduling) {
            Some(Some(_)) => "native",
            Some(None) => "queue",
            None => "-",
        };
        let media = caps.as_ref().map_or_else(
            || "-".to_owned(),
            |c| format!("{:?} (up to {})", c.media.kinds, c.media.max_items),
        );
        println!(
            "{:<26} {:<28} {:>6}  {:<10} {media}",
            platform.display_name(),
            status.to_string(),
            text,
            scheduling
        );
        if status == ConnectorStatus::Scaffold
            && let Err(e) = manager.connector(platform)
        {
            println!("    -> {}", e.message());
        }
    }

    if let Some(fake) = &meta_fake {
        println!("\nPublishing to Meta (local fake) through the manager:");
        let user_token = fake.seed_user(
            "10001",
            "Ada",
            &[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "instagram_basic",
                "instagram_content_publish",
            ],
        );
        fake.seed_page("10001", "20002", "Ada's Bakery", Some("17841400000000003"));
        let meta = manager.connector(Platform::Meta)?;
        let credentials = meta
            .refresh(&Credentials::OAuth(TokenSet::new(user_token)))
            .await?;
        for target in meta.targets(&credentials).await? {
            let mut post =
                Post::new(ClientRef::new("quickstart-1")?).with_text("Fresh loaves today #bread");
            if target.kind == postd::TargetKind::InstagramAccount {
                let image = "https://cdn.example/loaf.jpg".parse().expect("a valid URL");
                post = post.with_media(Media::url(MediaKind::Image, image));
            }
            meta.validate(&target, &post)?;
            match meta.publish(&credentials, &target, &post).await? {
                PublishOutcome::Published(p) => println!(
                    "  {:?} {}: published {} {}",
                    target.kind,
                    target.name.as_deref().unwrap_or(&target.id),
                    p.id,
                    p.url.map(|u| u.to_string()).unwrap_or_default()
                ),
                PublishOutcome::Pending(h) => {
                    println!("  {:?}: processing ({})", target.kind, h.id)
                }
                other => println!("  {other:?}"),
            }
        }
    }
    if let Some(fake) = &linkedin_fake {
        println!("\nPublishing to LinkedIn (local fake) through the manager:");
        let token = fake.seed_member(
            "782bbtaQ",
            "Ada Lovelace",
            &[
                "openid",
                "profile",
                "w_member_social",
                "w_organization_social",
                "rw_organization_admin",
            ],
        );
        fake.seed_organization("5515715", "Analytical Engines", "782bbtaQ", "ADMINISTRATOR");
        let linkedin = manager.connector(Platform::LinkedIn)?;
        let credentials = Credentials::OAuth(TokenSet::new(token));
        for target in linkedin.targets(&credentials).await? {
            let post = Post::new(ClientRef::new("quickstart-2")?)
                .with_text("Fresh loaves today (really) #bread");
            match linkedin.publish(&credentials, &target, &post).await? {
                PublishOutcome::Published(p) => println!(
                    "  {:?} {}: published {}",
                    target.kind,
                    target.name.as_deref().unwrap_or(&target.id),
                    p.id
                ),
                other => println!("  {other:?}"),
            }
        }
    }
    Ok(())
}
