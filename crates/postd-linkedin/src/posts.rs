//! Posts API: `POST /rest/posts`, the created post's URN in `x-restli-id`.
//!
//! Content, in the order a post is built:
//! 1. the commentary, escaped in LinkedIn's little text format (reserved
//!    characters unescaped make LinkedIn cut the post off silently), at most
//!    3,000 characters, checked in `validate`;
//! 2. media uploaded with the author as owner ([`crate::media`]): one image,
//!    2-20 images (`multiImage`), or one video (which must be `AVAILABLE`
//!    before the post is created; until then the publish is `Pending`);
//! 3. or an article (a link card with title, description and thumbnail);
//! 4. the post itself: author, commentary, visibility, `MAIN_FEED`
//!    distribution, `PUBLISHED`.
//!
//! LinkedIn has no native scheduling: the queue holds scheduled posts.
//! Creating a post is not idempotent; an unknown outcome is reconciled by
//! [`find_published`], which lists the author's recent posts.

use chrono::{DateTime, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::secrecy::SecretString;
use postd_core::{
    Capabilities, Error, ErrorKind, Fingerprint, LinkedInVisibility, MediaKind, MediaSource,
    Platform, Post, PublishHandle, PublishOutcome, PublishStatus, PublishedPost, Result, Target,
    TargetKind, TokenSet,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::media;
use crate::models::{Elements, PostEntry};
use crate::rest::{Rest, encode};

/// Commentary limit; LinkedIn truncates longer text without an error.
pub(crate) const COMMENTARY_MAX: usize = 3_000;
pub(crate) const MULTI_IMAGE_MIN: usize = 2;
pub(crate) const MULTI_IMAGE_MAX: usize = 20;

pub(crate) const HANDLE_VIDEO: &str = "li_video_post";
/// A video still not available a day after upload is given up on.
const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// LinkedIn's little-text reserved characters.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// Escapes LinkedIn's little-text reserved characters `\ | { } @ [ ] ( ) < > # * _ ~`,
/// keeping `#hashtags` and mention templates (`@[Name](urn:li:organization:1)`) working.
///
/// Unescaped, LinkedIn accepts the post and silently cuts it off at the
/// first reserved character.
///
/// ```
/// use postd_linkedin::escape_commentary;
/// assert_eq!(escape_commentary("Hello (world) #rust"), r"Hello \(world\) #rust");
/// assert_eq!(escape_commentary("#rust_lang"), r"#rust\_lang");
/// ```
pub fn escape_commentary(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '@'
            && let Some((name, urn, end)) = mention(&chars, i)
        {
            out.push_str("@[");
            escape_into(&mut out, &name);
            out.push_str("](");
            out.push_str(&urn);
            out.push(')');
            i = end;
            continue;
        }
        if c == '#' && (i == 0 || !is_word(chars[i - 1])) {
            // A hashtag element is `#` and letters or digits. An underscore after it
            // is escaped like any reserved character: `#rust_lang` shows in full,
            // with `#rust` as the tag (the hashtag template's exact syntax differs
            // between LinkedIn's pages, and a wrong template would cut the post).
            let end = (i + 1..chars.len())
                .find(|&j| !chars[j].is_alphanumeric())
                .unwrap_or(chars.len());
            if end > i + 1 {
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
        }
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Reverses [`escape_commentary`] (templates back to `#tag`, escapes dropped),
/// to compare what LinkedIn stored with what was sent.
fn unescape_commentary(text: &str) -> String {
    let mut s = text.to_owned();
    // LinkedIn may hand hashtags back as templates, with the sign escaped or not.
    for prefix in ["{hashtag|\\#|", "{hashtag|#|"] {
        while let Some(start) = s.find(prefix) {
            let Some(len) = s[start..].find('}') else {
                break;
            };
            let tag = s[start + prefix.len()..start + len].to_owned();
            s.replace_range(start..start + len + 1, &format!("#{tag}"));
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A mention template `@[Name](urn:li:person:id)` starting at `start`: its name, URN and end.
fn mention(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    if chars.get(start + 1) != Some(&'[') {
        return None;
    }
    let close = (start + 2..chars.len()).find(|&j| chars[j] == ']')?;
    if close == start + 2 || chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end_paren = (close + 2..chars.len()).find(|&j| chars[j] == ')')?;
    let urn: String = chars[close + 2..end_paren].iter().collect();
    let id = urn
        .strip_prefix("urn:li:person:")
        .or_else(|| urn.strip_prefix("urn:li:organization:"))?;
    let valid_id = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_id {
        return None;
    }
    let name: String = chars[start + 2..close].iter().collect();
    Some((name, urn, end_paren + 1))
}

pub(crate) fn validate(caps: &Capabilities, target: &Target, post: &Post) -> Result<()> {
    check_author(target)?;
    let article = post
        .options
        .linkedin
        .as_ref()
        .and_then(|o| o.article.as_ref());
    if post.media.is_empty()
        && post.link.is_none()
        && article.is_none()
        && post.text.as_deref().is_none_or(|t| t.trim().is_empty())
    {
        return Err(invalid("post has no text, media or link"));
    }
    // An article given only in the options is content too.
    let with_link;
    let common = match (article, &post.link) {
        (Some(a), None) => {
            with_link = post.clone().with_link(a.source.clone());
            &with_link
        }
        _ => post,
    };
    caps.check_common(common)?;
    if let Some(text) = &post.text {
        // The limit applies to what is sent, escapes included. Without a
        // mention (which expands to its URN) an escape at most doubles a
        // character, so a text of up to half the limit needs no escaping here.
        let surely_fits = !text.contains('@') && text.len() <= COMMENTARY_MAX / 2;
        if !surely_fits {
            let n = escape_commentary(text).chars().count();
            if n > COMMENTARY_MAX {
                return Err(invalid(&format!(
                    "commentary is {n} characters once escaped; LinkedIn allows {COMMENTARY_MAX} and silently cuts off the rest"
                )));
            }
        }
    }
    // LinkedIn does not fetch link previews: an article card needs its title.
    let titled = article.is_some_and(|a| a.title.as_deref().is_some_and(|t| !t.trim().is_empty()));
    if (post.link.is_some() || article.is_some()) && !titled {
        return Err(invalid(
            "LinkedIn does not fetch link previews: give the article a title (LinkedInOptions::article)",
        ));
    }
    let images = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Image)
        .count();
    if images > MULTI_IMAGE_MAX {
        return Err(invalid(&format!(
            "a LinkedIn post carries at most {MULTI_IMAGE_MAX} images; this one has {images}"
        )));
    }
    if (post.link.is_some() || article.is_some()) && !post.media.is_empty() {
        return Err(invalid(
            "a LinkedIn article post cannot also carry images or a video",
        ));
    }
    for m in &post.media {
        if m.kind == MediaKind::Video && matches!(m.source, MediaSource::Url(_)) {
            return Err(invalid(
                "LinkedIn videos are uploaded from a file or bytes; download the video first",
            ));
        }
        if m.kind == MediaKind::Image && m.size_hint.is_some_and(|s| s > media::IMAGE_MAX_BYTES) {
            return Err(
                Error::new(ErrorKind::MediaRejected, "the image is larger than 10 MB")
                    .with_platform(Platform::LinkedIn)
                    .with_operation("validate"),
            );
        }
    }
    Ok(())
}

/// The target's id must be the URN its kind says: a person posts as `urn:li:person:`,
/// an organization as `urn:li:organization:`; media is owned by the same URN.
fn check_author(target: &Target) -> Result<()> {
    let prefix = match target.kind {
        TargetKind::LinkedInPerson => "urn:li:person:",
        TargetKind::LinkedInOrganization => "urn:li:organization:",
        other => return Err(invalid(&format!("{other:?} is not a LinkedIn target"))),
    };
    let ok = target
        .id
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(':'));
    if !ok {
        return Err(invalid(&format!(
            "target {:?} is a {:?}, so its id must be {prefix}<id>; media is owned by the post's author",
            target.id, target.kind
        )));
    }
    Ok(())
}

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidContent, msg)
        .with_platform(Platform::LinkedIn)
        .with_operation("validate")
}

/// A post waiting for its video, kept in the handle's state.
#[derive(Serialize, Deserialize)]
struct Waiting {
    video: String,
    body: Value,
}

pub(crate) async fn publish(
    rest: &Rest,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    let token = &tokens.access_token;
    let author = target.id.as_str();
    let started = Utc::now();
    let options = post.options.linkedin.clone().unwrap_or_default();
    let mut body = json!({
        "author": author,
        "commentary": escape_commentary(post.text_or_empty()),
        "visibility": visibility(options.visibility),
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });

    let article = options
        .article
        .clone()
        .or_else(|| post.link.clone().map(postd_core::LinkedInArticle::new));
    if let Some(article) = article {
        let mut a = json!({ "source": article.source.as_str() });
        if let Some(t) = &article.title {
            a["title"] = json!(t);
        }
        if let Some(d) = &article.description {
            a["description"] = json!(d);
        }
        if let Some(thumb) = &article.thumbnail {
            a["thumbnail"] = json!(media::upload_image(rest, token, author, thumb).await?);
        }
        body["content"] = json!({ "article": a });
    } else if let [video] = post.media.as_slice()
        && video.kind == MediaKind::Video
    {
        let urn =
            media::upload_video(rest, token, author, video, rest.cfg.video_parts_in_flight).await?;
        let mut m = json!({ "id": urn });
        if let Some(title) = &options.video_title {
            m["title"] = json!(title);
        }
        body["content"] = json!({ "media": m });
        let ready = media::wait_available(rest, token, &urn, &rest.cfg.polling).await?;
        if !ready {
            let mut handle = PublishHandle::new(Platform::LinkedIn, author, HANDLE_VIDEO, &urn);
            handle.started_at = started;
            let state = serde_json::to_value(Waiting { video: urn, body }).unwrap_or(Value::Null);
            return Ok(PublishOutcome::Pending(handle.with_state(state)));
        }
    } else if !post.media.is_empty() {
        let mut images = Vec::with_capacity(post.media.len());
        for m in &post.media {
            let urn = media::upload_image(rest, token, author, m).await?;
            let mut entry = json!({ "id": urn });
            if let Some(alt) = &m.alt_text {
                entry["altText"] = json!(alt);
            }
            images.push(entry);
        }
        body["content"] = if images.len() >= MULTI_IMAGE_MIN {
            json!({ "multiImage": { "images": images } })
        } else {
            json!({ "media": images.remove(0) })
        };
    }

    create(rest, token, &body)
        .await
        .map(PublishOutcome::Published)
}

fn visibility(v: LinkedInVisibility) -> &'static str {
    match v {
        LinkedInVisibility::Connections => "CONNECTIONS",
        LinkedInVisibility::LoggedIn => "LOGGED_IN",
        _ => "PUBLIC",
    }
}

async fn create(rest: &Rest, token: &SecretString, body: &Value) -> Result<PublishedPost> {
    let resp = rest
        .send_with(
            // LinkedIn does not say a 503 on a create means nothing was created.
            RequestContext::non_idempotent(Platform::LinkedIn, "rest.posts_create")
                .distrusting_unavailable(),
            &|| rest.rest(Method::POST, rest.posts_url(), token).json(body),
        )
        .await?;
    let Some(urn) = resp.header("x-restli-id").map(str::to_owned) else {
        // Created (2xx) but the URN is missing: the post may exist, so this is not a plain failure.
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "LinkedIn answered without an x-restli-id header",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("rest.posts_create")
        .with_status(resp.status.as_u16()));
    };
    Ok(PublishedPost::new(&urn).with_url(post_url(&urn)))
}

/// `https://www.linkedin.com/feed/update/{urn}`.
///
/// The prefix is parsed once; each post appends its URN as the last path
/// segment, which costs a fraction of parsing the whole URL (or its path)
/// again.
pub(crate) fn post_url(urn: &str) -> Option<Url> {
    static FEED: std::sync::LazyLock<Option<Url>> =
        std::sync::LazyLock::new(|| Url::parse("https://www.linkedin.com/feed/update").ok());
    let mut url = FEED.clone()?;
    // Appending a segment encodes only it; `set_path` would parse the whole path again.
    url.path_segments_mut().ok()?.push(urn);
    Some(url)
}

/// Goes on with a post waiting for its video.
pub(crate) async fn publish_status(
    rest: &Rest,
    tokens: &TokenSet,
    handle: &PublishHandle,
) -> Result<PublishStatus> {
    let waiting: Waiting = serde_json::from_value(handle.state.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidContent,
            "this handle's state is not a LinkedIn post waiting for its video",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("publish_status")
    })?;
    let token = &tokens.access_token;
    if waiting.body.get("author").and_then(Value::as_str) != Some(handle.target_id.as_str()) {
        return Err(Error::new(
            ErrorKind::InvalidContent,
            "the handle's post is not by the handle's target",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("publish_status"));
    }
    let status = media::video_status(rest, token, &waiting.video).await?;
    match status.as_str() {
        "AVAILABLE" => match create(rest, token, &waiting.body).await {
            Ok(p) => Ok(PublishStatus::Published(p)),
            // Asked again after a create whose answer was lost: LinkedIn names the post it already has.
            Err(e) if e.kind() == ErrorKind::Duplicate => match duplicate_of(e.message()) {
                Some(urn) => Ok(PublishStatus::Published(
                    PublishedPost::new(&urn).with_url(post_url(&urn)),
                )),
                None => Err(e),
            },
            Err(e) => Err(e),
        },
        "PROCESSING_FAILED" => Ok(PublishStatus::Failed {
            kind: ErrorKind::MediaRejected,
            code: "PROCESSING_FAILED".to_owned(),
            message: format!("LinkedIn could not process video {}", waiting.video),
        }),
        other if Utc::now() - handle.started_at > GIVE_UP_AFTER => Ok(PublishStatus::Failed {
            kind: ErrorKind::MediaRejected,
            code: other.to_owned(),
            message: format!(
                "video {} was still {other} a day after upload",
                waiting.video
            ),
        }),
        other => Ok(PublishStatus::Processing {
            state: other.to_owned(),
            retry_after: rest.cfg.polling.ask_again(),
            next: handle.clone(),
        }),
    }
}

/// The URN in LinkedIn's duplicate message ("Content is a duplicate of urn:li:share:7141...").
fn duplicate_of(message: &str) -> Option<String> {
    let start = message.find("urn:li:")?;
    let urn: String = message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '_' || *c == '-')
        .collect();
    (urn.matches(':').count() >= 3).then_some(urn)
}

/// Looks for the post among the author's posts (`GET /rest/posts?q=author`,
/// newest modified first), paging back until the posts are older than the
/// fingerprint allows: a busy account may have posted many times since.
pub(crate) async fn find_published(
    rest: &Rest,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    check_author(target)?;
    let Some(text) = fingerprint.text.as_deref().filter(|t| !t.trim().is_empty()) else {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "a post without commentary cannot be reconciled by its content; check the account before posting again",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("find_published"));
    };
    // LinkedIn hands the commentary back escaped: compare what it means.
    let expected = unescape_commentary(&escape_commentary(text));
    let earliest_ms = fingerprint.earliest().timestamp_millis();
    for page in 0..FIND_PAGES {
        let query = format!(
            "q=author&author={}&start={}&count={FIND_PAGE_SIZE}&sortBy=LAST_MODIFIED",
            encode(&target.id),
            page * FIND_PAGE_SIZE
        );
        let posts: Elements<PostEntry> = match rest
            .get(
                "rest.posts_by_author",
                rest.rest_url("posts", Some(&query)),
                &tokens.access_token,
            )
            .await
        {
            Ok(p) => p,
            Err(e)
                if e.kind() == ErrorKind::PermissionDenied
                    && target.kind == TargetKind::LinkedInPerson =>
            {
                // Listing a member's posts needs r_member_social, which LinkedIn grants to few apps.
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "this app cannot list the member's posts (r_member_social is restricted); check the profile before posting again",
                )
                .with_platform(Platform::LinkedIn)
                .with_operation("find_published"));
            }
            Err(e) => return Err(e),
        };
        let full_page = posts.elements.len() >= FIND_PAGE_SIZE;
        let mut older = false;
        for p in posts.elements {
            let created = p
                .created_at
                .or(p.published_at)
                .and_then(DateTime::from_timestamp_millis);
            let found = unescape_commentary(p.commentary.as_deref().unwrap_or(""));
            if Fingerprint::sent_matches(
                Some(&expected),
                fingerprint.not_before,
                Some(&found),
                created,
            ) {
                let url = post_url(&p.id);
                return Ok(Some(PublishedPost::new(p.id).with_url(url)));
            }
            // Newest modified first: once a post was last modified before the
            // earliest time ours can have, every later one was too.
            if p.last_modified_at
                .or(p.created_at)
                .is_some_and(|t| t < earliest_ms)
            {
                older = true;
            }
        }
        if older || !full_page {
            return Ok(None);
        }
    }
    Err(Error::new(
        ErrorKind::UnknownOutcome,
        format!(
            "the account has more than {} posts since the first attempt; check it before posting again",
            FIND_PAGES * FIND_PAGE_SIZE
        ),
    )
    .with_platform(Platform::LinkedIn)
    .with_operation("find_published"))
}

/// Reconciliation reads pages of this size (LinkedIn allows up to 100)...
const FIND_PAGE_SIZE: usize = 50;
/// ...and at most this many of them.
const FIND_PAGES: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_url_is_the_feed_update_page_of_its_urn() {
        assert_eq!(
            post_url("urn:li:share:7300000000000000001")
                .unwrap()
                .as_str(),
            "https://www.linkedin.com/feed/update/urn:li:share:7300000000000000001"
        );
        assert_eq!(
            post_url("urn:li:ugcPost:1").unwrap().as_str(),
            "https://www.linkedin.com/feed/update/urn:li:ugcPost:1"
        );
        // Whatever LinkedIn sends stays in the path.
        assert_eq!(
            post_url("urn:li:share:1?x#y").unwrap().as_str(),
            "https://www.linkedin.com/feed/update/urn:li:share:1%3Fx%23y"
        );
    }

    #[test]
    fn escapes_reserved_characters_and_keeps_hashtags_and_mentions() {
        assert_eq!(escape_commentary(r"a\b"), r"a\\b");
        assert_eq!(
            escape_commentary("(hi) [x] {y} <z> a*b ~c| d_e"),
            r"\(hi\) \[x\] \{y\} \<z\> a\*b \~c\| d\_e"
        );
        assert_eq!(
            escape_commentary("#rust and # alone and c#"),
            r"#rust and \# alone and c\#"
        );
        assert_eq!(escape_commentary("email me@x.y"), r"email me\@x.y");
        assert_eq!(
            escape_commentary("thanks @[Acme](urn:li:organization:123) (really)"),
            r"thanks @[Acme](urn:li:organization:123) \(really\)"
        );
        // Not a valid mention template: escaped.
        assert_eq!(
            escape_commentary("@[x](http://evil)"),
            r"\@\[x\]\(http://evil\)"
        );
        assert_eq!(escape_commentary("é漢字"), "é漢字");
        // A URN with characters no id has is not a template.
        assert_eq!(
            escape_commentary("@[x](urn:li:person:a(b)"),
            r"\@\[x\]\(urn:li:person:a\(b\)"
        );
        assert_eq!(
            escape_commentary("@[x](urn:li:organization:)"),
            r"\@\[x\]\(urn:li:organization:\)"
        );
        // The mention's name is text: it is escaped too.
        assert_eq!(
            escape_commentary("@[A_B](urn:li:person:x1)"),
            r"@[A\_B](urn:li:person:x1)"
        );
        // An underscore after a hashtag is escaped, so the text stays whole.
        assert_eq!(escape_commentary("#rust_lang rocks"), r"#rust\_lang rocks");
    }

    #[test]
    fn stored_hashtag_templates_compare_equal() {
        assert_eq!(
            unescape_commentary(r"Hi {hashtag|\#|rust} and {hashtag|#|tokio}"),
            "Hi #rust and #tokio"
        );
    }

    #[test]
    fn unescaping_recovers_the_text() {
        for text in [
            "Ship (v2) #rust_lang @[Acme](urn:li:organization:1) a_b *c*",
            "plain",
            "  spaced   out  ",
        ] {
            assert_eq!(
                unescape_commentary(&escape_commentary(text)),
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
    }

    #[test]
    fn duplicate_messages_name_the_post() {
        assert_eq!(
            duplicate_of(
                "com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of urn:li:share:7141138937766391808"
            ),
            Some("urn:li:share:7141138937766391808".to_owned())
        );
        assert_eq!(duplicate_of("Duplicate post is detected"), None);
    }

    #[test]
    fn authors_must_match_their_kind() {
        let ok = Target::new(TargetKind::LinkedInPerson, "urn:li:person:abc");
        assert!(check_author(&ok).is_ok());
        for (kind, id) in [
            (TargetKind::LinkedInPerson, "urn:li:organization:1"),
            (TargetKind::LinkedInOrganization, "urn:li:person:abc"),
            (TargetKind::LinkedInPerson, "abc"),
            (TargetKind::LinkedInPerson, "urn:li:person:"),
            (TargetKind::FacebookPage, "urn:li:person:abc"),
        ] {
            assert_eq!(
                check_author(&Target::new(kind, id)).unwrap_err().kind(),
                ErrorKind::InvalidContent
            );
        }
    }
}
