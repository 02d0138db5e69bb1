//! Campaigns: created as drafts, filled, checked, then sent or scheduled
//! exactly once (<https://mailchimp.com/developer/marketing/api/campaigns/>,
//! <https://mailchimp.com/developer/marketing/api/campaign-content/>,
//! <https://mailchimp.com/developer/marketing/api/campaign-checklist/>).
//!
//! `actions/send` and `actions/schedule` are irreversible: mail that went
//! out cannot be called back. So:
//!
//! - every campaign POSTD makes starts its internal title with a marker
//!   (`[postd:{ref}] …`, `ref` a digest of the post's client reference and
//!   the audience), and **every publish first looks for it**: a draft
//!   (`save`) found is filled and sent instead of creating another; a
//!   campaign already `schedule`d, `sending` or `sent` is answered as it is,
//!   and nothing is sent; one a person paused or cancelled is left alone;
//! - only drafts are created until the send, so a lost create answer leaves
//!   at most an unsent draft, found by the next lookup; after a create the
//!   lookup runs again, and racing attempts all keep the oldest draft;
//! - the send is made once, never retried by the HTTP client; a lost answer
//!   is an unknown outcome, reconciled from the campaign's status;
//! - a send refused with `400` is checked against the campaign: already
//!   `sending`/`sent`/`schedule` means the first one went (a repeat), not a
//!   failure;
//! - only a draft (`save`) is ever sent.
//!
//! The send checklist runs before every send; when it fails, its items are
//! returned word for word. Content and sender problems are permanent; a
//! failure only about the audience or segment (Mailchimp still processing a
//! new one) is checked once more after a short wait. Schedules are on
//! Mailchimp's quarter-hour UTC slots, checked offline: the error names the
//! next valid slot.

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::{
    Capabilities, Credentials, Error, ErrorKind, Fingerprint, MailchimpOptions, MediaSource,
    Platform, Post, PublishHandle, PublishOutcome, PublishStatus, PublishedPost, Result,
    ScheduleWindow, Target,
};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::api::{Account, Api, id};
use crate::audiences::valid_email;
use crate::error::cut;

/// The longest subject line and preview text, in characters.
pub const SUBJECT_MAX_CHARS: usize = 150;

/// The largest HTML body taken (bytes).
pub const MAX_HTML_BYTES: usize = 1024 * 1024;

/// When a campaign may be handed to Mailchimp's scheduler: 15 minutes to a
/// year ahead (POSTD's bounds; Mailchimp documents neither).
pub const SCHEDULE_WINDOW: ScheduleWindow = ScheduleWindow::new(
    std::time::Duration::from_secs(15 * 60),
    std::time::Duration::from_secs(365 * 24 * 3600),
);

/// The handle kind of a campaign that was sent or scheduled.
pub(crate) const HANDLE_KIND: &str = "mc_campaign";

/// The most test addresses taken.
const MAX_TEST_EMAILS: usize = 10;

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_content(message)
        .with_platform(Platform::Mailchimp)
        .with_operation("validate")
}

/// The first quarter-hour slot at or after `at` (UTC).
pub fn next_slot(at: DateTime<Utc>) -> DateTime<Utc> {
    let minute = at.minute();
    let on_slot = minute.is_multiple_of(15) && at.second() == 0 && at.nanosecond() == 0;
    if on_slot {
        return at;
    }
    let base = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .and_then(|t| t.with_minute(minute - minute % 15))
        .unwrap_or(at);
    base.checked_add_signed(TimeDelta::minutes(15))
        .unwrap_or(at)
}

/// The marker a campaign of `client_ref` to `list_id` carries in its title.
pub(crate) fn marker(client_ref: &str, list_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(client_ref.as_bytes());
    h.update([0u8]);
    h.update(list_id.as_bytes());
    let hex: String = h.finalize()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("[postd:{hex}]")
}

fn options(post: &Post) -> MailchimpOptions {
    post.options.mailchimp.clone().unwrap_or_default()
}

/// Everything `validate` checks, without I/O.
pub(crate) fn validate(
    caps: &Capabilities,
    target: &Target,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<()> {
    id("the audience id", &target.id).map_err(|e| e.with_operation("validate"))?;
    let o = options(post);
    // A template campaign's content is its sections: the post needs no text.
    if o.template_id.is_some() && post.text.is_none() {
        caps.check_common(&post.clone().with_text("template"))?;
    } else {
        caps.check_common(post)?;
    }
    let line = |what: &str, v: &Option<String>, required: bool| -> Result<()> {
        match v {
            None if required => Err(invalid(format!("a campaign needs a {what}"))),
            None => Ok(()),
            Some(s) if s.trim().is_empty() && required => {
                Err(invalid(format!("a campaign needs a {what}")))
            }
            Some(s) if s.chars().count() > SUBJECT_MAX_CHARS => Err(invalid(format!(
                "the {what} is {} characters; at most {SUBJECT_MAX_CHARS}",
                s.chars().count()
            ))),
            Some(s) if s.contains(['\r', '\n']) => {
                Err(invalid(format!("the {what} holds a line break")))
            }
            Some(_) => Ok(()),
        }
    };
    line("subject line", &o.subject_line, true)?;
    line("preview text", &o.preview_text, false)?;
    if o.title.as_ref().is_some_and(|t| t.chars().count() > 100) {
        return Err(invalid("the campaign title is at most 100 characters"));
    }
    if o.from_name
        .as_ref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > 100)
    {
        return Err(invalid("the sender name is 1 to 100 characters"));
    }
    if let Some(r) = &o.reply_to
        && !valid_email(r)
    {
        return Err(invalid("the reply-to is not an email address"));
    }
    if let Some(link) = &post.link
        && !matches!(link.scheme(), "https" | "http")
    {
        return Err(invalid("the link is an http(s) URL"));
    }
    match (o.template_id, &o.html) {
        (Some(0), _) => return Err(invalid("a template id is a positive number")),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "a campaign is a template or its own HTML, not both",
            ));
        }
        (None, _) if !o.template_sections.is_empty() => {
            return Err(invalid("template sections need a template"));
        }
        (Some(_), None) if post.link.is_some() || !post.media.is_empty() => {
            return Err(invalid(
                "a template campaign takes its content from the template's sections: put the link and images there",
            ));
        }
        _ => {}
    }
    if o.template_sections.values().map(String::len).sum::<usize>() > MAX_HTML_BYTES {
        return Err(invalid("the template sections are over 1 MiB"));
    }
    if o.html.is_none() && rendered_bound(post) > MAX_HTML_BYTES {
        // The rendered body grows with escaping: when it might be too large,
        // checked as it will be sent (rendering is skipped for the rest).
        let rendered = content(post);
        if rendered["html"].as_str().map_or(0, str::len) > MAX_HTML_BYTES {
            return Err(invalid(format!(
                "the email body is over {MAX_HTML_BYTES} bytes as HTML"
            )));
        }
    }
    if let Some(html) = &o.html {
        if html.trim().is_empty() {
            return Err(invalid("the HTML body is empty"));
        }
        if html.len() > MAX_HTML_BYTES {
            return Err(invalid(format!(
                "the HTML body is {} bytes; at most {MAX_HTML_BYTES}",
                html.len()
            )));
        }
        if post.link.is_some() {
            return Err(invalid(
                "the post has its own HTML and a link: put the link in the HTML (it would not be used)",
            ));
        }
        if !post.media.is_empty() {
            return Err(invalid(
                "the post has its own HTML and media: reference the images in the HTML",
            ));
        }
    }
    for m in &post.media {
        match &m.source {
            MediaSource::Url(u) if u.scheme() == "https" => {}
            MediaSource::Url(_) => return Err(invalid("an image in an email is an https URL")),
            _ => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "Mailchimp campaigns reference images by https URL; files and bytes are not uploaded",
                )
                .with_platform(Platform::Mailchimp)
                .with_operation("validate"));
            }
        }
    }
    if o.segment_id == Some(0) {
        return Err(invalid("a segment id is a positive number"));
    }
    if o.test_emails.len() > MAX_TEST_EMAILS {
        return Err(invalid(format!("at most {MAX_TEST_EMAILS} test addresses")));
    }
    if let Some(bad) = o.test_emails.iter().find(|e| !valid_email(e)) {
        return Err(invalid(format!(
            "test address {:?} is not an email address",
            cut(bad, 80)
        )));
    }
    if o.timewarp && o.batch_delivery.is_some() {
        return Err(invalid("Timewarp and batch delivery cannot be combined"));
    }
    if let Some(b) = o.batch_delivery
        && (b.batch_count < 2 || b.batch_delay < 1 || b.batch_count > 26)
    {
        return Err(invalid(
            "batch delivery is 2 to 26 batches at least a minute apart",
        ));
    }
    match post.schedule_at {
        None if o.timewarp || o.batch_delivery.is_some() => Err(invalid(
            "Timewarp and batch delivery need the campaign scheduled with Mailchimp (schedule_at)",
        )),
        None => Ok(()),
        Some(at) => {
            let slot = next_slot(at);
            if slot != at {
                return Err(invalid(format!(
                    "Mailchimp schedules on quarter hours (UTC): {at} is not one; the next is {}",
                    slot.to_rfc3339()
                )));
            }
            let ahead = at.signed_duration_since(now);
            let min = TimeDelta::from_std(SCHEDULE_WINDOW.min_ahead).unwrap_or_default();
            let max = TimeDelta::from_std(SCHEDULE_WINDOW.max_ahead).unwrap_or_default();
            if ahead < min || ahead > max {
                return Err(invalid(format!(
                    "a campaign handed to Mailchimp's scheduler is due 15 minutes to 365 days ahead; {at} is not (the earliest slot now is {})",
                    next_slot(now + min).to_rfc3339()
                )));
            }
            if o.timewarp && ahead < TimeDelta::hours(24) {
                return Err(invalid(
                    "a Timewarp campaign is scheduled at least 24 hours ahead",
                ));
            }
            Ok(())
        }
    }
}

/// `s` as HTML text. A merge tag (`*|EMAIL|*`, `*|FEEDBLOCK:…|*`) is
/// neutralised: Mailchimp expands tags per recipient, and text from a post
/// must not put a recipient's address in a URL or pull in remote content
/// (merge tags work in the `html` option, which its author controls).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace("*|", "*&#124;")
}

/// A URL from a post with `*` and `|` percent-encoded, so no merge tag survives in it.
fn untagged(u: &Url) -> String {
    u.as_str().replace('*', "%2A").replace('|', "%7C")
}

/// [`untagged`], safe in an HTML attribute.
fn url_attr(u: &Url) -> String {
    escape(&untagged(u))
}

/// Plain text with merge tags broken by a zero-width space.
fn plain(s: &str) -> String {
    s.replace("*|", "*\u{200B}|")
}

/// An upper bound on the size of `post`'s rendered HTML: escaping makes a
/// character at most 6 bytes (`"` → `&quot;`), URLs and alt texts appear at
/// most twice, an item's markup is under 64 bytes, and a paragraph's under 8.
fn rendered_bound(post: &Post) -> usize {
    let text = post.text.as_ref().map_or(0, String::len);
    let link = post.link.as_ref().map_or(0, |l| l.as_str().len());
    let media: usize = post
        .media
        .iter()
        .map(|m| {
            let url = match &m.source {
                MediaSource::Url(u) => u.as_str().len(),
                _ => 0,
            };
            url + m.alt_text.as_ref().map_or(0, String::len)
        })
        .sum();
    6 * (text + 2 * link + media) + 64 * (post.media.len() + 2) + 8 * (text / 2 + 1)
}

/// The content of `post`: its HTML, or its text rendered as paragraphs with
/// its link and images, and the same as plain text.
pub(crate) fn content(post: &Post) -> Value {
    let o = options(post);
    if let Some(id) = o.template_id {
        return json!({"template": {"id": id, "sections": o.template_sections}});
    }
    let text = post.text.clone().unwrap_or_default();
    let mut plain_text = plain(&text);
    if let Some(link) = &post.link {
        plain_text.push_str(&format!("\n\n{}", untagged(link)));
    }
    let html = match o.html {
        Some(h) => h,
        None => {
            let mut h = String::from("<html><body>");
            for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
                h.push_str(&format!("<p>{}</p>", escape(para).replace('\n', "<br>")));
            }
            for m in &post.media {
                if let MediaSource::Url(u) = &m.source {
                    let alt = m.alt_text.as_deref().unwrap_or("");
                    h.push_str(&format!(
                        "<p><img src=\"{}\" alt=\"{}\"></p>",
                        url_attr(u),
                        escape(alt)
                    ));
                }
            }
            if let Some(link) = &post.link {
                let l = url_attr(link);
                h.push_str(&format!("<p><a href=\"{l}\">{l}</a></p>"));
            }
            h.push_str("</body></html>");
            h
        }
    };
    json!({"html": html, "plain_text": plain_text})
}

/// The part of a campaign POSTD reads.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct Campaign {
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) create_time: Option<String>,
    pub(crate) send_time: Option<String>,
    pub(crate) emails_sent: u64,
    pub(crate) archive_url: Option<String>,
    pub(crate) long_archive_url: Option<String>,
    pub(crate) settings: Settings,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub(crate) struct Settings {
    pub(crate) title: String,
}

const CAMPAIGN_FIELDS: &str =
    "id,status,create_time,send_time,emails_sent,archive_url,long_archive_url,settings.title";

fn time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn published(c: &Campaign) -> PublishedPost {
    let url = c
        .long_archive_url
        .as_deref()
        .or(c.archive_url.as_deref())
        .and_then(|u| Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"));
    PublishedPost::new(c.id.clone()).with_url(url)
}

fn handle(target: &Target, c: &Campaign) -> PublishHandle {
    PublishHandle::new(
        Platform::Mailchimp,
        target.id.clone(),
        HANDLE_KIND,
        c.id.clone(),
    )
}

/// The audience's campaigns carrying `marker`, and whether the list was read to its end.
async fn marked(
    api: &Api,
    account: &Account,
    list_id: &str,
    marker: &str,
    since: DateTime<Utc>,
) -> Result<(Vec<Campaign>, bool)> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Page {
        campaigns: Vec<Campaign>,
        total_items: u64,
    }
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.list");
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut found = Vec::new();
    let mut offset = 0u64;
    for _ in 0..5 {
        let off = offset.to_string();
        let fields = format!(
            "campaigns.{},total_items",
            CAMPAIGN_FIELDS.replace(',', ",campaigns.")
        );
        let url = api.url(
            account,
            "campaigns",
            &[
                ("list_id", list_id),
                ("since_create_time", since.as_str()),
                ("sort_field", "create_time"),
                ("sort_dir", "DESC"),
                ("count", "1000"),
                ("offset", off.as_str()),
                ("fields", fields.as_str()),
            ],
        );
        let page: Page = api.get(ctx, account, url).await?;
        let got = page.campaigns.len() as u64;
        found.extend(page.campaigns.into_iter().filter(|c| {
            c.settings.title.starts_with(marker) && id("the campaign id", &c.id).is_ok()
        }));
        offset += got;
        if got == 0 || offset >= page.total_items {
            return Ok((found, true));
        }
    }
    Ok((found, false))
}

fn gone(c: &Campaign) -> Error {
    Error::new(
        ErrorKind::InvalidContent,
        format!(
            "campaign {} was {} in Mailchimp by a person; POSTD sends it no more",
            c.id, c.status
        ),
    )
    .with_platform(Platform::Mailchimp)
    .with_code(format!("campaign_{}", cut(&c.status, 20)))
}

/// `marked` read from a lookup: what to do before creating anything.
enum Found {
    /// Nothing of ours: create.
    Nothing,
    /// A draft of ours: fill it and send.
    Draft(Campaign),
    /// Already delivered (or handed to the scheduler): answer it.
    Done(Campaign),
}

/// Whether a campaign went (or will go) to the audience.
fn delivered(c: &Campaign) -> bool {
    matches!(c.status.as_str(), "sending" | "sent" | "schedule")
        || (c.status == "archived" && c.emails_sent > 0)
}

fn what_was_found(found: &[Campaign]) -> Result<Found> {
    let delivered_ones: Vec<&Campaign> = found.iter().filter(|c| delivered(c)).collect();
    if delivered_ones.len() > 1 {
        let ids: Vec<&str> = delivered_ones.iter().map(|c| c.id.as_str()).collect();
        tracing::error!(platform = "mailchimp", campaigns = ?ids, "duplicate_detected: one post was mailed (or scheduled) more than once");
        return Err(Error::new(
            ErrorKind::Duplicate,
            format!(
                "the post went (or is scheduled to go) out in more than one campaign: {}",
                ids.join(", ")
            ),
        )
        .with_platform(Platform::Mailchimp));
    }
    if let Some(c) = delivered_ones.first() {
        return Ok(Found::Done((*c).clone()));
    }
    // A person stopped it: never resumed by POSTD.
    if let Some(c) = found
        .iter()
        .find(|c| matches!(c.status.as_str(), "canceled" | "canceling" | "paused"))
    {
        return Err(gone(c));
    }
    // The oldest draft is the one every attempt picks.
    let mut drafts: Vec<&Campaign> = found.iter().filter(|c| c.status == "save").collect();
    drafts.sort_by(|a, b| (&a.create_time, &a.id).cmp(&(&b.create_time, &b.id)));
    Ok(match (drafts.first(), found.first()) {
        (Some(c), _) => Found::Draft((*c).clone()),
        (None, None) => Found::Nothing,
        // Archived unsent, or unknown: a person looks.
        (None, Some(c)) => {
            return Err(Error::new(
                ErrorKind::UnknownOutcome,
                format!(
                    "campaign {} of this post is {:?}; check it in Mailchimp",
                    c.id,
                    cut(&c.status, 20)
                ),
            )
            .with_platform(Platform::Mailchimp));
        }
    })
}

/// The audience's campaigns of this post, read to the end (or "cannot tell").
async fn lookup(
    api: &Api,
    account: &Account,
    list_id: &str,
    mark: &str,
    since: DateTime<Utc>,
) -> Result<Vec<Campaign>> {
    let (found, complete) = marked(api, account, list_id, mark, since).await?;
    // A list not read to its end proves nothing but a delivery found in it.
    if !complete && !found.iter().any(delivered) {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "the audience has more than 5,000 campaigns in the window: absence cannot be proven; check them by hand",
        )
        .with_platform(Platform::Mailchimp));
    }
    Ok(found)
}

fn outcome_of(target: &Target, c: &Campaign) -> PublishOutcome {
    match c.status.as_str() {
        "sent" => PublishOutcome::Published(published(c)),
        _ => PublishOutcome::Pending(handle(target, c)),
    }
}

pub(crate) async fn publish(
    api: &Api,
    credentials: &Credentials,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    let account = api.account(credentials).await?;
    let list_id = id("the audience id", &target.id)?.to_owned();
    let mark = marker(post.client_ref.as_str(), &list_id);
    let since = Utc::now()
        .checked_sub_signed(TimeDelta::from_std(api.cfg.lookup_window).unwrap_or_default())
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // Step 0: look before creating (the same lookup as find_published).
    let found = lookup(api, &account, &list_id, &mark, since).await?;
    let (campaign, fresh) = match what_was_found(&found)? {
        Found::Done(c) => return Ok(outcome_of(target, &c)),
        Found::Draft(c) => (c, false),
        Found::Nothing => {
            let mine = create(api, &account, &list_id, post, &mark).await?;
            // Another attempt may have raced this one: every attempt looks
            // again and keeps the same draft (the oldest), so at most one is
            // ever sent; a draft that lost is deleted.
            let again = lookup(api, &account, &list_id, &mark, since).await?;
            match what_was_found(&again)? {
                Found::Done(c) => {
                    discard(api, &account, &mine.id).await;
                    return Ok(outcome_of(target, &c));
                }
                Found::Draft(c) if c.id != mine.id => {
                    discard(api, &account, &mine.id).await;
                    (c, false)
                }
                _ => (mine, true),
            }
        }
    };
    let cid = id("the campaign id", &campaign.id)?.to_owned();
    if !fresh {
        // A resumed draft takes the post's settings as they are now.
        update_settings(api, &account, &list_id, &cid, post, &mark).await?;
    }
    // Content (idempotent).
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.content");
    let url = api.url(&account, &format!("campaigns/{cid}/content"), &[]);
    api.call(ctx, &account, Method::PUT, url, Some(&content(post)))
        .await?;
    let o = options(post);
    if fresh && !o.test_emails.is_empty() {
        send_test(api, &account, &cid, &o.test_emails).await?;
    }
    checklist(api, &account, &cid).await?;
    deliver(api, &account, target, &cid, post).await
}

/// Deletes a draft this attempt made and another attempt's draft replaced
/// (best effort: an unsent draft mails no one).
async fn discard(api: &Api, account: &Account, cid: &str) {
    let Ok(cid) = id("the campaign id", cid) else {
        return;
    };
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.delete");
    let url = api.url(account, &format!("campaigns/{cid}"), &[]);
    if let Err(e) = api.call(ctx, account, Method::DELETE, url, None).await {
        tracing::warn!(platform = "mailchimp", kind = %e.kind(), "could not delete a duplicate draft");
    }
}

async fn settings_body(
    api: &Api,
    account: &Account,
    list_id: &str,
    post: &Post,
    mark: &str,
) -> Result<Value> {
    let o = options(post);
    let (from_name, reply_to) = match (&o.from_name, &o.reply_to) {
        (Some(n), Some(r)) => (n.clone(), r.clone()),
        _ => {
            let d = crate::audiences::defaults(api, account, list_id).await?;
            (
                o.from_name.clone().unwrap_or(d.from_name),
                o.reply_to.clone().unwrap_or(d.from_email),
            )
        }
    };
    if from_name.trim().is_empty() || !valid_email(&reply_to) {
        return Err(Error::invalid_content(
            "the campaign needs a sender name and a reply-to address: set them on the post or as the audience's campaign defaults",
        )
        .with_platform(Platform::Mailchimp));
    }
    let subject = o.subject_line.clone().unwrap_or_default();
    // The marker first: a title cut short keeps it.
    let title = format!("{mark} {}", o.title.as_deref().unwrap_or(&subject));
    let mut settings = json!({
        "subject_line": subject,
        "title": title,
        "from_name": from_name,
        "reply_to": reply_to,
    });
    if let Some(p) = &o.preview_text {
        settings["preview_text"] = json!(p);
    }
    let mut recipients = json!({"list_id": list_id});
    if let Some(s) = o.segment_id {
        recipients["segment_opts"] = json!({"saved_segment_id": s});
    }
    Ok(json!({"recipients": recipients, "settings": settings}))
}

/// `POST /campaigns`: a draft only.
async fn create(
    api: &Api,
    account: &Account,
    list_id: &str,
    post: &Post,
    mark: &str,
) -> Result<Campaign> {
    let mut body = settings_body(api, account, list_id, post, mark).await?;
    body["type"] = json!("regular");
    // Not idempotent, but only a draft: a lost answer is found by the next lookup.
    let ctx = RequestContext::non_idempotent(Platform::Mailchimp, "campaigns.create")
        .distrusting_unavailable();
    let c: Campaign = api
        .json(
            ctx,
            account,
            Method::POST,
            api.url(account, "campaigns", &[]),
            &body,
        )
        .await?;
    if c.status != "save"
        || id("the campaign id", &c.id).is_err()
        || !c.settings.title.starts_with(mark)
    {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "Mailchimp answered the create without a draft campaign; the next attempt looks for it",
        )
        .with_platform(Platform::Mailchimp));
    }
    Ok(c)
}

async fn update_settings(
    api: &Api,
    account: &Account,
    list_id: &str,
    cid: &str,
    post: &Post,
    mark: &str,
) -> Result<()> {
    let body = settings_body(api, account, list_id, post, mark).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.update");
    let url = api.url(account, &format!("campaigns/{cid}"), &[]);
    api.call(ctx, account, Method::PATCH, url, Some(&body))
        .await
        .map(|_| ())
}

async fn send_test(api: &Api, account: &Account, cid: &str, emails: &[String]) -> Result<()> {
    let ctx = RequestContext::non_idempotent(Platform::Mailchimp, "campaigns.test");
    let url = api.url(account, &format!("campaigns/{cid}/actions/test"), &[]);
    api.call(
        ctx,
        account,
        Method::POST,
        url,
        Some(&json!({"test_emails": emails, "send_type": "html"})),
    )
    .await
    .map(|_| ())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Checklist {
    is_ready: bool,
    items: Vec<Item>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct Item {
    #[serde(rename = "type")]
    kind: String,
    heading: String,
    details: String,
}

/// Whether an item is about the recipients (an audience or segment Mailchimp
/// may still be processing), not the content or the sender.
fn about_recipients(item: &Item) -> bool {
    let heading = item.heading.to_ascii_lowercase();
    ["audience", "segment", "recipients", "list"]
        .iter()
        .any(|w| {
            heading
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|word| word == *w)
        })
}

async fn read_checklist(api: &Api, account: &Account, cid: &str) -> Result<Checklist> {
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.checklist");
    api.get(
        ctx,
        account,
        api.url(account, &format!("campaigns/{cid}/send-checklist"), &[]),
    )
    .await
}

/// The send checklist must pass; its failing items are returned as Mailchimp words them.
async fn checklist(api: &Api, account: &Account, cid: &str) -> Result<()> {
    let mut list = read_checklist(api, account, cid).await?;
    let errors = |l: &Checklist| -> Vec<Item> {
        l.items
            .iter()
            .filter(|i| i.kind == "error")
            .cloned()
            .collect()
    };
    let mut failing = errors(&list);
    if !list.is_ready && !failing.is_empty() && failing.iter().all(about_recipients) {
        // A new audience or segment may still be processing: once more.
        tokio::time::sleep(api.cfg.checklist_recheck).await;
        list = read_checklist(api, account, cid).await?;
        failing = errors(&list);
    }
    for w in list.items.iter().filter(|i| i.kind == "warning") {
        tracing::info!(platform = "mailchimp", heading = %cut(&w.heading, 100), "send checklist warning");
    }
    if list.is_ready {
        return Ok(());
    }
    let words: Vec<String> = failing
        .iter()
        .take(10)
        .map(|i| format!("{}: {}", cut(&i.heading, 100), cut(&i.details, 300)))
        .collect();
    let recipients_only = !failing.is_empty() && failing.iter().all(about_recipients);
    let e = Error::new(
        ErrorKind::InvalidContent,
        format!(
            "Mailchimp's send checklist failed for draft campaign {cid} (kept; the next publish reuses it): {}",
            if words.is_empty() {
                "not ready to send".to_owned()
            } else {
                words.join("; ")
            }
        ),
    )
    .with_platform(Platform::Mailchimp)
    .with_code("send_checklist");
    // A recipients-only failure that outlived the recheck: later, not never.
    Err(if recipients_only {
        e.temporary(Some(std::time::Duration::from_secs(300)))
    } else {
        e
    })
}

/// `actions/send` or `actions/schedule`, once.
async fn deliver(
    api: &Api,
    account: &Account,
    target: &Target,
    cid: &str,
    post: &Post,
) -> Result<PublishOutcome> {
    let o = options(post);
    let (path, body, op) = match post.schedule_at {
        Some(at) => {
            let mut b = json!({
                "schedule_time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "timewarp": o.timewarp,
            });
            if let Some(batch) = o.batch_delivery {
                b["batch_delivery"] =
                    json!({"batch_delay": batch.batch_delay, "batch_count": batch.batch_count});
            }
            ("schedule", Some(b), "campaigns.schedule")
        }
        None => ("send", None, "campaigns.send"),
    };
    let ctx = RequestContext::non_idempotent(Platform::Mailchimp, op).distrusting_unavailable();
    let url = api.url(account, &format!("campaigns/{cid}/actions/{path}"), &[]);
    match api
        .call(ctx, account, Method::POST, url, body.as_ref())
        .await
    {
        Ok(_) => {
            let mut h =
                PublishHandle::new(Platform::Mailchimp, target.id.clone(), HANDLE_KIND, cid);
            let batch_minutes = o
                .batch_delivery
                .map_or(0, |b| i64::from(b.batch_count) * i64::from(b.batch_delay));
            if let Some(at) = post.schedule_at {
                h = h.with_state(
                    json!({"scheduled_for": at.to_rfc3339(), "batch_minutes": batch_minutes}),
                );
            }
            Ok(PublishOutcome::Pending(h))
        }
        // Refused: but a repeat of a send that went is refused too.
        Err(e) if e.http_status() == Some(400) => {
            let c = get(api, account, cid).await?;
            if delivered(&c) {
                Ok(outcome_of(target, &c))
            } else {
                // The slot was checked offline: what is left is the plan.
                if post.schedule_at.is_some() && e.message().contains("cannot be scheduled") {
                    let message = format!(
                        "{} (scheduling with Mailchimp needs a paid plan; without one, publish without schedule_at and the queue holds the campaign until its time)",
                        e.message()
                    );
                    return Err(e.with_kind(ErrorKind::Unsupported).with_message(message));
                }
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

async fn get(api: &Api, account: &Account, cid: &str) -> Result<Campaign> {
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.get");
    let url = api.url(
        account,
        &format!("campaigns/{}", id("the campaign id", cid)?),
        &[("fields", CAMPAIGN_FIELDS)],
    );
    api.get(ctx, account, url).await
}

/// Whether a campaign still `state` at `now` is past the time a person
/// should look: a day after its send time plus its batches' span for one
/// `sending` or `schedule`d, a week after the publish otherwise.
fn past_horizon(
    handle: &PublishHandle,
    state: &str,
    send_time: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    let batches = handle
        .state
        .get("batch_minutes")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let limit = match (state, send_time) {
        ("sending" | "schedule", Some(t)) => t
            .checked_add_signed(TimeDelta::hours(24))
            .and_then(|t| t.checked_add_signed(TimeDelta::minutes(batches))),
        _ => handle.started_at.checked_add_signed(TimeDelta::days(7)),
    };
    limit.is_some_and(|limit| now > limit)
}

pub(crate) async fn status(
    api: &Api,
    credentials: &Credentials,
    handle: &PublishHandle,
) -> Result<PublishStatus> {
    if handle.kind != HANDLE_KIND || handle.platform != Platform::Mailchimp {
        return Err(Error::invalid_content(format!(
            "not a Mailchimp campaign handle (kind {:?})",
            cut(&handle.kind, 40)
        ))
        .with_platform(Platform::Mailchimp));
    }
    let account = api.account(credentials).await?;
    let c = get(api, &account, &handle.id).await?;
    let now = Utc::now();
    // A campaign handed to the scheduler went out at its time.
    let scheduled = handle
        .state
        .get("scheduled_for")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let done = |c: &Campaign| {
        let p = published(c);
        match scheduled {
            Some(at) => p.with_scheduled_for(at),
            None => p,
        }
    };
    Ok(match c.status.as_str() {
        "sent" => PublishStatus::Published(done(&c)),
        "archived" if c.emails_sent > 0 => PublishStatus::Published(done(&c)),
        "canceled" => {
            let e = gone(&c);
            PublishStatus::Failed {
                kind: e.kind(),
                code: "campaign_canceled".to_owned(),
                message: e.message().to_owned(),
            }
        }
        // Right after a send Mailchimp may still show the draft for a moment.
        "save"
            if scheduled.is_none()
                && now.signed_duration_since(handle.started_at) < TimeDelta::minutes(2) =>
        {
            PublishStatus::Processing {
                state: "save".to_owned(),
                retry_after: std::time::Duration::from_secs(10),
                next: handle.clone(),
            }
        }
        "save" => PublishStatus::Failed {
            kind: ErrorKind::Unexpected,
            code: "campaign_back_to_draft".to_owned(),
            message: format!(
                "campaign {} is a draft again (unscheduled in Mailchimp, or the send never took); publish again to send it",
                c.id
            ),
        },
        // Still sending (or not sent) a day after its time (and its batches),
        // or in any other state a week after the publish: a person looks.
        state if past_horizon(handle, state, time(&c.send_time), now) => PublishStatus::Failed {
            kind: ErrorKind::Timeout,
            code: format!("campaign_{}", cut(state, 20)),
            message: format!(
                "campaign {} is still {:?} long after it was due; check it in Mailchimp",
                c.id,
                cut(state, 20)
            ),
        },
        state => {
            let wait = match (state, time(&c.send_time)) {
                ("schedule", Some(at)) if at > now => at
                    .signed_duration_since(now)
                    .to_std()
                    .unwrap_or_default()
                    .saturating_add(std::time::Duration::from_secs(60))
                    .min(std::time::Duration::from_secs(6 * 3600)),
                _ => api.cfg.status_poll_interval,
            };
            PublishStatus::Processing {
                state: cut(state, 20),
                retry_after: wait,
                next: handle.clone(),
            }
        }
    })
}

pub(crate) async fn find_published(
    api: &Api,
    credentials: &Credentials,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    let account = api.account(credentials).await?;
    let list_id = id("the audience id", &target.id)?;
    let mark = marker(fingerprint.client_ref.as_str(), list_id);
    let window = TimeDelta::from_std(api.cfg.lookup_window).unwrap_or_default();
    let since = fingerprint
        .earliest()
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let found = lookup(api, &account, list_id, &mark, since).await?;
    match what_was_found(&found)? {
        Found::Done(c) => {
            let mut p = published(&c);
            if c.status == "schedule"
                && let Some(at) = time(&c.send_time)
            {
                p = p.with_scheduled_for(at);
            }
            Ok(Some(p))
        }
        // A draft was never sent: publishing again fills and sends it. Nothing
        // is nothing: `lookup` read the list to its end.
        Found::Draft(_) | Found::Nothing => Ok(None),
    }
}

/// `actions/unschedule`: a scheduled campaign back to a draft.
pub(crate) async fn unschedule(
    api: &Api,
    credentials: &Credentials,
    campaign_id: &str,
) -> Result<()> {
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "campaigns.unschedule");
    let url = api.url(
        &account,
        &format!(
            "campaigns/{}/actions/unschedule",
            id("the campaign id", campaign_id)?
        ),
        &[],
    );
    api.call(ctx, &account, Method::POST, url, None)
        .await
        .map(|_| ())
}

/// A test email of a campaign to `emails`.
pub(crate) async fn test_send(
    api: &Api,
    credentials: &Credentials,
    campaign_id: &str,
    emails: &[String],
) -> Result<()> {
    if emails.is_empty() || emails.len() > MAX_TEST_EMAILS || emails.iter().any(|e| !valid_email(e))
    {
        return Err(Error::invalid_content(format!(
            "a test goes to 1 to {MAX_TEST_EMAILS} email addresses"
        ))
        .with_platform(Platform::Mailchimp));
    }
    let account = api.account(credentials).await?;
    send_test(api, &account, id("the campaign id", campaign_id)?, emails).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_quarter_hours_and_the_next_one_is_named() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            next_slot(t("2026-04-01T14:15:00Z")),
            t("2026-04-01T14:15:00Z")
        );
        assert_eq!(
            next_slot(t("2026-04-01T14:07:00Z")),
            t("2026-04-01T14:15:00Z")
        );
        assert_eq!(
            next_slot(t("2026-04-01T14:15:01Z")),
            t("2026-04-01T14:30:00Z")
        );
        assert_eq!(
            next_slot(t("2026-04-01T23:59:00Z")),
            t("2026-04-02T00:00:00Z")
        );
    }

    #[test]
    fn merge_tags_in_a_posts_text_links_and_images_are_neutralised() {
        use postd_core::{ClientRef, Media, MediaKind};
        let p = Post::new(ClientRef::new("m").unwrap())
            .with_text("Hi *|FNAME|* *|FEEDBLOCK:https://evil.example/rss|*")
            .with_link(Url::parse("https://example.com/?e=*|EMAIL|*").unwrap())
            .with_media(Media::url(
                MediaKind::Image,
                Url::parse("https://evil.example/p.gif?e=*|EMAIL|*").unwrap(),
            ));
        let c = content(&p);
        let html = c["html"].as_str().unwrap();
        let plain = c["plain_text"].as_str().unwrap();
        assert!(!html.contains("*|"), "{html}");
        assert!(!plain.contains("*|"), "{plain}");
        assert!(
            html.contains("%2A%7CEMAIL%7C%2A") || html.contains("%7CEMAIL%7C"),
            "{html}"
        );
        // The html option is the author's own: tags work there.
        let own = Post::new(ClientRef::new("o").unwrap()).with_mailchimp(
            MailchimpOptions::new()
                .with_subject_line("s")
                .with_html("<p>Hi *|FNAME|*</p>"),
        );
        assert!(
            content(&own)["html"]
                .as_str()
                .unwrap()
                .contains("*|FNAME|*")
        );
    }

    fn campaign(id: &str, status: &str, created: &str, sent: u64) -> Campaign {
        Campaign {
            id: id.to_owned(),
            status: status.to_owned(),
            create_time: Some(created.to_owned()),
            emails_sent: sent,
            ..Campaign::default()
        }
    }

    #[test]
    fn what_was_found_picks_one_draft_and_never_a_second_delivery() {
        let drafts = [
            campaign("b2", "save", "2026-03-01T10:00:05+00:00", 0),
            campaign("a1", "save", "2026-03-01T10:00:00+00:00", 0),
        ];
        assert!(matches!(what_was_found(&drafts).unwrap(), Found::Draft(c) if c.id == "a1"));
        let two = [
            campaign("a1", "sent", "2026-03-01T10:00:00+00:00", 10),
            campaign("b2", "schedule", "2026-03-01T10:00:05+00:00", 0),
        ];
        assert_eq!(
            what_was_found(&two).err().unwrap().kind(),
            ErrorKind::Duplicate
        );
        let archived = [
            campaign("a1", "archived", "2026-03-01T10:00:00+00:00", 10),
            campaign("b2", "save", "2026-03-01T10:00:05+00:00", 0),
        ];
        assert!(matches!(what_was_found(&archived).unwrap(), Found::Done(c) if c.id == "a1"));
        let paused = [campaign("a1", "paused", "2026-03-01T10:00:00+00:00", 0)];
        assert_eq!(
            what_was_found(&paused).err().unwrap().kind(),
            ErrorKind::InvalidContent
        );
        assert!(matches!(what_was_found(&[]).unwrap(), Found::Nothing));
    }

    #[test]
    fn the_size_bound_is_never_below_the_rendered_body() {
        use postd_core::{ClientRef, Media, MediaKind};
        for text in [
            "\"".repeat(5000),
            "a\n\n".repeat(3000),
            "*|".repeat(4000),
            "x\n".repeat(4000),
            "<&>".repeat(2000),
            String::new(),
        ] {
            let p = Post::new(ClientRef::new("b").unwrap())
                .with_text(text.clone())
                .with_link(Url::parse("https://example.com/a\"b?c=*|d|*").unwrap())
                .with_media(
                    Media::url(
                        MediaKind::Image,
                        Url::parse("https://cdn.example/\"x.jpg").unwrap(),
                    )
                    .with_alt_text("\"".repeat(100)),
                );
            let rendered = content(&p)["html"].as_str().unwrap().len();
            assert!(
                rendered_bound(&p) >= rendered,
                "{} < {rendered}",
                rendered_bound(&p)
            );
        }
        // Past the limit once rendered: refused, though the text alone is under it.
        let big = Post::new(ClientRef::new("c").unwrap())
            .with_text("\"".repeat(MAX_HTML_BYTES / 4))
            .with_mailchimp(MailchimpOptions::new().with_subject_line("s"));
        let caps = crate::CAPABILITIES;
        let t = Target::new(postd_core::TargetKind::MailchimpAudience, "abc");
        assert_eq!(
            validate(&caps, &t, &big, Utc::now()).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
    }

    #[test]
    fn the_marker_is_per_post_and_audience() {
        let a = marker("spring", "abc123");
        assert_eq!(a.len(), "[postd:]".len() + 20);
        assert_ne!(a, marker("spring", "abc124"));
        assert_ne!(a, marker("spring2", "abc123"));
        assert_eq!(a, marker("spring", "abc123"));
    }
}
