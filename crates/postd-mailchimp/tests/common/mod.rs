//! Shared setup: a Mailchimp fake, a connector pointed at it, an account
//! with an API key and an audience.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use postd_core::{ClientRef, Credentials, MailchimpOptions, Post, Target, TargetKind};
use postd_mailchimp::{MailchimpConfig, MailchimpConnector};
use postd_testkit::mailchimp::{MailchimpFake, MailchimpFakeConfig};

#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

/// The webhook secret the tests' connector accepts.
pub const SECRET: &str = "Jd9s0kQ2vLx8Rt4wYp6Zb1Nc3Fh5Gj7Km9Qs2Tv4Wx";

pub fn connector(fake: &MailchimpFake) -> MailchimpConnector {
    MailchimpConfig::new()
        .with_base_url(fake.url())
        .with_oauth_client(
            fake.config().client_id.as_str(),
            fake.config().client_secret.as_str().into(),
        )
        .with_webhook_secret(SECRET)
        .unwrap()
        .with_checklist_recheck(std::time::Duration::from_millis(200))
        .build(http())
}

pub struct Env {
    pub fake: MailchimpFake,
    pub mc: MailchimpConnector,
    pub account: String,
    pub key: String,
    pub creds: Credentials,
    pub target: Target,
}

pub async fn env() -> Env {
    env_with(MailchimpFakeConfig {
        sending_gets: Some(1),
        ..MailchimpFakeConfig::default()
    })
    .await
}

pub async fn env_with(config: MailchimpFakeConfig) -> Env {
    let fake = MailchimpFake::start_with(config).await;
    let account = fake.seed_account("Acme");
    let key = fake.seed_api_key(&account);
    let list = fake.seed_list(&account, "Newsletter", "Acme", "news@acme.com");
    fake.seed_member(&list, "ada@example.com", "subscribed");
    fake.seed_member(&list, "grace@example.com", "subscribed");
    let mc = connector(&fake);
    Env {
        creds: Credentials::ApiKey(key.clone().into()),
        target: Target::new(TargetKind::MailchimpAudience, list),
        fake,
        mc,
        account,
        key,
    }
}

pub fn post(reference: &str, subject: &str) -> Post {
    Post::new(ClientRef::new(reference).unwrap())
        .with_text(format!("{subject}: the news.\n\nSee you soon."))
        .with_mailchimp(MailchimpOptions::new().with_subject_line(subject))
}
