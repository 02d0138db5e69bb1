//! Publish an event post to two Google Business Profile locations, follow
//! Google's review of each to its end, and read one location's metrics.
//!
//! By default this runs against the local GBP fake (no credentials, no
//! network): the user connects through the real OAuth flow with PKCE, and
//! the fake reviews each post like Google (one of them is rejected, to show
//! how that ends). With a real user access token it posts to the user's
//! first two locations that can take posts:
//!
//! ```text
//! cargo run --example gbp_publish
//! GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... GBP_ACCESS_TOKEN=ya29... cargo run --example gbp_publish
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use chrono::{Duration, Utc};
use postd::config::Vars;
use postd::connectors::gbp::{GbpConfig, GbpConnector};
use postd::http::HttpClient;
use postd::oauth::{AuthorizationRequest, CodeExchange};
use postd::{
    ClientRef, Connector, Credentials, DateRange, GbpCallToAction, GbpEvent, GbpOptions, GbpTopic,
    Post, PublishOutcome, PublishStatus, Target, TokenSet,
};
use postd_testkit::gbp::{GbpFake, GbpFakeConfig, SCOPE};
use url::Url;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let Some(token) = vars.optional("GBP_ACCESS_TOKEN") {
        let gbp = GbpConfig::from_vars(&vars)?.build(HttpClient::shared()?);
        let creds = Credentials::OAuth(TokenSet::new(token));
        let targets: Vec<Target> = gbp
            .targets(&creds)
            .await?
            .into_iter()
            .filter(|t| t.can_publish != Some(false))
            .take(2)
            .collect();
        return publish_to(&gbp, &creds, &targets, None).await;
    }

    println!("No GBP_ACCESS_TOKEN: publishing to the local Google Business Profile fake.\n");
    let fake = GbpFake::start_with(GbpFakeConfig {
        processing_secs: 2,
        ..GbpFakeConfig::default()
    })
    .await;
    let user = "104857600000000000001";
    fake.seed_account(user, "1234567890", "Ada's Bakeries");
    fake.seed_location(
        "1234567890",
        "9876543210",
        "Ada's Bakery, Main Street",
        true,
    );
    fake.seed_location("1234567890", "9876543211", "Ada's Bakery, Harbour", true);
    fake.seed_location(
        "1234567890",
        "9876543212",
        "Ada's Bakery, unverified",
        false,
    );
    let gbp = GbpConfig::new(fake.client_id(), fake.client_secret().into())?
        .with_base_url(fake.url())
        .build(HttpClient::shared()?);

    // The user approves on Google's consent page; Google redirects back with a code.
    let redirect = Url::parse("http://127.0.0.1:8917/oauth/gbp/callback").expect("a URL");
    let auth = gbp.authorize_url(&AuthorizationRequest::new(redirect))?;
    let challenge = auth
        .url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .map(|(_, v)| v.into_owned());
    let code = fake.issue_code(
        user,
        auth.redirect_uri.as_str(),
        &[SCOPE],
        challenge.as_deref(),
    );
    let state = auth.state.as_str().to_owned();
    let creds = gbp
        .exchange_code(CodeExchange::new(
            code,
            state,
            auth.state,
            auth.pkce_verifier,
            auth.redirect_uri,
        ))
        .await?;
    let all = gbp.targets(&creds).await?;
    for t in &all {
        println!(
            "location {}  {}  {}",
            t.id,
            t.name.as_deref().unwrap_or("?"),
            if t.can_publish == Some(false) {
                "(cannot take posts)"
            } else {
                ""
            }
        );
    }
    let targets: Vec<Target> = all
        .into_iter()
        .filter(|t| t.can_publish != Some(false))
        .collect();
    // Google's review rejects the second location's post.
    publish_to(&gbp, &creds, &targets, Some(&fake)).await?;

    let today = Utc::now().date_naive();
    for n in 3..10 {
        fake.set_daily_metric(
            &targets[0].id,
            "WEBSITE_CLICKS",
            today - Duration::days(n),
            4 + n as u64,
        );
    }
    let since = (today - Duration::days(9))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let metrics = gbp
        .target_metrics(&creds, &targets[0], DateRange::new(since, Utc::now())?)
        .await?;
    if let Some(clicks) = metrics.get("WEBSITE_CLICKS") {
        println!(
            "\n{}: {} website clicks over {} complete days",
            targets[0].id,
            clicks.total().unwrap_or_default(),
            clicks.points.len()
        );
    }
    Ok(())
}

/// An event post to each of `targets`, each followed until Google's review ends.
async fn publish_to(
    gbp: &GbpConnector,
    creds: &Credentials,
    targets: &[Target],
    fake: Option<&GbpFake>,
) -> Result<(), postd::Error> {
    let start = Utc::now() + Duration::days(7);
    let post = Post::new(ClientRef::new(format!(
        "gbp-fair-{}",
        Utc::now().timestamp()
    ))?)
    .with_text("Our spring fair: fresh bread, live music, free coffee all weekend.")
    .with_gbp(
        GbpOptions::new()
            .with_topic(GbpTopic::Event)
            .with_event(GbpEvent::new(
                "Spring Fair",
                start,
                start + Duration::days(2),
            ))
            .with_call_to_action(
                GbpCallToAction::new("LEARN_MORE")
                    .with_url(Url::parse("https://example.com/fair").expect("a URL")),
            ),
    );
    for (i, target) in targets.iter().enumerate() {
        gbp.validate(target, &post)?;
        if let (Some(fake), 1) = (fake, i) {
            fake.reject_next_post("the fake's review refuses this one");
        }
        let mut handle = match gbp.publish(creds, target, &post).await? {
            PublishOutcome::Published(p) => {
                println!("{}: live at once: {}", target.id, p.id);
                continue;
            }
            PublishOutcome::Pending(h) => h,
            other => panic!("{other:?}"),
        };
        println!(
            "{}: created {}; Google is reviewing it",
            target.id, handle.id
        );
        loop {
            match gbp.publish_status(creds, &handle).await? {
                PublishStatus::Processing {
                    state,
                    retry_after,
                    next,
                } => {
                    println!(
                        "  {state}, asking again in {} s",
                        retry_after.as_secs().min(1)
                    );
                    tokio::time::sleep(retry_after.min(std::time::Duration::from_secs(1))).await;
                    handle = next;
                }
                PublishStatus::Published(p) => {
                    println!(
                        "  LIVE: {}",
                        p.url.as_ref().map(Url::as_str).unwrap_or(&p.id)
                    );
                    break;
                }
                PublishStatus::Failed { code, message, .. } => {
                    println!("  {code}: {message}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }
    Ok(())
}
