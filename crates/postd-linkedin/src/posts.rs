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

use std::time::Duration;

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
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

pub(crate) const HANDLE_VIDEO: &str = "li_video_post";

/// Escapes LinkedIn's little-text reserved characters `\ | { } @ [ ] ( ) < > # * _ ~`,
/// keeping `#hashtags` and mention templates (`@[Name](urn:li:organization:1)`) working.
pub fn escape_commentary(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '@'
            && let Some(end) = mention_end(&chars, i)
        {
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        let hashtag = c == '#'
            && (i == 0 || !is_word(chars[i - 1]))
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if hashtag {
            out.push('#');
            i += 1;
            continue;
        }
        if matches!(
            c,
            '\\' | '|'
                | '{'
                | '}'
                | '@'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '*'
                | '_'
                | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of a mention template `@[Name](urn:li:person:x)` starting at `start`, if it is one.
fn mention_end(chars: &[char], start: usize) -> Option<usize> {
    if chars.get(start + 1) != Some(&'[') {
        return None;
    }
    let close = (start + 2..chars.len()).find(|&j| chars[j] == ']')?;
    if close == start + 2 || chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end_paren = (close + 2..chars.len()).find(|&j| chars[j] == ')')?;
    let urn: String = chars[close + 2..end_paren].iter().collect();
    let valid = (urn.starts_with("urn:li:person:") || urn.starts_with("urn:li:organization:"))
        && urn.len() > "urn:li:person:".len()
        && !urn.contains(char::is_whitespace);
    valid.then_some(end_paren + 1)
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
    caps.check_common(post)?;
    if let Some(text) = &post.text {
        let n = text.chars().count();
        if n > COMMENTARY_MAX {
            return Err(invalid(&format!(
                "commentary is {n} characters; LinkedIn allows {COMMENTARY_MAX} and silently cuts off the rest"
            )));
        }
    }
    let videos = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Video)
        .count();
    let images = post
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Image)
        .count();
    if videos > 1 || (videos == 1 && images > 0) {
        return Err(invalid(
            "a LinkedIn post carries one video, or images, not both",
        ));
    }
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
        let urn = media::upload_video(rest, token, author, video).await?;
        let mut m = json!({ "id": urn });
        if let Some(title) = &options.video_title {
            m["title"] = json!(title);
        }
        body["content"] = json!({ "media": m });
        let ready = media::wait_available(
            rest,
            token,
            &urn,
            rest.cfg.publish_wait,
            rest.cfg.poll_interval,
            rest.cfg.max_poll_interval,
        )
        .await?;
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
        .send(
            RequestContext::non_idempotent(Platform::LinkedIn, "rest.posts_create"),
            rest.rest(Method::POST, rest.rest_url("posts", None), token)
                .json(body),
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
pub(crate) fn post_url(urn: &str) -> Option<Url> {
    Url::parse(&format!("https://www.linkedin.com/feed/update/{urn}")).ok()
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
    let status = media::video_status(rest, token, &waiting.video).await?;
    match status.as_str() {
        "AVAILABLE" => create(rest, token, &waiting.body)
            .await
            .map(PublishStatus::Published),
        "PROCESSING_FAILED" => Ok(PublishStatus::Failed {
            kind: ErrorKind::MediaRejected,
            code: "PROCESSING_FAILED".to_owned(),
            message: format!("LinkedIn could not process video {}", waiting.video),
        }),
        other => Ok(PublishStatus::Processing {
            state: other.to_owned(),
            retry_after: rest.cfg.poll_interval.max(Duration::from_secs(5)),
            next: None,
        }),
    }
}

/// Looks for the post among the author's recent posts (`GET /rest/posts?q=author`).
pub(crate) async fn find_published(
    rest: &Rest,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    check_author(target)?;
    let query = format!(
        "q=author&author={}&count=20&sortBy=LAST_MODIFIED",
        encode(&target.id)
    );
    let posts: Elements<PostEntry> = rest
        .get(
            "rest.posts_by_author",
            rest.rest_url("posts", Some(&query)),
            &tokens.access_token,
        )
        .await?;
    let expected = escape_commentary(fingerprint.text.as_deref().unwrap_or(""));
    let not_before = fingerprint.not_before - CLOCK_SKEW;
    Ok(posts
        .elements
        .into_iter()
        .find(|p| {
            let created = p
                .created_at
                .or(p.published_at)
                .and_then(DateTime::from_timestamp_millis);
            let recent = created.is_none_or(|t| t >= not_before);
            let text = p.commentary.as_deref().unwrap_or("");
            recent
                && (text.trim() == expected.trim()
                    || text.trim() == fingerprint.text.as_deref().unwrap_or("").trim())
        })
        .map(|p| {
            let url = post_url(&p.id);
            PublishedPost::new(p.id).with_url(url)
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
