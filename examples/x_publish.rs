//! Publish a thread to X: three Posts, each a reply to the one before, the
//! first with an image uploaded from a file; then the thread is resumed after
//! a failure half way, without posting its first half again.
//!
//! By default this runs against the local X fake (no credentials, no
//! network): the user connects through the real OAuth 2.0 flow with PKCE.
//! With a real user access token it posts the thread to X:
//!
//! ```text
//! cargo run --example x_publish
//! X_CLIENT_ID=... X_ACCESS_TOKEN=... X_IMAGE_FILE=photo.jpg cargo run --example x_publish
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use postd::config::Vars;
use postd::connectors::twitter::{ThreadProgress, TwitterConnector, XConfig};
use postd::http::HttpClient;
use postd::oauth::{AuthorizationRequest, CodeExchange};
use postd::{ClientRef, Connector, Credentials, Media, MediaKind, Post, TokenSet};
use postd_testkit::x::XFake;
use postd_testkit::{Fault, Timing};
use url::Url;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let Some(token) = vars.optional("X_ACCESS_TOKEN") {
        return real_run(&vars, token).await;
    }

    println!("No X_ACCESS_TOKEN: publishing to the local X fake.\n");
    let fake = XFake::start().await;
    fake.set_profile("2244994945", "Ada's Bakery", "adasbakery");
    let cfg = fake.config();
    let vars = Vars::from_pairs([
        ("X_CLIENT_ID", cfg.client_id.as_str()),
        ("X_CLIENT_SECRET", cfg.client_secret.as_str()),
        ("X_CONSUMER_SECRET", cfg.consumer_secret.as_str()),
    ]);
    let x = XConfig::from_vars(&vars)?
        .with_base_url(fake.url())
        .build(HttpClient::shared()?);

    // The user approves on X's consent page; X redirects back with a code.
    let redirect = Url::parse("http://127.0.0.1:8917/callback/x").expect("a URL");
    let auth = x.authorize_url(&AuthorizationRequest::new(redirect))?;
    let challenge = auth
        .url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let code = fake.issue_code(
        "2244994945",
        auth.redirect_uri.as_str(),
        &auth.scopes.iter().map(String::as_str).collect::<Vec<_>>(),
        &challenge,
    );
    let state = auth.state.as_str().to_owned();
    let creds = x
        .exchange_code(CodeExchange::new(
            code,
            state,
            auth.state,
            auth.pkce_verifier,
            auth.redirect_uri,
        ))
        .await?;
    let target = x.targets(&creds).await?.remove(0);
    println!(
        "Connected {} (user {}).",
        target.name.as_deref().unwrap_or("?"),
        target.id
    );

    let dir = std::env::temp_dir().join(format!("postd-x-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    let image = dir.join("loaf.jpg");
    std::fs::write(&image, [0xFFu8, 0xD8, 0xFF, 0xE0].repeat(2048)).expect("write the image");
    let thread = thread(Some(&image))?;

    let mut progress = ThreadProgress::new();
    let first = x
        .publish_thread(&creds, &target, &thread[..1], &mut progress)
        .await?;
    println!("posted 1/3: {}", first[0].id);
    // X refuses the second Post's create: the thread stops there.
    fake.server().faults().inject(
        "POST",
        "/2/tweets",
        Fault::status_with_body(
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"You are not permitted to perform this action."}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    match x
        .publish_thread(&creds, &target, &thread, &mut progress)
        .await
    {
        Ok(_) => println!("X did not fail the second post"),
        Err(e) => println!("stopped after {} of 3: {e}", progress.published.len()),
    }
    // Resumed: the posts already published are not sent again.
    let all = x
        .publish_thread(&creds, &target, &thread, &mut progress)
        .await?;
    for (i, p) in all.iter().enumerate() {
        println!(
            "  {}/3 {}  {}",
            i + 1,
            p.id,
            p.url.as_ref().map(Url::as_str).unwrap_or("")
        );
    }
    println!(
        "\nX holds {} Posts; the image went up in {} segment(s).",
        fake.posts().len(),
        fake.media().iter().map(|m| m.segments).sum::<u32>()
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// The thread, its first Post with `image` when there is one.
fn thread(image: Option<&std::path::Path>) -> Result<Vec<Post>, postd::Error> {
    let mut first =
        Post::new(ClientRef::new("x-thread-1")?).with_text("How we bake rye, a thread 🧵");
    if let Some(image) = image {
        first = first.with_media(Media::file(MediaKind::Image, image));
    }
    Ok(vec![
        first,
        Post::new(ClientRef::new("x-thread-2")?)
            .with_text("1. The starter gets fed the night before."),
        Post::new(ClientRef::new("x-thread-3")?)
            .with_text("2. Long, cool proof; hot oven; patience."),
    ])
}

/// With a real user access token: the thread goes to X.
async fn real_run(vars: &Vars, token: String) -> Result<(), postd::Error> {
    let x: TwitterConnector = XConfig::from_vars(vars)?.build(HttpClient::shared()?);
    let creds = Credentials::OAuth(TokenSet::new(token));
    let target = x.targets(&creds).await?.remove(0);
    let image = vars.optional("X_IMAGE_FILE");
    let posts = thread(image.as_deref().map(std::path::Path::new))?;
    let mut progress = ThreadProgress::new();
    for p in x
        .publish_thread(&creds, &target, &posts, &mut progress)
        .await?
    {
        println!("{}", p.url.as_ref().map(Url::as_str).unwrap_or(&p.id));
    }
    Ok(())
}
