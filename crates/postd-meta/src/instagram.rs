//! Instagram publishing: the container flow, in the order the calls happen.
//!
//! 1. `GET /{ig}/content_publishing_limit?fields=quota_usage,config`: refuse
//!    before creating anything when the 24-hour quota is spent.
//! 2. `POST /{ig}/media`: create a container (`image_url`; `media_type=REELS`
//!    with `video_url`, or `upload_type=resumable` and the bytes to
//!    `rupload.facebook.com/ig-api-upload/{v}/{container}`;
//!    `media_type=STORIES`; carousels: one `is_carousel_item=true` container per
//!    item, then `media_type=CAROUSEL&children=...`). Containers expire after
//!    24 hours and have no visible effect, so creating one is safe to repeat.
//! 3. `GET /{container}?fields=status_code,status` until `FINISHED`
//!    (`IN_PROGRESS`, `ERROR`, `EXPIRED`, `PUBLISHED`), polling with backoff for
//!    at most `polling.wait`; after that the publish answers `Pending` and
//!    [`publish_status`] goes on from where it stopped.
//! 4. `POST /{ig}/media_publish?creation_id=...`: not idempotent. Whatever
//!    goes wrong with it, the container is asked first: `PUBLISHED` means the
//!    post exists (found again in `/{ig}/media`), `FINISHED` means it does not
//!    and one more attempt is safe. One container, one post, always.
//!
//! Media must be on public URLs (Meta fetches them), except reel and story
//! videos from a local file, which go through the resumable upload.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::RequestContext;
use postd_core::secrecy::SecretString;
use postd_core::{
    AuthKind, Capabilities, Error, ErrorKind, Fingerprint, InstagramKind, Media, MediaKind,
    MediaLimits, MediaSource, Platform, Post, PublishHandle, PublishOutcome, PublishStatus,
    PublishedPost, RefreshModel, Result, Target, TargetKind, TokenSet,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::error::{container_status_kind, invalid, rejected};
use crate::graph::{Auth, Graph};
use crate::models::{
    ContainerStatus, Id, IgMedia, Paged, PublishingLimit, ResumableContainer, parse_time,
};

/// Caption limits (Instagram Graph API, `ig-user/media`).
pub(crate) const CAPTION_MAX: usize = 2_200;
pub(crate) const HASHTAGS_MAX: usize = 30;
pub(crate) const MENTIONS_MAX: usize = 20;
pub(crate) const CAROUSEL_MIN: usize = 2;
pub(crate) const CAROUSEL_MAX: usize = 10;
/// Images: JPEG, at most 8 MB.
pub(crate) const IMAGE_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Reels: at most 1 GB; story videos: at most 100 MB.
pub(crate) const REEL_MAX_BYTES: u64 = 1024 * 1024 * 1024;
pub(crate) const STORY_VIDEO_MAX_BYTES: u64 = 100 * 1024 * 1024;
/// A schedule time this close to now is "now" (clocks differ a little).
const SCHEDULE_TOLERANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// A pending publish that has not resolved in a day is handed back as unresolved.
const GIVE_UP_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(24);

pub(crate) const HANDLE_CONTAINER: &str = "ig_container";

/// What an Instagram professional account takes (Facebook Login, Graph API).
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    implemented: true,
    auth: AuthKind::OAuth2 { pkce: false },
    refresh: RefreshModel::LongLivedExchange,
    text_max_chars: Some(CAPTION_MAX),
    text_only: false,
    links: false,
    media: MediaLimits {
        kinds: &[MediaKind::Image, MediaKind::Video],
        max_items: CAROUSEL_MAX,
        // Carousels mix images and videos.
        one_video_or_images: false,
        max_image_bytes: Some(IMAGE_MAX_BYTES),
        max_video_bytes: Some(REEL_MAX_BYTES),
        max_video_duration: Some(Duration::from_secs(15 * 60)),
    },
    // Instagram has no scheduling API: the queue holds the post until its time.
    native_scheduling: None,
    async_processing: true,
    analytics: true,
    analytics_delay: Some(Duration::from_secs(48 * 3600)),
    signed_webhooks: true,
    webhook_challenge: true,
    ..Capabilities::none(Platform::Meta)
};

pub(crate) fn kind_of(post: &Post) -> Result<Kind> {
    let requested = post
        .options
        .instagram
        .as_ref()
        .map(|o| o.kind)
        .unwrap_or_default();
    let n = post.media.len();
    let first = post.media.first().map(|m| m.kind);
    let kind = match requested {
        InstagramKind::Auto => match (n, first) {
            (0, _) => return Err(invalid("Instagram posts need an image or a video")),
            (1, Some(MediaKind::Image)) => Kind::Image,
            (1, Some(MediaKind::Video)) => Kind::Reel,
            (1, _) => return Err(rejected("Instagram takes JPEG images and videos only")),
            _ => Kind::Carousel,
        },
        InstagramKind::Image => Kind::Image,
        InstagramKind::Carousel => Kind::Carousel,
        InstagramKind::Reel => Kind::Reel,
        InstagramKind::Story => Kind::Story,
        _ => return Err(invalid("unknown Instagram post kind")),
    };
    Ok(kind)
}

pub(crate) fn validate(caps: &Capabilities, post: &Post) -> Result<()> {
    if post
        .schedule_at
        .is_some_and(|at| at > Utc::now() + SCHEDULE_TOLERANCE)
    {
        return Err(invalid(
            "Instagram has no native scheduling: hold the post in the queue and publish it at its time",
        ));
    }
    if post.link.is_some() {
        return Err(invalid(
            "Instagram posts cannot carry a link; put it in the caption",
        ));
    }
    if post.media.is_empty() {
        return Err(invalid(
            "Instagram posts need an image or a video; a text-only post (or story) is not possible",
        ));
    }
    caps.check_common(post)?;
    if let Some(text) = &post.text {
        let tags = count_marked(text, '#');
        if tags > HASHTAGS_MAX {
            return Err(invalid(&format!(
                "caption has {tags} hashtags; Instagram allows at most {HASHTAGS_MAX}"
            )));
        }
        let mentions = count_marked(text, '@');
        if mentions > MENTIONS_MAX {
            return Err(invalid(&format!(
                "caption has {mentions} @-mentions; Instagram allows at most {MENTIONS_MAX}"
            )));
        }
    }
    let kind = kind_of(post)?;
    let n = post.media.len();
    match kind {
        Kind::Image | Kind::Reel | Kind::Story if n != 1 => {
            return Err(invalid(
                "this Instagram post kind takes exactly one media item",
            ));
        }
        Kind::Carousel if !(CAROUSEL_MIN..=CAROUSEL_MAX).contains(&n) => {
            return Err(invalid(&format!(
                "carousels take 2 to 10 items; this post has {n}"
            )));
        }
        Kind::Image if post.media[0].kind != MediaKind::Image => {
            return Err(rejected("an image post needs an image"));
        }
        Kind::Reel if post.media[0].kind != MediaKind::Video => {
            return Err(rejected("a reel needs a video"));
        }
        Kind::Story if post.text.as_deref().is_some_and(|t| !t.trim().is_empty()) => {
            return Err(invalid("Instagram stories do not take a caption"));
        }
        _ => {}
    }
    for (i, m) in post.media.iter().enumerate() {
        check_media(kind, i, m)?;
    }
    Ok(())
}

fn check_media(kind: Kind, i: usize, m: &Media) -> Result<()> {
    let item = i + 1;
    match m.kind {
        MediaKind::Image => {
            if m.as_url().is_none() {
                return Err(invalid(&format!(
                    "media item {item}: Instagram fetches images from a public URL; upload the image somewhere public first"
                )));
            }
            if m.mime_type
                .as_deref()
                .is_some_and(|t| t != "image/jpeg" && t != "image/jpg")
                || m.as_url().is_some_and(non_jpeg_url)
            {
                return Err(rejected(&format!(
                    "media item {item}: Instagram images must be JPEG"
                )));
            }
            if m.size_hint.is_some_and(|s| s > IMAGE_MAX_BYTES) {
                return Err(rejected(&format!(
                    "media item {item}: Instagram images must be at most 8 MB"
                )));
            }
        }
        MediaKind::Video => {
            if kind == Kind::Carousel && m.as_url().is_none() {
                return Err(invalid(&format!(
                    "media item {item}: carousel videos must be on a public URL"
                )));
            }
            let max = if kind == Kind::Story {
                STORY_VIDEO_MAX_BYTES
            } else {
                REEL_MAX_BYTES
            };
            if m.size_hint.is_some_and(|s| s > max) {
                return Err(rejected(&format!(
                    "media item {item}: the video is larger than Instagram's {} MB limit",
                    max / (1024 * 1024)
                )));
            }
        }
        _ => {
            return Err(rejected(&format!(
                "media item {item}: Instagram takes images and videos only"
            )));
        }
    }
    Ok(())
}

/// A URL whose file name says it is not a JPEG (Instagram takes JPEG only).
fn non_jpeg_url(url: &Url) -> bool {
    let path = url.path().to_ascii_lowercase();
    [
        ".png", ".gif", ".webp", ".heic", ".heif", ".bmp", ".tif", ".tiff", ".avif",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

/// Counts `#tag` or `@name` occurrences: the mark followed by a word character.
fn count_marked(text: &str, mark: char) -> usize {
    if !text.contains(mark) {
        return 0;
    }
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_word = prev.is_none_or(|p| !p.is_alphanumeric() && p != '_');
        if c == mark
            && starts_word
            && chars
                .peek()
                .is_some_and(|n| n.is_alphanumeric() || *n == '_')
        {
            count += 1;
        }
        prev = Some(c);
    }
    count
}

pub(crate) async fn publish(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    let token = crate::auth::target_token(tokens, target)?;
    let ig = target.id.as_str();
    let kind = kind_of(post)?;
    check_local_sizes(kind, post).await?;
    check_quota(graph, token, ig).await?;
    let started = Utc::now();
    let deadline = Instant::now() + graph.cfg.polling.wait;
    let options = post.options.instagram.clone().unwrap_or_default();
    let caption = post.text.clone().filter(|t| !t.trim().is_empty());
    let mut progress = Progress {
        kind,
        children: Vec::new(),
        container: None,
        caption: caption.clone(),
        location_id: options.location_id.clone(),
        publish_attempted_at: None,
    };

    match kind {
        Kind::Carousel => {
            for m in &post.media {
                let mut params = vec![("is_carousel_item", "true".to_owned())];
                media_params(m, &mut params, true)?;
                progress
                    .children
                    .push(create_container(graph, token, ig, &params).await?.id);
            }
        }
        Kind::Image | Kind::Reel | Kind::Story => {
            let media = &post.media[0];
            let mut params: Vec<(&str, String)> = Vec::new();
            match kind {
                Kind::Reel => params.push(("media_type", "REELS".to_owned())),
                Kind::Story => params.push(("media_type", "STORIES".to_owned())),
                _ => {}
            }
            if let Some(c) = &caption {
                params.push(("caption", c.clone()));
            }
            if kind == Kind::Reel {
                if let Some(v) = options.share_to_feed {
                    params.push(("share_to_feed", v.to_string()));
                }
                if let Some(u) = &options.cover_url {
                    params.push(("cover_url", u.to_string()));
                }
                if let Some(ms) = options.thumb_offset_ms {
                    params.push(("thumb_offset", ms.to_string()));
                }
            }
            if kind != Kind::Story
                && let Some(loc) = &options.location_id
            {
                params.push(("location_id", loc.clone()));
            }
            if kind == Kind::Image
                && let Some(alt) = &media.alt_text
            {
                params.push(("alt_text", alt.clone()));
            }
            let id = match &media.source {
                MediaSource::Url(_) => {
                    media_params(media, &mut params, false)?;
                    create_container(graph, token, ig, &params).await?.id
                }
                _ => {
                    params.push(("upload_type", "resumable".to_owned()));
                    let created: ResumableContainer = graph
                        .post(
                            RequestContext::idempotent(Platform::Meta, "graph.ig_media"),
                            Auth::Token(token),
                            graph.url(&[ig, "media"]),
                            &params,
                            Some(ig),
                        )
                        .await?;
                    let url = rupload_url(graph, &created);
                    crate::upload::rupload(graph, token, url, media).await?;
                    created.id
                }
            };
            progress.container = Some(id);
        }
    }
    let handle_id = progress
        .container
        .clone()
        .or_else(|| progress.children.first().cloned())
        .unwrap_or_default();
    let mut handle = PublishHandle::new(Platform::Meta, ig, HANDLE_CONTAINER, handle_id);
    handle.started_at = started;
    advance(graph, token, ig, progress, handle, deadline).await
}

/// Local media is checked before any call: a regular file, not empty, within
/// Instagram's limit for the post kind (URL media carry a size hint at most).
async fn check_local_sizes(kind: Kind, post: &Post) -> Result<()> {
    postd_core::content::check_local_media(Platform::Meta, post, |m| match m.kind {
        MediaKind::Video if kind == Kind::Story => Some(STORY_VIDEO_MAX_BYTES),
        MediaKind::Video => Some(REEL_MAX_BYTES),
        _ => Some(IMAGE_MAX_BYTES),
    })
    .await
}

async fn check_quota(graph: &Graph, token: &SecretString, ig: &str) -> Result<()> {
    let limit: Paged<PublishingLimit> = graph
        .get(
            "graph.content_publishing_limit",
            Auth::Token(token),
            graph.url(&[ig, "content_publishing_limit"]),
            &[("fields", "quota_usage,config")],
            Some(ig),
        )
        .await?;
    if let Some(l) = limit.data.first()
        && let (Some(used), Some(total)) =
            (l.quota_usage, l.config.as_ref().and_then(|c| c.quota_total))
        && used >= total
    {
        return Err(Error::new(
            ErrorKind::RateLimited,
            format!(
                "Instagram publishing quota spent: {used} of {total} posts in the last 24 hours"
            ),
        )
        .temporary(Some(Duration::from_secs(3600)))
        .with_platform(Platform::Meta)
        .with_operation("publish")
        .with_code("content_publishing_limit"));
    }
    Ok(())
}

async fn create_container(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    params: &[(&str, String)],
) -> Result<Id> {
    // A container is invisible until published and expires in 24 hours: safe to repeat.
    graph
        .post(
            RequestContext::idempotent(Platform::Meta, "graph.ig_media"),
            Auth::Token(token),
            graph.url(&[ig, "media"]),
            params,
            Some(ig),
        )
        .await
}

fn media_params(m: &Media, params: &mut Vec<(&str, String)>, carousel_item: bool) -> Result<()> {
    let Some(url) = m.as_url() else {
        return Err(invalid("Instagram media must be on a public URL"));
    };
    match m.kind {
        MediaKind::Image => params.push(("image_url", url.to_string())),
        MediaKind::Video => {
            if carousel_item {
                params.push(("media_type", "VIDEO".to_owned()));
            }
            params.push(("video_url", url.to_string()));
        }
        _ => return Err(rejected("Instagram takes images and videos only")),
    }
    Ok(())
}

/// The upload URL for a resumable container: the path Meta returned, on the configured upload host
/// (so the token only ever goes to the host POSTD was configured with).
fn rupload_url(graph: &Graph, created: &ResumableContainer) -> Url {
    let from_answer = created
        .uri
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .map(|u| u.path().trim_start_matches('/').to_owned())
        .filter(|p| p.starts_with("ig-api-upload/"));
    match from_answer {
        Some(path) => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            postd_core::config::join(&graph.cfg.upload_base_url, &segments)
        }
        None => postd_core::config::join(
            &graph.cfg.upload_base_url,
            &[
                "ig-api-upload",
                graph.cfg.graph_version.as_str(),
                created.id.as_str(),
            ],
        ),
    }
}

/// Drives a publish forward until `deadline`: children, parent, container, `media_publish`.
async fn advance(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    mut progress: Progress,
    mut handle: PublishHandle,
    deadline: Instant,
) -> Result<PublishOutcome> {
    if progress.container.is_none() {
        for child in &progress.children {
            match wait_for(graph, token, ig, child, deadline).await? {
                Wait::Ready => {}
                Wait::Published => {
                    return Err(Error::unexpected(
                        "a carousel item was published on its own",
                    ));
                }
                Wait::Pending => {
                    return Ok(PublishOutcome::Pending(with_progress(handle, &progress)));
                }
            }
        }
        let mut params = vec![
            ("media_type", "CAROUSEL".to_owned()),
            ("children", progress.children.join(",")),
        ];
        if let Some(c) = &progress.caption {
            params.push(("caption", c.clone()));
        }
        if let Some(loc) = &progress.location_id {
            params.push(("location_id", loc.clone()));
        }
        let parent = create_container(graph, token, ig, &params).await?.id;
        handle.id = parent.clone();
        progress.container = Some(parent);
        progress.children.clear();
    }
    let Some(container) = progress.container.clone() else {
        return Err(Error::unexpected("no container to publish"));
    };
    let published = match wait_for(graph, token, ig, &container, deadline).await? {
        Wait::Pending => None,
        // PUBLISHED already: find the media it became (a failed lookup stays pending, never republishes).
        Wait::Published => locate(graph, token, ig, &progress, handle.started_at)
            .await
            .ok()
            .flatten(),
        Wait::Ready => {
            publish_container(
                graph,
                token,
                ig,
                &container,
                &mut progress,
                handle.started_at,
            )
            .await?
        }
    };
    Ok(match published {
        Some(p) => PublishOutcome::Published(p),
        None => PublishOutcome::Pending(with_progress(handle, &progress)),
    })
}

fn with_progress(mut handle: PublishHandle, progress: &Progress) -> PublishHandle {
    handle.state = serde_json::to_value(progress).unwrap_or(serde_json::Value::Null);
    handle
}

/// Polls a container with backoff until it is ready or `deadline` passes.
async fn wait_for(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    container: &str,
    deadline: Instant,
) -> Result<Wait> {
    let mut delays = graph.cfg.polling.delays();
    loop {
        let status = container_status(graph, token, ig, container).await?;
        let code = status.status_code.clone().unwrap_or_default();
        match code.as_str() {
            "FINISHED" => return Ok(Wait::Ready),
            "PUBLISHED" => return Ok(Wait::Published),
            "ERROR" => {
                let text = status
                    .status
                    .unwrap_or_else(|| "container processing failed".to_owned());
                let (kind, sub) = container_status_kind(&text);
                let mut e = Error::new(
                    kind,
                    format!("Instagram could not process the media: {text}"),
                )
                .with_platform(Platform::Meta)
                .with_operation("publish");
                if let Some(s) = sub {
                    e = e.with_code(format!("ERROR/{s}"));
                }
                return Err(e);
            }
            "EXPIRED" => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "container {container} expired (containers live 24 hours); publish again"
                    ),
                )
                .with_platform(Platform::Meta)
                .with_operation("publish"));
            }
            _ => {}
        }
        let interval = delays.next().unwrap_or(graph.cfg.polling.max);
        if Instant::now() + interval > deadline {
            return Ok(Wait::Pending);
        }
        tokio::time::sleep(interval).await;
    }
}

async fn container_status(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    container: &str,
) -> Result<ContainerStatus> {
    graph
        .get(
            "graph.ig_container_status",
            Auth::Token(token),
            graph.url(&[container]),
            &[("fields", "status_code,status")],
            Some(ig),
        )
        .await
}

/// `media_publish`, with the container asked first whenever the answer is not a clean success.
/// `media_publish`, guarded so that one container makes one post.
///
/// Whenever the answer is not a clean success the container is asked:
/// `PUBLISHED` means the post exists (found again among the account's media);
/// `FINISHED` after an unknown outcome means "not yet visible", so POSTD
/// waits `unknown_outcome_wait` before it publishes the same container again
/// (the first call may still be running at Meta). `Ok(None)` means pending.
async fn publish_container(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    container: &str,
    progress: &mut Progress,
    started: DateTime<Utc>,
) -> Result<Option<PublishedPost>> {
    let now = Utc::now().timestamp_millis();
    if let Some(at) = progress.publish_attempted_at {
        let quiet = i64::try_from(graph.cfg.unknown_outcome_wait.as_millis()).unwrap_or(i64::MAX);
        if now.saturating_sub(at) < quiet {
            return Ok(None);
        }
    }
    progress.publish_attempted_at = Some(now);
    let result: Result<Id> = graph
        .post(
            RequestContext::non_idempotent(Platform::Meta, "graph.media_publish"),
            Auth::Token(token),
            graph.url(&[ig, "media_publish"]),
            &[("creation_id", container.to_owned())],
            Some(ig),
        )
        .await;
    let err = match result {
        Ok(Id { id }) => return Ok(Some(with_permalink(graph, token, ig, id).await)),
        Err(e) => e,
    };
    // The answer may have been lost, or be a rate-limit error that arrived
    // after the post took effect: the container knows what happened.
    let Ok(status) = container_status(graph, token, ig, container).await else {
        return Ok(None);
    };
    match status.status_code.as_deref() {
        Some("PUBLISHED") => Ok(locate(graph, token, ig, progress, started)
            .await
            .ok()
            .flatten()),
        Some("FINISHED") if err.kind() == ErrorKind::UnknownOutcome => Ok(None),
        _ => {
            // Refused, and the container is not published: nothing happened.
            progress.publish_attempted_at = None;
            Err(err)
        }
    }
}

async fn with_permalink(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    id: String,
) -> PublishedPost {
    let media: Result<IgMedia> = graph
        .get(
            "graph.ig_media_get",
            Auth::Token(token),
            graph.url(&[id.as_str()]),
            &[("fields", "id,permalink")],
            Some(ig),
        )
        .await;
    let url = media
        .ok()
        .and_then(|m| m.permalink)
        .and_then(|p| Url::parse(&p).ok());
    PublishedPost::new(id).with_url(url)
}

/// Finds the media a published container became, among the account's recent media.
async fn locate(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    progress: &Progress,
    started: DateTime<Utc>,
) -> Result<Option<PublishedPost>> {
    find_recent(
        graph,
        token,
        ig,
        progress.caption.as_deref(),
        progress.kind == Kind::Story,
        started,
    )
    .await
}

async fn find_recent(
    graph: &Graph,
    token: &SecretString,
    ig: &str,
    caption: Option<&str>,
    story: bool,
    not_before: DateTime<Utc>,
) -> Result<Option<PublishedPost>> {
    let edge = if story { "stories" } else { "media" };
    let earliest = not_before - Fingerprint::CLOCK_SKEW;
    let mut after: Option<String> = None;
    // Newest first: page back until the media are older than our first attempt.
    for _ in 0..FIND_PAGES {
        let mut query = vec![
            (
                "fields",
                "id,caption,timestamp,permalink,media_product_type",
            ),
            ("limit", "50"),
        ];
        if let Some(a) = after.as_deref() {
            query.push(("after", a));
        }
        let media: Paged<IgMedia> = graph
            .get(
                "graph.ig_media_list",
                Auth::Token(token),
                graph.url(&[ig, edge]),
                &query,
                Some(ig),
            )
            .await?;
        after = media.next_cursor();
        let mut older = false;
        for m in media.data {
            let created = m.timestamp.as_deref().and_then(parse_time);
            if Fingerprint::sent_matches(caption, not_before, m.caption.as_deref(), created) {
                let url = m.permalink.as_deref().and_then(|p| Url::parse(p).ok());
                return Ok(Some(PublishedPost::new(m.id).with_url(url)));
            }
            older |= created.is_some_and(|t| t < earliest);
        }
        if older || after.is_none() {
            break;
        }
    }
    Ok(None)
}

/// Pages of media a reconciliation reads, at most.
const FIND_PAGES: usize = 10;

/// Goes on with a publish that answered `Pending`.
pub(crate) async fn publish_status(
    graph: &Graph,
    tokens: &TokenSet,
    handle: &PublishHandle,
) -> Result<PublishStatus> {
    let progress: Progress = serde_json::from_value(handle.state.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidContent,
            "this handle's state is not an Instagram publish in progress",
        )
        .with_platform(Platform::Meta)
        .with_operation("publish_status")
    })?;
    let ig = handle.target_id.as_str();
    let token = crate::auth::target_token(tokens, &Target::new(TargetKind::InstagramAccount, ig))?;
    let deadline = Instant::now() + graph.cfg.polling.wait;
    match advance(graph, token, ig, progress, handle.clone(), deadline).await? {
        PublishOutcome::Published(p) => Ok(PublishStatus::Published(p)),
        PublishOutcome::Pending(next) => {
            if Utc::now() - handle.started_at > GIVE_UP_AFTER {
                // Containers expire after 24 hours: whatever happened has happened.
                return Ok(PublishStatus::Failed {
                    kind: ErrorKind::UnknownOutcome,
                    code: "unresolved".to_owned(),
                    message: format!(
                        "Instagram publish of container {} did not resolve within a day; check the account",
                        next.id
                    ),
                });
            }
            let state = next
                .state
                .get("container")
                .and_then(|c| c.as_str())
                .map_or("CHILDREN_IN_PROGRESS", |_| "IN_PROGRESS")
                .to_owned();
            Ok(PublishStatus::Processing {
                state,
                retry_after: graph.cfg.polling.ask_again(),
                next,
            })
        }
        _ => Err(Error::unexpected("unexpected publish outcome")),
    }
}

/// Looks for a post matching `fingerprint` among the account's recent media (and stories).
pub(crate) async fn find_published(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    let token = crate::auth::target_token(tokens, target)?;
    let ig = target.id.as_str();
    // Stories and captionless posts cannot be told apart by content; the
    // container (kept in a pending handle) is how those are reconciled.
    crate::facebook::require_text(fingerprint)?;
    find_recent(
        graph,
        token,
        ig,
        fingerprint.text.as_deref(),
        false,
        fingerprint.not_before,
    )
    .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Image,
    Carousel,
    Reel,
    Story,
}

/// Where a pending publish stands; kept in the handle's state.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct Progress {
    kind: Kind,
    /// Carousel items, while the parent does not exist yet.
    #[serde(default)]
    children: Vec<String>,
    /// The container to publish, once it exists.
    #[serde(default)]
    container: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    location_id: Option<String>,
    /// When a `media_publish` whose outcome is unknown was sent (Unix milliseconds).
    #[serde(default)]
    publish_attempted_at: Option<i64>,
}

enum Wait {
    Ready,
    Published,
    Pending,
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{ClientRef, InstagramOptions};

    fn caps() -> Capabilities {
        CAPABILITIES
    }

    fn img() -> Media {
        Media::url(
            MediaKind::Image,
            Url::parse("https://cdn.example/a.jpg").unwrap(),
        )
    }

    fn post(text: &str) -> Post {
        Post::new(ClientRef::new("r").unwrap()).with_text(text)
    }

    fn kind(k: InstagramKind) -> postd_core::PostOptions {
        let mut o = postd_core::PostOptions::default();
        let mut ig = InstagramOptions::default();
        ig.kind = k;
        o.instagram = Some(ig);
        o
    }

    #[test]
    fn counts_hashtags_and_mentions_like_instagram() {
        assert_eq!(count_marked("#a #b c#d ## # @x @y.z email@host", '#'), 2);
        assert_eq!(count_marked("#a #b c#d ## # @x @y.z email@host", '@'), 2);
        assert_eq!(count_marked("#été #日本", '#'), 2);
    }

    #[test]
    fn caption_limits() {
        let c = caps();
        assert!(validate(&c, &post(&"a".repeat(2200)).with_media(img())).is_ok());
        let err = validate(&c, &post(&"a".repeat(2201)).with_media(img())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
        let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
        assert!(
            validate(&c, &post(&tags).with_media(img()))
                .unwrap_err()
                .to_string()
                .contains("31 hashtags")
        );
        let mentions: String = (0..21).map(|i| format!("@u{i} ")).collect();
        assert!(
            validate(&c, &post(&mentions).with_media(img()))
                .unwrap_err()
                .to_string()
                .contains("21 @-mentions")
        );
    }

    #[test]
    fn bad_shapes_are_refused_before_any_call() {
        let c = caps();
        // Text only.
        assert_eq!(
            validate(&c, &post("hi")).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        // A story with text only, and a story with a caption.
        assert_eq!(
            validate(&c, &post("hi").with_options(kind(InstagramKind::Story)))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidContent
        );
        let story = post("caption")
            .with_media(img())
            .with_options(kind(InstagramKind::Story));
        assert!(
            validate(&c, &story)
                .unwrap_err()
                .to_string()
                .contains("stories do not take a caption")
        );
        // Eleven carousel items.
        let mut eleven = post("x");
        for _ in 0..11 {
            eleven = eleven.with_media(img());
        }
        assert_eq!(
            validate(&c, &eleven).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        // A carousel of one.
        let one = post("x")
            .with_media(img())
            .with_options(kind(InstagramKind::Carousel));
        assert!(
            validate(&c, &one)
                .unwrap_err()
                .to_string()
                .contains("2 to 10")
        );
        // An image from disk.
        let local = post("x").with_media(Media::file(MediaKind::Image, "/tmp/a.jpg"));
        assert!(
            validate(&c, &local)
                .unwrap_err()
                .to_string()
                .contains("public URL")
        );
        // A PNG.
        let png = post("x").with_media(img().with_mime_type("image/png"));
        assert_eq!(
            validate(&c, &png).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        // A reel over 1 GB.
        let big = post("x").with_media(
            Media::url(
                MediaKind::Video,
                Url::parse("https://cdn.example/v.mp4").unwrap(),
            )
            .with_size_hint(REEL_MAX_BYTES + 1),
        );
        assert_eq!(
            validate(&c, &big).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        // A link.
        let link = post("x")
            .with_media(img())
            .with_link(Url::parse("https://e.x").unwrap());
        assert_eq!(
            validate(&c, &link).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        // A reel from a local file is fine (resumable upload).
        let reel = post("x").with_media(Media::file(MediaKind::Video, "/tmp/v.mp4"));
        assert!(validate(&c, &reel).is_ok());
    }

    #[test]
    fn kinds_are_resolved_from_media() {
        let vid = Media::url(
            MediaKind::Video,
            Url::parse("https://cdn.example/v.mp4").unwrap(),
        );
        assert_eq!(kind_of(&post("x").with_media(img())).unwrap(), Kind::Image);
        assert_eq!(
            kind_of(&post("x").with_media(vid.clone())).unwrap(),
            Kind::Reel
        );
        assert_eq!(
            kind_of(&post("x").with_media(img()).with_media(vid)).unwrap(),
            Kind::Carousel
        );
    }
}
