//! Publish to a Facebook Page and its Instagram account.
//!
//! By default this runs against the local Meta fake (no credentials, no
//! network). With real credentials it talks to Meta:
//!
//! ```text
//! cargo run --example meta_publish
//! META_CLIENT_ID=... META_CLIENT_SECRET=... META_USER_TOKEN=... META_PAGE_ID=... \
//!   [META_IG_USER_ID=... META_IMAGE_URL=https://...jpg] cargo run --example meta_publish
//! ```
//!
//! With real credentials the user token is exchanged for a long-lived one
//! (which also fetches the page tokens), and a text post goes to the page;
//! an image goes to Instagram when `META_IG_USER_ID` and `META_IMAGE_URL` are set.
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use postd::config::Vars;
use postd::connectors::meta::MetaConfig;
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use postd_testkit::meta::MetaFake;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let (Some(token), Some(page)) = (
        vars.optional("META_USER_TOKEN"),
        vars.optional("META_PAGE_ID"),
    ) {
        return real(&vars, token, page).await;
    }

    println!("No META_USER_TOKEN/META_PAGE_ID: publishing to the local Meta fake.\n");
    let fake = MetaFake::start().await;
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
    let vars = Vars::from_pairs([
        ("META_CLIENT_ID", fake.app_id()),
        ("META_CLIENT_SECRET", fake.app_secret()),
    ]);
    let meta = MetaConfig::from_vars(&vars)?
        .with_base_url(fake.url())
        .build(HttpClient::shared()?);

    // A short-lived user token becomes a long-lived one, with page and Instagram tokens.
    let creds = meta
        .refresh(&Credentials::OAuth(TokenSet::new(user_token)))
        .await?;
    for target in meta.targets(&creds).await? {
        let post = match target.kind {
            TargetKind::InstagramAccount => Post::new(ClientRef::new("example-ig")?)
                .with_text("Fresh loaves today #bread")
                .with_media(Media::url(
                    MediaKind::Image,
                    "https://cdn.example/loaf.jpg".parse().expect("url"),
                )),
            _ => Post::new(ClientRef::new("example-fb")?).with_text("Fresh loaves today!"),
        };
        report(&target, meta.publish(&creds, &target, &post).await?);
    }
    println!(
        "\nThe fake now holds {} Facebook post(s) and {} Instagram post(s).",
        fake.facebook_posts("20002").len(),
        fake.instagram_media("17841400000000003").len()
    );
    Ok(())
}

async fn real(vars: &Vars, token: String, page: String) -> Result<(), postd::Error> {
    let meta = MetaConfig::from_vars(vars)?.build(HttpClient::shared()?);
    let creds = meta
        .refresh(&Credentials::OAuth(TokenSet::new(token)))
        .await?;
    let page = Target::new(TargetKind::FacebookPage, page);
    let post = Post::new(ClientRef::new("postd-example")?).with_text("Hello from POSTD");
    report(&page, meta.publish(&creds, &page, &post).await?);
    if let (Some(ig), Some(image)) = (
        vars.optional("META_IG_USER_ID"),
        vars.optional("META_IMAGE_URL"),
    ) {
        let ig = Target::new(TargetKind::InstagramAccount, ig);
        let image = image
            .parse()
            .map_err(|_| postd::Error::config("META_IMAGE_URL is not a URL"))?;
        let post = Post::new(ClientRef::new("postd-example-ig")?)
            .with_text("Hello from POSTD")
            .with_media(Media::url(MediaKind::Image, image));
        report(&ig, meta.publish(&creds, &ig, &post).await?);
    }
    Ok(())
}

fn report(target: &Target, outcome: PublishOutcome) {
    match outcome {
        PublishOutcome::Published(p) => println!(
            "{:?} {}: published {} {}",
            target.kind,
            target.id,
            p.id,
            p.url.map(|u| u.to_string()).unwrap_or_default()
        ),
        PublishOutcome::Pending(h) => println!(
            "{:?} {}: processing, handle {}",
            target.kind, target.id, h.id
        ),
        other => println!("{other:?}"),
    }
}
