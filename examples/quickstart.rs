//! POSTD quickstart: build the connector manager and show what each platform can do.
//!
//! Runs on a fresh machine with no credentials and no network: when no app
//! credentials are set, sandbox values are filled in, and nothing calls a
//! real platform.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use postd::config::Vars;
use postd::{ConnectorManager, ConnectorStatus, Platform};

fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    let sandbox =
        vars.optional("META_CLIENT_ID").is_none() && vars.optional("LINKEDIN_CLIENT_ID").is_none();
    let mut builder = ConnectorManager::builder().vars(vars);
    if sandbox {
        println!("No app credentials found: using sandbox values (no real platform is called).\n");
        builder = builder.sandbox_defaults();
    }
    let manager = builder.build()?;

    println!(
        "{:<26} {:<28} {:>6}  {:<22} media",
        "platform", "status", "text", "scheduling"
    );
    for platform in Platform::ALL {
        let status = manager.status(platform);
        let caps = manager.capabilities(platform);
        let text = caps
            .as_ref()
            .and_then(|c| c.text_max_chars)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".to_owned());
        let scheduling = match caps.as_ref().map(|c| c.native_scheduling) {
            Some(Some(_)) => "native",
            Some(None) => "queue",
            None => "-",
        };
        let media = caps
            .as_ref()
            .map(|c| format!("{:?} (up to {})", c.media.kinds, c.media.max_items))
            .unwrap_or_else(|| "-".to_owned());
        println!(
            "{:<26} {:<28} {:>6}  {:<22} {media}",
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
    Ok(())
}
