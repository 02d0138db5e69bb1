//! `postd schedule`, `postd cancel` and `postd reschedule`: put a post in the
//! queue, withdraw it, or move it to another time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use postd_core::{ClientRef, Media, MediaKind, Post, Target, TargetKind};
use postd_engine::{DeliveryTarget, EngineConfig, Scheduled};
use serde::Serialize;
use url::Url;

use crate::error::{CliError, Result};
use crate::output::{self, Table};
use crate::setup::{self, Global, Open};

/// `postd schedule`.
#[derive(clap::Args, Debug)]
#[command(
    group(clap::ArgGroup::new("content").required(true).args(["text", "file"])),
    after_long_help = SCHEDULE_HELP
)]
pub(crate) struct Args {
    /// The post's reference: 1-128 of A-Z a-z 0-9 . _ : -. Scheduling the same reference to
    /// the same target again queues nothing new. Overrides client_ref of --file.
    #[arg(
        long = "ref",
        value_name = "CLIENT_REF",
        required_unless_present = "file"
    )]
    client_ref: Option<String>,

    /// The post's text.
    #[arg(long)]
    text: Option<String>,

    /// A post as JSON (a serialized postd_core::Post).
    #[arg(long, value_name = "post.json")]
    file: Option<PathBuf>,

    /// A link to share.
    #[arg(long, value_name = "URL")]
    link: Option<Url>,

    // The help has a URL in it, which rustdoc would call bare in a doc comment.
    #[arg(
        long,
        value_name = "KIND:PATH_OR_URL",
        value_parser = parse_media,
        help = "A media item: image, video, gif or document, then a local file or an http(s) URL \
                (image:./photo.jpg, video:https://cdn.example/v.mp4). Repeat for several"
    )]
    media: Vec<Media>,

    /// When to publish (RFC 3339, e.g. 2026-05-01T09:00:00+02:00); now if left out or past.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: Option<DateTime<FixedOffset>>,

    /// Where to publish: a stored account and one of its targets, as
    /// TENANT/ACCOUNT/TARGET_KIND:TARGET_ID (acme/main/facebook_page:1234). Repeat or list several.
    #[arg(long = "to", value_name = "TENANT/ACCOUNT/KIND:ID", required = true, num_args = 1.., value_parser = parse_to)]
    to: Vec<To>,

    /// Attempts each delivery gets before it goes to the dead-letter queue.
    #[arg(long, value_name = "N", default_value_t = 6)]
    max_attempts: u32,
}

const SCHEDULE_HELP: &str = "\
Examples:
  postd schedule --ref launch-1 --text 'We shipped' --to acme/main/facebook_page:1234
  postd schedule --ref launch-2 --text 'New menu' --media image:https://cdn.example/menu.jpg \\
      --at 2026-05-01T09:00:00+02:00 --to acme/main/facebook_page:1234 acme/main/instagram_account:1784
  postd schedule --ref launch-3 --file post.json --to acme/li/linked_in_person:urn:li:person:abc

A --file holds a postd_core::Post as JSON, e.g.
  {\"client_ref\": \"launch-3\", \"text\": \"Hello\", \"link\": \"https://example.com\",
   \"media\": [{\"kind\": \"image\", \"source\": {\"type\": \"file\", \"path\": \"photo.jpg\"}}]}
Relative media paths are taken from the current folder. The targets of an account are listed by
postd accounts --json and by postd connect. Each delivery is printed with its id, which
postd status and postd dead take.";

/// One `--to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct To {
    tenant: String,
    account: String,
    kind: TargetKind,
    id: String,
}

/// `postd cancel REF`.
#[derive(clap::Args, Debug)]
pub(crate) struct CancelArgs {
    /// The post's reference.
    #[arg(value_name = "REF")]
    client_ref: String,
}

/// `postd reschedule REF --at RFC3339`.
#[derive(clap::Args, Debug)]
pub(crate) struct RescheduleArgs {
    /// The post's reference.
    #[arg(value_name = "REF")]
    client_ref: String,

    /// The new time (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    at: DateTime<FixedOffset>,
}

/// Runs `postd schedule`.
pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let mut post = build_post(&args)?;
    let at = args
        .at
        .map(|t| t.with_timezone(&Utc))
        .or(post.schedule_at.take());
    let stores = setup::stores(global, Open::Create, None).await?;
    let mut targets = Vec::with_capacity(args.to.len());
    let mut apps = BTreeSet::new();
    for to in &args.to {
        let record = stores
            .vault
            .record(&to.tenant, &to.account)
            .await
            .map_err(|e| {
                CliError::or_not_found(e, || {
                    format!(
                        "no account {}/{} in the vault; list them with postd accounts, or connect it with postd connect",
                        to.tenant, to.account
                    )
                })
            })?;
        let target = stored_target(&record.targets, to).ok_or_else(|| {
            let known: Vec<String> = record
                .targets
                .iter()
                .map(|t| format!("{}:{}", output::kind_name(t.kind), t.id))
                .collect();
            CliError::new(format!(
                "account {}/{} has no target {}:{} (it has {}); check --to, or run postd connect again if the account gained it",
                to.tenant,
                to.account,
                output::kind_name(to.kind),
                to.id,
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })?;
        apps.insert((record.platform, record.app.clone()));
        targets.push(DeliveryTarget::new(&to.tenant, &to.account, target));
    }
    let connectors = setup::connectors(apps.iter().map(|(_, app)| app.as_str()))?;
    for (platform, app) in &apps {
        if connectors.get(*platform, app).is_none() {
            return Err(CliError::new(setup::missing_connector(*platform, app)));
        }
    }
    let engine = stores.engine(
        connectors,
        EngineConfig::default().with_max_attempts(args.max_attempts),
    );
    let scheduled = match at {
        Some(at) => engine.schedule(post, targets, at).await,
        None => engine.schedule_now(post, targets).await,
    }
    .map_err(|e| CliError::from_postd(&e, None))?;
    if global.json {
        return output::json(&scheduled);
    }
    output::print(&render_scheduled(&scheduled))
}

fn render_scheduled(s: &Scheduled) -> String {
    let mut table = Table::new(&["ID", "TARGET", "RUN AT", "NATIVE", "DUPLICATE"]);
    for d in &s.deliveries {
        table.row(vec![
            d.id.to_string(),
            output::delivery_label(Some(&d.to)),
            output::time(Some(d.run_at)),
            output::yes_no(d.native),
            output::yes_no(d.duplicate),
        ]);
    }
    let new = s.deliveries.iter().filter(|d| !d.duplicate).count();
    format!(
        "scheduled post {}: {} deliver{} ({new} new); follow it with postd status {}\n{}",
        s.post,
        s.deliveries.len(),
        if s.deliveries.len() == 1 { "y" } else { "ies" },
        s.post,
        table.render()
    )
}

/// The stored target `to` names (with its name and parent).
fn stored_target(targets: &[Target], to: &To) -> Option<Target> {
    targets
        .iter()
        .find(|t| t.kind == to.kind && t.id == to.id)
        .cloned()
}

/// The post from --text or --file, with --ref, --link and --media applied.
fn build_post(args: &Args) -> Result<Post> {
    let mut post = match &args.file {
        Some(path) => read_post(path, args.client_ref.as_deref())?,
        None => {
            let client_ref = args.client_ref.clone().unwrap_or_default();
            let mut post = Post::new(parse_ref(&client_ref)?);
            if let Some(text) = &args.text {
                post = post.with_text(text.clone());
            }
            post
        }
    };
    if let Some(link) = &args.link {
        post.link = Some(link.clone());
    }
    post.media.extend(args.media.iter().cloned());
    for m in &mut post.media {
        absolutize(m);
    }
    Ok(post)
}

fn parse_ref(text: &str) -> Result<ClientRef> {
    ClientRef::new(text).map_err(|e| CliError::new(format!("--ref {text:?}: {}", e.message())))
}

/// A post from a JSON file; `client_ref` replaces the file's.
fn read_post(path: &Path, client_ref: Option<&str>) -> Result<Post> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
    let mut value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::new(format!("{} is not JSON: {e}", path.display())))?;
    if let Some(r) = client_ref {
        parse_ref(r)?;
        match value.as_object_mut() {
            Some(obj) => {
                obj.insert(
                    "client_ref".to_owned(),
                    serde_json::Value::String(r.to_owned()),
                );
            }
            None => {
                return Err(CliError::new(format!(
                    "{} must hold a JSON object (a postd_core::Post)",
                    path.display()
                )));
            }
        }
    }
    serde_json::from_value(value).map_err(|e| {
        CliError::new(format!(
            "{} is not a post: {e}; see postd_core::Post for its fields (client_ref, text, media, link, options)",
            path.display()
        ))
    })
}

/// A relative media path, made absolute: the worker may run elsewhere.
fn absolutize(media: &mut Media) {
    if let postd_core::content::MediaSource::File(path) = &mut media.source
        && let Ok(abs) = std::path::absolute(&*path)
    {
        *path = abs;
    }
}

/// `KIND:PATH_OR_URL`.
fn parse_media(text: &str) -> std::result::Result<Media, String> {
    let (kind, source) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not KIND:PATH_OR_URL (e.g. image:./photo.jpg)"))?;
    let kind = match kind.to_ascii_lowercase().as_str() {
        "image" => MediaKind::Image,
        "video" => MediaKind::Video,
        "gif" => MediaKind::Gif,
        "document" => MediaKind::Document,
        other => {
            return Err(format!(
                "unknown media kind {other:?}; use image, video, gif or document"
            ));
        }
    };
    if source.starts_with("http://") || source.starts_with("https://") {
        let url = Url::parse(source).map_err(|e| format!("{source:?} is not a URL: {e}"))?;
        return Ok(Media::url(kind, url));
    }
    let path = Path::new(source);
    if !path.is_file() {
        return Err(format!("no file at {source}"));
    }
    let path = std::path::absolute(path).map_err(|e| format!("{source}: {e}"))?;
    let size = std::fs::metadata(&path).map(|m| m.len()).ok();
    let media = Media::file(kind, path);
    Ok(match size {
        Some(size) => media.with_size_hint(size),
        None => media,
    })
}

/// `TENANT/ACCOUNT/TARGET_KIND:TARGET_ID`.
fn parse_to(text: &str) -> std::result::Result<To, String> {
    let usage = || {
        format!(
            "{text:?} is not TENANT/ACCOUNT/TARGET_KIND:TARGET_ID (e.g. acme/main/facebook_page:1234)"
        )
    };
    let mut parts = text.splitn(3, '/');
    let (Some(tenant), Some(account), Some(target)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(usage());
    };
    let (kind, id) = target.split_once(':').ok_or_else(usage)?;
    if tenant.is_empty() || account.is_empty() || id.is_empty() {
        return Err(usage());
    }
    let kind = output::parse_kind(kind).ok_or_else(|| {
        let kinds: Vec<String> = output::TARGET_KINDS
            .iter()
            .map(|k| output::kind_name(*k))
            .collect();
        format!(
            "unknown target kind {kind:?}; use one of {}",
            kinds.join(", ")
        )
    })?;
    Ok(To {
        tenant: tenant.to_owned(),
        account: account.to_owned(),
        kind,
        id: id.to_owned(),
    })
}

/// An RFC 3339 time.
fn parse_time(text: &str) -> std::result::Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        format!("{text:?} is not an RFC 3339 time ({e}); write e.g. 2026-05-01T09:00:00Z")
    })
}

/// What `postd cancel` did.
#[derive(Debug, Serialize)]
struct Cancelled<'a> {
    post: &'a str,
    cancelled: u64,
    deliveries: usize,
}

/// Runs `postd cancel`.
pub(crate) async fn cancel(global: &Global, args: CancelArgs) -> Result<()> {
    let engine = setup::stores(global, Open::Existing, None)
        .await?
        .engine(postd_engine::Connectors::new(), EngineConfig::default());
    let status = engine
        .post_status(&args.client_ref)
        .await
        .map_err(|e| CliError::or_not_found(e, || no_such_post(&args.client_ref)))?;
    let cancelled = engine
        .cancel_post(&args.client_ref)
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    let out = Cancelled {
        post: &args.client_ref,
        cancelled,
        deliveries: status.deliveries.len(),
    };
    if global.json {
        return output::json(&out);
    }
    let left = out.deliveries as u64 - cancelled.min(out.deliveries as u64);
    let mut text = format!(
        "cancelled {cancelled} of {} deliveries of post {}",
        out.deliveries, out.post
    );
    if left > 0 {
        text.push_str(&format!(
            "; {left} had started or ended (see postd status {})",
            out.post
        ));
    }
    text.push('\n');
    output::print(&text)
}

/// Runs `postd reschedule`.
pub(crate) async fn reschedule(global: &Global, args: RescheduleArgs) -> Result<()> {
    let engine = setup::stores(global, Open::Existing, None)
        .await?
        .engine(postd_engine::Connectors::new(), EngineConfig::default());
    let moved = engine
        .reschedule_post(&args.client_ref, args.at)
        .await
        .map_err(|e| CliError::or_not_found(e, || no_such_post(&args.client_ref)))?;
    if global.json {
        return output::json(&moved);
    }
    let at = output::time(Some(args.at.with_timezone(&Utc)));
    let mut text = format!(
        "moved {} deliver{} of post {} to {at}\n",
        moved.moved.len(),
        if moved.moved.len() == 1 { "y" } else { "ies" },
        args.client_ref
    );
    for (id, state) in &moved.not_moved {
        let why = if *state == postd_engine::DeliveryState::Scheduled {
            "handed to the platform's own scheduler; change it there".to_owned()
        } else {
            format!("it is {}", state.as_str())
        };
        text.push_str(&format!("delivery {id} did not move: {why}\n"));
    }
    output::print(&text)
}

/// The message for a reference no post has.
pub(crate) fn no_such_post(client_ref: &str) -> String {
    format!("no such post {client_ref}; check the reference (the --ref given to postd schedule)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_to_names_tenant_account_kind_and_an_id_that_may_hold_colons() {
        let to = parse_to("acme/li/linkedin_person:urn:li:person:abc").ok();
        assert_eq!(
            to,
            Some(To {
                tenant: "acme".into(),
                account: "li".into(),
                kind: TargetKind::LinkedInPerson,
                id: "urn:li:person:abc".into(),
            })
        );
        assert!(parse_to("acme/facebook_page:1").is_err());
        assert!(
            parse_to("acme/main/page:1")
                .unwrap_err()
                .contains("facebook_page")
        );
        assert!(parse_to("acme/main/facebook_page:").is_err());
    }

    #[test]
    fn media_take_a_kind_and_a_url_or_an_existing_file() {
        let m = parse_media("image:https://cdn.example/a.jpg").ok();
        assert_eq!(
            m.as_ref().and_then(|m| m.as_url()).map(Url::as_str),
            Some("https://cdn.example/a.jpg")
        );
        assert!(parse_media("sound:https://cdn.example/a.mp3").is_err());
        assert!(
            parse_media("image:/nonexistent/postd/a.jpg")
                .unwrap_err()
                .contains("no file")
        );
        assert!(parse_media("image").is_err());
    }

    #[test]
    fn the_post_json_of_the_help_is_a_post() {
        let json = r#"{"client_ref": "launch-3", "text": "Hello", "link": "https://example.com",
            "media": [{"kind": "image", "source": {"type": "file", "path": "photo.jpg"}}]}"#;
        assert!(SCHEDULE_HELP.contains(r#""source": {"type": "file", "path": "photo.jpg"}"#));
        let post: Post = serde_json::from_str(json).unwrap();
        assert_eq!(post.client_ref.as_str(), "launch-3");
        assert_eq!(post.media[0].kind, MediaKind::Image);
    }

    #[test]
    fn times_are_rfc_3339() {
        assert!(parse_time("2026-05-01T09:00:00+02:00").is_ok());
        assert!(parse_time("tomorrow").is_err());
    }
}
