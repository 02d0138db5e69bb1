//! Audiences (lists), their segments, and contact management: members by
//! the MD5 hash of the lowercased address, status changes, merge fields,
//! tags, archive and permanent delete, and batch operations for bulk imports
//! (<https://mailchimp.com/developer/marketing/api/lists/>,
//! <https://mailchimp.com/developer/marketing/api/list-members/>,
//! <https://mailchimp.com/developer/marketing/api/list-member-tags/>,
//! <https://mailchimp.com/developer/marketing/api/batch-operations/>).
//!
//! `PUT /lists/{id}/members/{hash}` adds or updates a member and is safe to
//! repeat. A contact who unsubscribed, or was permanently deleted, cannot be
//! subscribed again by the API: Mailchimp refuses (`Member In Compliance
//! State`, `Forgotten Email Not Subscribed`), and that is a
//! [`ErrorKind::PermissionDenied`] error saying only the contact can (a
//! signup form, or `pending` for double opt-in).

use std::collections::BTreeMap;

use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Api, id};

/// The most audiences or members a page asks for (Mailchimp's `count` maximum).
const PAGE: usize = 1000;

/// The most audiences listed for one account.
const MAX_AUDIENCES: usize = 10_000;

/// A member's status in an audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MemberStatus {
    /// Receives campaigns.
    Subscribed,
    /// Opted out; only they can opt in again.
    Unsubscribed,
    /// Bounced for good; Mailchimp no longer mails the address.
    Cleaned,
    /// Sent a double opt-in confirmation, not yet confirmed.
    Pending,
    /// Receives transactional email only.
    Transactional,
    /// Archived (kept, not mailed).
    Archived,
}

/// What to set on a member: `PUT /lists/{id}/members/{hash}` (added when new,
/// updated when there).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MemberUpdate {
    /// The address.
    pub email_address: String,
    /// The status of a member added by this call.
    pub status_if_new: MemberStatus,
    /// The status to set on an existing member (`None` leaves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<MemberStatus>,
    /// Merge fields (`FNAME`, `LNAME`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub merge_fields: BTreeMap<String, Value>,
}

impl MemberUpdate {
    /// A member to subscribe if new (use [`MemberStatus::Pending`] for double opt-in).
    pub fn new(email: impl Into<String>, status_if_new: MemberStatus) -> Self {
        MemberUpdate {
            email_address: email.into(),
            status_if_new,
            status: None,
            merge_fields: BTreeMap::new(),
        }
    }

    /// Sets the status of an existing member too.
    pub fn with_status(mut self, status: MemberStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets a merge field.
    pub fn with_merge_field(mut self, tag: impl Into<String>, value: impl Into<Value>) -> Self {
        self.merge_fields.insert(tag.into(), value.into());
        self
    }
}

/// A member as Mailchimp answers it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Member {
    /// The subscriber hash.
    pub id: String,
    /// The address.
    pub email_address: String,
    /// Its status.
    pub status: MemberStatus,
    /// Merge fields.
    #[serde(default)]
    pub merge_fields: BTreeMap<String, Value>,
}

/// A batch operation's progress.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BatchStatus {
    /// The batch id.
    pub id: String,
    /// `pending`, `preprocessing`, `started`, `finalizing` or `finished`.
    pub status: String,
    /// How many operations it holds.
    #[serde(default)]
    pub total_operations: u64,
    /// How many ran.
    #[serde(default)]
    pub finished_operations: u64,
    /// How many failed.
    #[serde(default)]
    pub errored_operations: u64,
    /// Where the results are, once finished.
    #[serde(default)]
    pub response_body_url: Option<String>,
}

impl BatchStatus {
    /// Whether Mailchimp finished the batch.
    pub fn is_finished(&self) -> bool {
        self.status == "finished"
    }
}

/// The subscriber hash: the MD5 of the lowercased address, in hex.
///
/// ```
/// assert_eq!(
///     postd_mailchimp::subscriber_hash("Urist.McVankab@freddiesjokes.com"),
///     "62eeb292278cc15f5817cb78f7790b08"
/// );
/// ```
pub fn subscriber_hash(email: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(email.trim().to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A syntactically plausible address: one `@`, a dot in the domain, no
/// spaces or control characters, at most 254 characters.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>')
        && !local.contains('@')
}

fn bad_email(email: &str) -> Error {
    Error::invalid_content(format!(
        "{:?} is not an email address",
        email.chars().take(80).collect::<String>()
    ))
    .with_platform(Platform::Mailchimp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListsPage {
    lists: Vec<List>,
    total_items: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct List {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) stats: Value,
    pub(crate) campaign_defaults: Defaults,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct Defaults {
    pub(crate) from_name: String,
    pub(crate) from_email: String,
}

/// Every audience of the account, paged by `offset`.
pub(crate) async fn targets(api: &Api, credentials: &Credentials) -> Result<Vec<Target>> {
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "lists.list");
    let mut out = Vec::new();
    let mut offset = 0usize;
    for _ in 0..MAX_AUDIENCES / PAGE {
        let (count, off) = (PAGE.to_string(), offset.to_string());
        let url = api.url(
            &account,
            "lists",
            &[
                ("count", count.as_str()),
                ("offset", off.as_str()),
                (
                    "fields",
                    "lists.id,lists.name,lists.stats.member_count,total_items",
                ),
            ],
        );
        let page: ListsPage = api.get(ctx, &account, url).await?;
        let got = page.lists.len();
        for l in page.lists {
            if id("the list id", &l.id).is_err() {
                continue;
            }
            let mut t = Target::new(TargetKind::MailchimpAudience, l.id.as_str());
            if !l.name.is_empty() {
                t = t.with_name(l.name.chars().take(200).collect::<String>());
            }
            out.push(t);
        }
        offset += got;
        if got == 0 || offset as u64 >= page.total_items {
            return Ok(out);
        }
    }
    Ok(out)
}

/// The audience's `campaign_defaults` (sender name and address).
pub(crate) async fn defaults(
    api: &Api,
    account: &crate::api::Account,
    list_id: &str,
) -> Result<Defaults> {
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "lists.get");
    let url = api.url(
        account,
        &format!("lists/{}", id("the list id", list_id)?),
        &[("fields", "id,name,campaign_defaults")],
    );
    let list: List = api.get(ctx, account, url).await?;
    Ok(list.campaign_defaults)
}

/// A saved segment of an audience.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// The segment id.
    pub id: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// How many members it holds.
    #[serde(default)]
    pub member_count: u64,
}

pub(crate) async fn segments(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
) -> Result<Vec<Segment>> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Page {
        segments: Vec<Segment>,
    }
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "lists.segments");
    let url = api.url(
        &account,
        &format!("lists/{}/segments", id("the list id", list_id)?),
        &[("count", "1000")],
    );
    let page: Page = api.get(ctx, &account, url).await?;
    Ok(page.segments)
}

fn member_path(list_id: &str, email: &str) -> Result<String> {
    if !valid_email(email) {
        return Err(bad_email(email));
    }
    Ok(format!(
        "lists/{}/members/{}",
        id("the list id", list_id)?,
        subscriber_hash(email)
    ))
}

pub(crate) async fn upsert_member(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    update: &MemberUpdate,
) -> Result<Member> {
    let path = member_path(list_id, &update.email_address)?;
    let account = api.account(credentials).await?;
    let body = serde_json::to_value(update)
        .map_err(|e| Error::invalid_content(format!("the member does not serialise: {e}")))?;
    // Idempotent: the same PUT again leaves the same member.
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "members.put");
    api.json(
        ctx,
        &account,
        Method::PUT,
        api.url(&account, &path, &[]),
        &body,
    )
    .await
}

pub(crate) async fn set_status(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    email: &str,
    status: MemberStatus,
) -> Result<Member> {
    if status == MemberStatus::Archived {
        return Err(Error::invalid_content(
            "a member is archived with archive_member (Mailchimp takes no archived status)",
        )
        .with_platform(Platform::Mailchimp));
    }
    let path = member_path(list_id, email)?;
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "members.patch");
    api.json(
        ctx,
        &account,
        Method::PATCH,
        api.url(&account, &path, &[]),
        &json!({"status": status}),
    )
    .await
}

pub(crate) async fn tag(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    email: &str,
    add: &[&str],
    remove: &[&str],
) -> Result<()> {
    let path = format!("{}/tags", member_path(list_id, email)?);
    let account = api.account(credentials).await?;
    let tags: Vec<Value> = add
        .iter()
        .map(|t| json!({"name": t, "status": "active"}))
        .chain(
            remove
                .iter()
                .map(|t| json!({"name": t, "status": "inactive"})),
        )
        .collect();
    if tags.iter().any(|t| {
        t["name"]
            .as_str()
            .is_some_and(|n| n.is_empty() || n.len() > 100)
    }) {
        return Err(Error::invalid_content("a tag is 1 to 100 characters")
            .with_platform(Platform::Mailchimp));
    }
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "members.tags");
    api.call(
        ctx,
        &account,
        Method::POST,
        api.url(&account, &path, &[]),
        Some(&json!({"tags": tags})),
    )
    .await
    .map(|_| ())
}

pub(crate) async fn archive(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    email: &str,
) -> Result<()> {
    let path = member_path(list_id, email)?;
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "members.archive");
    let url = api.url(&account, &path, &[]);
    gone_is_done(api.call(ctx, &account, Method::DELETE, url, None).await)
}

/// A removal answered `404`: the member is gone already, which is what was
/// asked (a repeat after the first removal went).
fn gone_is_done(result: Result<postd_core::http::HttpResponse>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

pub(crate) async fn delete_permanently(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    email: &str,
) -> Result<()> {
    let path = format!("{}/actions/delete-permanent", member_path(list_id, email)?);
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "members.delete_permanent");
    let url = api.url(&account, &path, &[]);
    gone_is_done(api.call(ctx, &account, Method::POST, url, None).await)
}

/// The most operations one batch carries (a bulk import is split by the caller).
pub const MAX_BATCH_OPERATIONS: usize = 5_000;

pub(crate) async fn batch_upsert(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    updates: &[MemberUpdate],
) -> Result<BatchStatus> {
    if updates.is_empty() || updates.len() > MAX_BATCH_OPERATIONS {
        return Err(Error::invalid_content(format!(
            "a batch carries 1 to {MAX_BATCH_OPERATIONS} members"
        ))
        .with_platform(Platform::Mailchimp));
    }
    let mut operations = Vec::with_capacity(updates.len());
    for u in updates {
        let path = member_path(list_id, &u.email_address)?;
        let body = serde_json::to_string(u)
            .map_err(|e| Error::invalid_content(format!("a member does not serialise: {e}")))?;
        operations.push(json!({"method": "PUT", "path": format!("/{path}"), "body": body}));
    }
    let account = api.account(credentials).await?;
    // Not repeated blindly: a second batch would send opt-in emails again.
    let ctx = RequestContext::non_idempotent(Platform::Mailchimp, "batches.create");
    api.json(
        ctx,
        &account,
        Method::POST,
        api.url(&account, "batches", &[]),
        &json!({"operations": operations}),
    )
    .await
}

pub(crate) async fn batch_status(
    api: &Api,
    credentials: &Credentials,
    batch_id: &str,
) -> Result<BatchStatus> {
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "batches.get");
    let url = api.url(
        &account,
        &format!("batches/{}", id("the batch id", batch_id)?),
        &[],
    );
    api.get(ctx, &account, url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_hashed_lowercased() {
        assert_eq!(
            subscriber_hash("A@Example.com"),
            subscriber_hash("a@example.com")
        );
        for ok in ["a@example.com", "first.last+tag@sub.example.co.uk"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "a @example.com",
            "@example.com",
            "a@.com",
            "a@example.",
            "<a@example.com>",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}

/// A list webhook Mailchimp holds.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ListWebhook {
    /// The webhook id.
    pub id: String,
    /// Where Mailchimp delivers (its path ends in the audience's tag: not shown by `Debug`).
    pub url: String,
}

impl std::fmt::Debug for ListWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListWebhook")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Registers `url` (ending in the audience's tag) for every event type and
/// source of the audience, unless a webhook with that URL is there already
/// (Mailchimp refuses a second one; a repeat registration is a no-op). An
/// answer echoing the URL has the tag removed before it becomes an error.
pub(crate) async fn register_webhook(
    api: &Api,
    credentials: &Credentials,
    list_id: &str,
    url: &url::Url,
) -> Result<ListWebhook> {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Page {
        webhooks: Vec<ListWebhook>,
    }
    if url.scheme() != "https" && url.host_str() != Some("127.0.0.1") {
        return Err(
            Error::invalid_content("a webhook URL is https").with_platform(Platform::Mailchimp)
        );
    }
    let path = format!("lists/{}/webhooks", id("the list id", list_id)?);
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "webhooks.list");
    let page: Page = api
        .get(ctx, &account, api.url(&account, &path, &[]))
        .await?;
    if let Some(w) = page.webhooks.into_iter().find(|w| w.url == url.as_str()) {
        return Ok(w);
    }
    let body = json!({
        "url": url.as_str(),
        "events": {"subscribe": true, "unsubscribe": true, "profile": true,
                   "cleaned": true, "upemail": true, "campaign": true},
        // `api` too: events of campaigns sent through the API.
        "sources": {"user": true, "admin": true, "api": true},
    });
    // Not repeated blindly: a lost answer is found by the list above next time.
    let ctx = RequestContext::non_idempotent(Platform::Mailchimp, "webhooks.create");
    let tag = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_owned();
    api.json_hiding(
        ctx,
        &account,
        Method::POST,
        api.url(&account, &path, &[]),
        &body,
        &[tag],
    )
    .await
}
