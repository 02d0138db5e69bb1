//! Posts: `POST /2/tweets`, `DELETE /2/tweets/:id`, threads, and the
//! reconciliation of an unknown outcome through `GET /2/users/:id/tweets`
//! (<https://docs.x.com/x-api/posts/manage-tweets/introduction>,
//! <https://docs.x.com/x-api/posts/timelines/introduction>).
//!
//! `POST /2/tweets` is the one call that makes something visible and X takes
//! no idempotency key, so it is sent once: a failure after it may have been
//! applied is an [`ErrorKind::UnknownOutcome`], and the engine asks
//! [`find_published`] before any retry. X's duplicate-content `403` after a
//! retry means "probably published already": the post is looked for, and
//! answered as published when found. Timeline reads are billed, so they are
//! made only then.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::{
    Capabilities, Error, ErrorKind, Fingerprint, MediaKind, MediaSource, Platform, Post,
    PublishedPost, Result, Retry, Target, TokenSet, TwitterOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::api::{Api, Caller};
use crate::auth::lacks_scope;
use crate::media;
use crate::text::{comparable, unescape, weighted_length};

/// How long after an attempt a Post X created may take to show on the
/// user's timeline; until then "not found" is "ask again", after it "absent".
pub const TIMELINE_LAG: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// How many timeline pages a reconciliation reads at most (100 Posts each).
const MAX_PAGES: usize = 5;

/// Poll limits (<https://docs.x.com/x-api/posts/manage-tweets/introduction>).
const POLL_OPTIONS: std::ops::RangeInclusive<usize> = 2..=4;
const POLL_OPTION_CHARS: usize = 25;
const POLL_MINUTES: std::ops::RangeInclusive<u32> = 5..=10_080;

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_content(message)
        .with_platform(Platform::Twitter)
        .with_operation("validate")
}

/// The public link of a Post.
pub(crate) fn post_url(id: &str) -> Option<Url> {
    Url::parse(&format!("https://x.com/i/web/status/{id}")).ok()
}

/// The text sent: the post's text, and its link after it (X has no link field).
fn text_of(post: &Post) -> String {
    let text = post.text.as_deref().unwrap_or("").trim_end();
    match &post.link {
        Some(link) if text.is_empty() => link.as_str().to_owned(),
        Some(link) => format!("{text} {link}"),
        None => text.to_owned(),
    }
}

pub(crate) fn validate(api: &Api, caps: &Capabilities, post: &Post) -> Result<()> {
    let text = text_of(post);
    let weight = weighted_length(&text);
    if weight > api.cfg.max_weighted_text {
        return Err(invalid(format!(
            "text weighs {weight} in X's count (URLs 23, most CJK and emoji 2); the limit is {}",
            api.cfg.max_weighted_text
        )));
    }
    // X's weighted count replaces the plain character count of the common rules.
    let mut rest = post.clone();
    rest.text = (!text.trim().is_empty()).then(|| "x".to_owned());
    rest.link = None;
    caps.check_common(&rest)?;
    let gifs = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Gif)
        .count();
    if gifs > 0 && post.media.len() > 1 {
        return Err(invalid(
            "an X post carries one GIF, or one video, or up to four images",
        ));
    }
    for (i, m) in post.media.iter().enumerate() {
        if matches!(m.source, MediaSource::Url(_)) {
            return Err(invalid(format!(
                "media item {} is a URL; X takes media only as uploaded bytes: give a file",
                i + 1
            )));
        }
        if media::mime_of(m).is_none() {
            return Err(Error::new(
                ErrorKind::MediaRejected,
                format!(
                    "media item {} has no MIME type and no file extension X takes (jpg, png, webp, gif, mp4, mov)",
                    i + 1
                ),
            )
            .with_platform(Platform::Twitter)
            .with_operation("validate"));
        }
        if let Some(size) = m.size_hint {
            let max = media::max_bytes(m.kind, api.cfg.segment_size);
            if size > max {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!(
                        "media item {} is {size} bytes; X takes at most {max}",
                        i + 1
                    ),
                )
                .with_platform(Platform::Twitter)
                .with_operation("validate"));
            }
        }
    }
    if let Some(o) = &post.options.twitter {
        check_options(o, post)?;
    }
    Ok(())
}

fn check_options(o: &TwitterOptions, post: &Post) -> Result<()> {
    let is_id = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    for (name, id) in [
        ("reply_to", &o.reply_to),
        ("quote_post_id", &o.quote_post_id),
    ] {
        if let Some(id) = id
            && !is_id(id)
        {
            return Err(invalid(format!("{name} {id:?} is not an X post id")));
        }
    }
    if let Some(poll) = &o.poll {
        if !post.media.is_empty() || o.quote_post_id.is_some() {
            return Err(invalid("an X poll cannot carry media or quote a post"));
        }
        if !POLL_OPTIONS.contains(&poll.options.len()) {
            return Err(invalid(format!(
                "an X poll has 2 to 4 options, not {}",
                poll.options.len()
            )));
        }
        if let Some(bad) = poll
            .options
            .iter()
            .find(|s| s.trim().is_empty() || s.chars().count() > POLL_OPTION_CHARS)
        {
            return Err(invalid(format!(
                "poll option {bad:?} must have 1 to {POLL_OPTION_CHARS} characters"
            )));
        }
        if !POLL_MINUTES.contains(&poll.duration_minutes) {
            return Err(invalid(format!(
                "an X poll is open 5 to 10080 minutes, not {}",
                poll.duration_minutes
            )));
        }
    }
    Ok(())
}

/// The `POST /2/tweets` body. `text` is always sent (`""` for a media-only
/// Post), as X's OpenAPI asks.
fn body(post: &Post, media_ids: &[String], reply_to: Option<&str>) -> Value {
    let mut body = json!({ "text": text_of(post) });
    if !media_ids.is_empty() {
        body["media"] = json!({ "media_ids": media_ids });
    }
    let o = post.options.twitter.clone().unwrap_or_default();
    if let Some(id) = reply_to.or(o.reply_to.as_deref()) {
        body["reply"] = json!({ "in_reply_to_tweet_id": id });
    }
    if let Some(id) = &o.quote_post_id {
        body["quote_tweet_id"] = json!(id);
    }
    if let Some(poll) = &o.poll {
        body["poll"] = json!({"options": poll.options, "duration_minutes": poll.duration_minutes});
    }
    if let Some(r) = o.reply_settings {
        body["reply_settings"] = json!(r.as_str());
    }
    if o.made_with_ai {
        body["made_with_ai"] = json!(true);
    }
    if o.paid_partnership {
        body["paid_partnership"] = json!(true);
    }
    body
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

/// The target's user id, which goes into URL paths: digits only.
pub(crate) fn user_id(target: &Target) -> Result<&str> {
    let id = target.id.as_str();
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_content(format!(
            "{:?} is not an X user id (digits only)",
            id.chars().take(40).collect::<String>()
        ))
        .with_platform(Platform::Twitter));
    }
    Ok(id)
}

/// [`check_owner`], asking X who the token's user is when the credentials
/// do not say (a code exchange whose `users/me` failed): a Post must never
/// go to an account other than the target.
async fn ensure_owner(api: &Api, tokens: &TokenSet, target: &Target) -> Result<()> {
    check_owner(tokens, target)?;
    if tokens.subject.is_some() {
        return Ok(());
    }
    let me = crate::auth::me(api, &tokens.access_token, "").await?;
    if me.id != target.id {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "these X credentials belong to user {}, not to the target {}",
                me.id, target.id
            ),
        )
        .with_platform(Platform::Twitter));
    }
    Ok(())
}

/// The credentials must be the target's: X posts as the token's user.
fn check_owner(tokens: &TokenSet, target: &Target) -> Result<()> {
    user_id(target)?;
    match &tokens.subject {
        Some(subject) if *subject != target.id => Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "these X credentials belong to user {subject}, not to the target {}",
                target.id
            ),
        )
        .with_platform(Platform::Twitter)),
        _ => Ok(()),
    }
}

/// Publishes one Post (uploading its media first), as a reply to `reply_to` when given.
pub(crate) async fn publish(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
    reply_to: Option<&str>,
) -> Result<PublishedPost> {
    ensure_owner(api, tokens, target).await?;
    if !post.media.is_empty() && lacks_scope(tokens, "media.write") {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            "this X authorization lacks media.write; the user must authorize again to post media",
        )
        .with_platform(Platform::Twitter));
    }
    let token = &tokens.access_token;
    let caller = Caller::user(&target.id);
    let attempted = Utc::now();
    let mut ids = Vec::with_capacity(post.media.len());
    for m in &post.media {
        ids.push(media::upload(api, token, &caller, m).await?);
    }
    let body = body(post, &ids, reply_to);
    // X does not say a 503 on a create means nothing was made: unknown, never retried.
    let ctx = RequestContext::non_idempotent(Platform::Twitter, "tweets.create")
        .distrusting_unavailable();
    match api
        .post::<Data<Created>>(ctx, &caller, api.url("tweets", &[]), token, &body)
        .await
    {
        Ok(created) if !created.data.id.is_empty() => {
            let id = created.data.id;
            tracing::info!(platform = "twitter", post_id = %id, "published");
            Ok(PublishedPost::new(id.as_str()).with_url(post_url(&id)))
        }
        Ok(_) => Err(Error::new(
            ErrorKind::UnknownOutcome,
            "X answered the create without a Post id; look for the Post before sending it again",
        )
        .with_platform(Platform::Twitter)),
        Err(e) if e.kind() == ErrorKind::Duplicate => {
            // An earlier attempt (a lost answer, a double submit) probably made it.
            let mut fp = post.fingerprint(attempted - chrono::Duration::hours(1));
            fp.text = Some(text_of(post));
            // Not found is a permanent refusal, not "ask later": a later
            // attempt would be refused the same way, and the person reading
            // the dead-letter queue can see the account.
            match find_published(api, tokens, target, &fp).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) => Err(e.with_message(
                    "X refused the Post as a duplicate of a recent one, and no Post with this text was found in the last hour (it may be older, or not shown yet); check the account, and change the text to post it again",
                )),
                Err(lookup) => Err(lookup.or_operation("publish")),
            }
        }
        Err(e) => Err(e),
    }
}

/// Where a thread stands: the ids of the Posts already published, in order.
/// Keep it between attempts; [`TwitterConnector::publish_thread`](crate::TwitterConnector::publish_thread)
/// resumes after the last one and never posts those again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreadProgress {
    /// The published Posts, first first.
    pub published: Vec<PublishedPost>,
}

impl ThreadProgress {
    /// Nothing published yet.
    pub fn new() -> Self {
        Self::default()
    }
}

pub(crate) async fn publish_thread(
    api: &Api,
    caps: &Capabilities,
    tokens: &TokenSet,
    target: &Target,
    posts: &[Post],
    progress: &mut ThreadProgress,
) -> Result<Vec<PublishedPost>> {
    if posts.is_empty() {
        return Err(invalid("a thread needs at least one post"));
    }
    if progress.published.len() > posts.len() {
        return Err(invalid(
            "the thread's progress lists more published posts than the thread has",
        ));
    }
    for (i, p) in posts.iter().enumerate().skip(progress.published.len()) {
        validate(api, caps, p).map_err(|e| {
            let message = format!("post {} of the thread: {}", i + 1, e.message());
            e.with_message(message)
        })?;
    }
    for p in posts.iter().skip(progress.published.len()) {
        let reply_to = progress.published.last().map(|p| p.id.clone());
        let published = publish(api, tokens, target, p, reply_to.as_deref()).await?;
        progress.published.push(published);
    }
    Ok(progress.published.clone())
}

pub(crate) async fn delete(api: &Api, tokens: &TokenSet, target: &Target, id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("{id:?} is not an X post id")));
    }
    check_owner(tokens, target)?;
    let ctx = RequestContext::idempotent(Platform::Twitter, "tweets.delete");
    let url = api.url(&format!("tweets/{id}"), &[]);
    let builder = api.request(Method::DELETE, url, &tokens.access_token);
    api.send(ctx, &Caller::user(&target.id), builder).await?;
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Timeline {
    data: Option<Vec<TimelinePost>>,
    errors: Vec<Value>,
    meta: TimelineMeta,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TimelineMeta {
    next_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TimelinePost {
    id: String,
    text: String,
    created_at: Option<DateTime<Utc>>,
    attachments: Option<Attachments>,
    entities: Option<Entities>,
    /// The whole text of a Post longer than 280 (`text` is cut short).
    note_tweet: Option<NoteTweet>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoteTweet {
    text: String,
    entities: Option<Entities>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entities {
    urls: Vec<UrlEntity>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UrlEntity {
    url: String,
    expanded_url: Option<String>,
    unwound_url: Option<String>,
    display_url: Option<String>,
    media_key: Option<String>,
}

impl TimelinePost {
    /// The text as the user wrote it, as far as X's answer tells: the whole
    /// text of a long Post, entities unescaped, each `t.co` link (a whole
    /// word) replaced by the URL the user entered (`expanded_url`; not
    /// `unwound_url`, which is where redirects end), media links removed.
    fn resolved_text(&self) -> String {
        let (text, entities) = match &self.note_tweet {
            Some(n) if !n.text.is_empty() => (n.text.as_str(), n.entities.as_ref()),
            _ => (self.text.as_str(), self.entities.as_ref()),
        };
        let urls = entities.map(|e| e.urls.as_slice()).unwrap_or_default();
        let text = unescape(text);
        let words: Vec<&str> = text
            .split_whitespace()
            .filter_map(|w| {
                let Some(u) = urls.iter().find(|u| !u.url.is_empty() && u.url == w) else {
                    return Some(w);
                };
                let media = u.media_key.is_some()
                    || u.display_url.as_deref().is_some_and(|d| {
                        d.starts_with("pic.x.com") || d.starts_with("pic.twitter.com")
                    });
                if media {
                    return None;
                }
                match u.expanded_url.as_deref() {
                    Some(full) if !full.is_empty() => Some(full),
                    _ => Some(w),
                }
            })
            .collect();
        words.join(" ")
    }

    /// Whether this Post carries `wanted` (the sent text, compared exactly;
    /// loosely only where X left `t.co` links it did not resolve). The
    /// post's link goes after its text (see `text_of`), and a fingerprint
    /// holds the text alone: a trailing URL beyond `wanted` is that link.
    fn carries(&self, wanted_exact: &str, wanted_loose: &str) -> bool {
        let got = self.resolved_text();
        let exact = comparable(&got, false);
        if exact == wanted_exact {
            return true;
        }
        if let Some((head, last)) = exact.rsplit_once(' ')
            && last.contains("//")
            && head == wanted_exact
        {
            return true;
        }
        got.contains("https://t.co/")
            && !wanted_loose.is_empty()
            && comparable(&got, true) == wanted_loose
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Attachments {
    media_keys: Vec<String>,
}

/// Looks for the Post `fingerprint` describes among the user's Posts since
/// its earliest time. Billed per Post read, so it is asked only for an unknown outcome.
pub(crate) async fn find_published(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    check_owner(tokens, target)?;
    if !fingerprint.has_text() {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "a Post without text cannot be told apart from the user's other recent Posts; check the account before sending it again",
        )
        .with_platform(Platform::Twitter)
        .permanent());
    }
    let sent = fingerprint.text.as_deref().unwrap_or("");
    let (wanted, wanted_loose) = (comparable(sent, false), comparable(sent, true));
    let earliest = fingerprint.earliest();
    let start = earliest.to_rfc3339_opts(SecondsFormat::Secs, true);
    let user = user_id(target)?;
    let caller = Caller::user(user);
    let mut next: Option<String> = None;
    let mut read_all = false;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("start_time", start.as_str()),
            ("max_results", "100"),
            ("tweet.fields", "created_at,attachments,entities,note_tweet"),
        ];
        if let Some(t) = &next {
            query.push(("pagination_token", t.as_str()));
        }
        let url = api.url(&format!("users/{user}/tweets"), &query);
        let ctx = RequestContext::idempotent(Platform::Twitter, "users.tweets");
        let page: Timeline = api.get(ctx, &caller, url, &tokens.access_token).await?;
        let posts = match page.data {
            Some(posts) => posts,
            None if !page.errors.is_empty() => {
                // Not "no Posts": X could not answer for this user.
                let detail = page.errors[0]
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or("an error")
                    .chars()
                    .take(200)
                    .collect::<String>();
                return Err(Error::new(
                    ErrorKind::UnknownOutcome,
                    format!("X answered the user's timeline with errors only ({detail}); whether the Post exists is unknown"),
                )
                .with_platform(Platform::Twitter)
                .temporary(Some(Duration::from_secs(300))));
            }
            // A page may hold fewer Posts than asked, none included: the token says whether more follow.
            None => Vec::new(),
        };
        for p in &posts {
            let media = p.attachments.as_ref().map_or(0, |a| a.media_keys.len());
            let when_ok = p.created_at.is_some_and(|c| c >= earliest);
            if when_ok
                && media == fingerprint.media_count
                && !p.id.is_empty()
                && p.carries(&wanted, &wanted_loose)
            {
                return Ok(Some(
                    PublishedPost::new(p.id.as_str()).with_url(post_url(&p.id)),
                ));
            }
        }
        match page.meta.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => {
                read_all = true;
                break;
            }
        }
    }
    if !read_all {
        // More Posts since the attempt than were read: not found is not absent.
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            format!("the user posted more than {} times since the attempt; the Post was not among those read, so whether it exists is unknown", MAX_PAGES * 100),
        )
        .with_platform(Platform::Twitter)
        .permanent());
    }
    if Utc::now() - fingerprint.not_before < TIMELINE_LAG {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "the Post is not on the user's timeline yet; X can take a moment to show it, so ask again shortly",
        )
        .with_retry(Retry::Temporary {
            after: Some(Duration::from_secs(30)),
        })
        .with_platform(Platform::Twitter));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{ClientRef, TwitterPoll, TwitterReplySettings};

    fn post(text: &str) -> Post {
        Post::new(ClientRef::new("r1").unwrap()).with_text(text)
    }

    #[test]
    fn the_body_always_has_text_and_carries_every_option() {
        let media_only = Post::new(ClientRef::new("r").unwrap());
        assert_eq!(body(&media_only, &["1".into()], None)["text"], "");
        let p = post("Vote").with_twitter(
            TwitterOptions::new()
                .with_poll(TwitterPoll::new(["yes", "no"], 60))
                .with_reply_settings(TwitterReplySettings::MentionedUsers)
                .with_made_with_ai(true)
                .with_paid_partnership(true),
        );
        let b = body(&p, &[], Some("42"));
        assert_eq!(b["reply"]["in_reply_to_tweet_id"], "42");
        assert_eq!(b["poll"]["options"], json!(["yes", "no"]));
        assert_eq!(b["poll"]["duration_minutes"], 60);
        assert_eq!(b["reply_settings"], "mentionedUsers");
        assert_eq!(b["made_with_ai"], true);
        assert_eq!(b["paid_partnership"], true);
        assert!(b.get("media").is_none());
        let plain = body(&post("hi"), &[], None);
        assert!(plain.get("made_with_ai").is_none() && plain.get("reply").is_none());
    }

    fn timeline_post(v: serde_json::Value) -> TimelinePost {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn posts_read_back_are_matched_on_their_resolved_links() {
        let sent = "Menu https://bakery.example/menu";
        let (exact, loose) = (comparable(sent, false), comparable(sent, true));
        // X's answer: the link as t.co with its entity, a media link appended.
        let ours = timeline_post(json!({
            "id": "1", "text": "Menu https://t.co/aaa https://t.co/pic",
            "entities": {"urls": [
                {"url": "https://t.co/aaa", "expanded_url": "https://bakery.example/menu"},
                {"url": "https://t.co/pic", "expanded_url": "https://x.com/u/status/1/photo/1",
                 "display_url": "pic.x.com/pic", "media_key": "3_1"}
            ]}
        }));
        assert!(ours.carries(&exact, &loose));
        // The same words with another link are not ours.
        let other = timeline_post(json!({
            "id": "2", "text": "Menu https://t.co/bbb",
            "entities": {"urls": [{"url": "https://t.co/bbb", "expanded_url": "https://bakery.example/old"}]}
        }));
        assert!(!other.carries(&exact, &loose));
        // A long Post: the whole text is in note_tweet.
        let long = "a".repeat(300);
        let note = timeline_post(json!({
            "id": "3", "text": format!("{}…", &long[..270]), "note_tweet": {"text": long}
        }));
        assert!(note.carries(&comparable(&long, false), &comparable(&long, true)));
        // A link-only Post cannot match loosely on nothing.
        let bare = timeline_post(json!({"id": "4", "text": "https://t.co/zzz"}));
        let link = "https://bakery.example/x";
        assert!(!bare.carries(&comparable(link, false), &comparable(link, true)));
        // A link that is a prefix of another is not replaced inside it.
        let prefixed = timeline_post(json!({
            "id": "6", "text": "a https://t.co/abc b https://t.co/ab",
            "entities": {"urls": [
                {"url": "https://t.co/ab", "expanded_url": "https://x.example/1"},
                {"url": "https://t.co/abc", "expanded_url": "https://y.example/2"}
            ]}
        }));
        assert_eq!(
            prefixed.resolved_text(),
            "a https://y.example/2 b https://x.example/1"
        );
        // Entities are unescaped in what X sends back only.
        let amp = timeline_post(json!({"id": "5", "text": "Fish &amp; chips"}));
        assert!(amp.carries(&comparable("Fish & chips", false), ""));
    }

    #[test]
    fn a_posts_link_after_its_text_and_redirects_are_matched_as_sent() {
        // The fingerprint holds the text alone; the Post carries the link after it.
        let sent = "Fresh rye today";
        let ours = timeline_post(json!({
            "id": "1", "text": "Fresh rye today https://t.co/aaa",
            "entities": {"urls": [{"url": "https://t.co/aaa",
                "expanded_url": "https://bakery.example/rye",
                "unwound_url": "https://www.bakery.example/rye?utm=1"}]}
        }));
        assert!(ours.carries(&comparable(sent, false), &comparable(sent, true)));
        // The link the user entered is compared, not where it redirects.
        let with_link = "Fresh rye today https://bakery.example/rye";
        assert!(ours.carries(&comparable(with_link, false), &comparable(with_link, true)));
        // Other words before the link are not ours.
        let other =
            timeline_post(json!({"id": "2", "text": "Stale rye today https://x.example/a"}));
        assert!(!other.carries(&comparable(sent, false), &comparable(sent, true)));
    }

    #[test]
    fn target_ids_are_digits_only() {
        for bad in ["", "../me", "12/tweets", "1 2", &"9".repeat(21)] {
            let t = Target::new(postd_core::TargetKind::TwitterAccount, bad);
            assert_eq!(
                user_id(&t).unwrap_err().kind(),
                ErrorKind::InvalidContent,
                "{bad:?}"
            );
        }
        let t = Target::new(postd_core::TargetKind::TwitterAccount, "2244994945");
        assert_eq!(user_id(&t).unwrap(), "2244994945");
    }

    #[test]
    fn bad_options_are_refused_by_name() {
        let cases = [
            TwitterOptions::new().with_reply_to("abc"),
            TwitterOptions::new().with_poll(TwitterPoll::new(["only"], 60)),
            TwitterOptions::new().with_poll(TwitterPoll::new(["a", "b"], 4)),
            TwitterOptions::new().with_poll(TwitterPoll::new(["a", &"b".repeat(26)], 60)),
            TwitterOptions::new()
                .with_quote_post_id("1")
                .with_poll(TwitterPoll::new(["a", "b"], 60)),
        ];
        for o in cases {
            let p = post("x").with_twitter(o.clone());
            let e = check_options(&o, &p).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidContent, "{o:?}");
        }
    }
}
