//! Publish to a LinkedIn member and an organization they administer.
//!
//! By default this runs against the local LinkedIn fake (no credentials, no
//! network). With a real access token it talks to LinkedIn:
//!
//! ```text
//! cargo run --example linkedin_publish
//! LINKEDIN_CLIENT_ID=... LINKEDIN_CLIENT_SECRET=... LINKEDIN_ACCESS_TOKEN=... \
//!   [LINKEDIN_ORGANIZATIONS=true] cargo run --example linkedin_publish
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use postd::config::Vars;
use postd::connectors::linkedin::LinkedInConfig;
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, TargetKind, TokenSet,
};
use postd_testkit::linkedin::LinkedInFake;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let Some(token) = vars.optional("LINKEDIN_ACCESS_TOKEN") {
        let linkedin = LinkedInConfig::from_vars(&vars)?.build(HttpClient::shared()?);
        let creds = Credentials::OAuth(TokenSet::new(token));
        for target in linkedin.targets(&creds).await? {
            let post = Post::new(ClientRef::new("postd-example")?)
                .with_text("Hello from POSTD (via the Posts API)");
            report(&target.id, linkedin.publish(&creds, &target, &post).await?);
        }
        return Ok(());
    }

    println!("No LINKEDIN_ACCESS_TOKEN: publishing to the local LinkedIn fake.\n");
    let fake = LinkedInFake::start().await;
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
    let vars = Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", fake.client_id()),
        ("LINKEDIN_CLIENT_SECRET", fake.client_secret()),
        ("LINKEDIN_ORGANIZATIONS", "true"),
    ]);
    let linkedin = LinkedInConfig::from_vars(&vars)?
        .with_base_url(fake.url())
        .build(HttpClient::shared()?);
    let creds = Credentials::OAuth(TokenSet::new(token));
    for target in linkedin.targets(&creds).await? {
        let mut post = Post::new(ClientRef::new("example-1")?)
            .with_text("We shipped (v2) #rust -- thanks @everyone!");
        if target.kind == TargetKind::LinkedInOrganization {
            post = post.with_media(
                Media::bytes(MediaKind::Image, vec![0xffu8; 4096]).with_mime_type("image/png"),
            );
        }
        report(
            target.name.as_deref().unwrap_or(&target.id),
            linkedin.publish(&creds, &target, &post).await?,
        );
    }
    for p in fake.posts() {
        println!("\nLinkedIn shows {}'s post as: {}", p.author, p.rendered);
    }
    Ok(())
}

fn report(who: &str, outcome: PublishOutcome) {
    match outcome {
        PublishOutcome::Published(p) => {
            println!(
                "{who}: published {} {}",
                p.id,
                p.url.map(|u| u.to_string()).unwrap_or_default()
            )
        }
        PublishOutcome::Pending(h) => println!("{who}: waiting for video {}", h.id),
        other => println!("{other:?}"),
    }
}
