//! A Mailchimp campaign: add two members to an audience, create the
//! campaign, run Mailchimp's send checklist, and schedule it on the next
//! quarter-hour slot an hour from now; then show that publishing the same
//! post again mails no one twice.
//!
//! By default this runs against the local Mailchimp fake (no key, no
//! network). With a real API key and an audience id it does the same to
//! that audience (the campaign is scheduled, and can be unscheduled in
//! Mailchimp before its time):
//!
//! ```text
//! cargo run --example mailchimp_campaign
//! MAILCHIMP_API_KEY=...-us6 MAILCHIMP_LIST_ID=abc123def4 MAILCHIMP_TEST_EMAILS=a@example.com,b@example.com cargo run --example mailchimp_campaign
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use chrono::{Duration, Utc};
use postd::config::Vars;
use postd::connectors::mailchimp::{
    MailchimpConfig, MailchimpConnector, MemberStatus, MemberUpdate, next_slot,
};
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, MailchimpOptions, Post, PublishOutcome, PublishStatus,
    Target, TargetKind,
};
use postd_testkit::mailchimp::MailchimpFake;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let (Some(key), Some(list)) = (
        vars.optional("MAILCHIMP_API_KEY"),
        vars.optional("MAILCHIMP_LIST_ID"),
    ) {
        let mc = MailchimpConfig::from_vars(&vars)?.build(HttpClient::shared()?);
        let members: Vec<String> = vars
            .optional("MAILCHIMP_TEST_EMAILS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let target = Target::new(TargetKind::MailchimpAudience, list);
        return run(
            &mc,
            &Credentials::ApiKey(key.into()),
            &target,
            &members,
            None,
        )
        .await;
    }

    println!("No MAILCHIMP_API_KEY: using the local Mailchimp fake.\n");
    let fake = MailchimpFake::start().await;
    let account = fake.seed_account("Ada's Bakery");
    let key = fake.seed_api_key(&account);
    let list = fake.seed_list(
        &account,
        "Bread lovers",
        "Ada's Bakery",
        "news@adasbakery.example",
    );
    let mc = MailchimpConfig::new()
        .with_base_url(fake.url())
        .build(HttpClient::shared()?);
    let target = Target::new(TargetKind::MailchimpAudience, list);
    let members = ["ada@example.com".to_owned(), "grace@example.com".to_owned()];
    run(
        &mc,
        &Credentials::ApiKey(key.into()),
        &target,
        &members,
        Some(&fake),
    )
    .await
}

async fn run(
    mc: &MailchimpConnector,
    creds: &Credentials,
    target: &Target,
    members: &[String],
    fake: Option<&MailchimpFake>,
) -> Result<(), postd::Error> {
    let health = mc.health_check(creds).await?;
    println!(
        "key works: {}  {}",
        health.token_valid,
        health.notes.join("; ")
    );
    for email in members {
        let m = mc
            .upsert_member(
                creds,
                &target.id,
                &MemberUpdate::new(email.as_str(), MemberStatus::Subscribed)
                    .with_merge_field("FNAME", "Friend"),
            )
            .await?;
        println!("member {} ({:?}), hash {}", m.email_address, m.status, m.id);
    }

    let at = next_slot(Utc::now() + Duration::hours(1));
    let post = Post::new(ClientRef::new(format!("mc-spring-{}", at.timestamp()))?)
        .with_text("Our spring loaves are here.\n\nRye, spelt and a new sourdough.")
        .with_link(url::Url::parse("https://example.com/spring").expect("a URL"))
        .with_schedule_at(at)
        .with_mailchimp(
            MailchimpOptions::new()
                .with_subject_line("Spring bread is here")
                .with_preview_text("Rye, spelt and a new sourdough"),
        );
    mc.validate(target, &post)?;
    match mc.publish(creds, target, &post).await? {
        PublishOutcome::Pending(h) => {
            println!(
                "campaign {} scheduled for {} (UTC)",
                h.id,
                at.format("%Y-%m-%d %H:%M")
            );
            if let PublishStatus::Processing {
                state, retry_after, ..
            } = mc.publish_status(creds, &h).await?
            {
                println!(
                    "  status {state}; ask again in {} min",
                    retry_after.as_secs() / 60
                );
            }
            if let Some(fake) = fake {
                println!("  sends so far: {}", fake.sends(&h.id));
            }
        }
        other => println!("{other:?}"),
    }
    // The job runs again (a crash, a retry): nothing is mailed twice.
    match mc.publish(creds, target, &post).await? {
        PublishOutcome::Pending(h) => {
            println!("published again: the same campaign {}, not a new one", h.id)
        }
        other => println!("published again: {other:?}"),
    }
    if let Some(fake) = fake {
        println!(
            "the fake holds {} campaign(s) for the audience",
            fake.campaigns().len()
        );
    }
    Ok(())
}
