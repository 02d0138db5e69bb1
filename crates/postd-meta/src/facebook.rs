//! Facebook Page publishing, in the order the calls happen.
//!
//! - Text and link posts: `POST /{page}/feed` (`message`, `link`).
//! - One photo: `POST /{page}/photos` (`url`, or the file as multipart `source`).
//! - Several photos: each `POST /{page}/photos` with `published=false`
//!   (`temporary=true` when scheduled), then `POST /{page}/feed` with
//!   `attached_media[i]={"media_fbid":"<photo id>"}`.
//! - Video: `POST graph-video/{page}/videos` with `file_url`, or a local file
//!   through the Resumable Upload API and `fbuploader_video_file_chunk`; the
//!   video is then processed (`GET /{video}?fields=status`), so the publish
//!   answers `Pending` until it is `ready`.
//! - Scheduling: `published=false` and `scheduled_publish_time` (Unix
//!   seconds), 10 minutes to 30 days ahead (the safe intersection of the
//!   documented windows), checked before any call.
//!
//! Every call uses the page token. The creating calls are not idempotent: a
//! timeout after sending is `UnknownOutcome`, reconciled by
//! [`find_published`], which lists the page's recent posts.

use chrono::{DateTime, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::reqwest::multipart::{Form, Part};
use postd_core::secrecy::SecretString;
use postd_core::{
    AuthKind, Capabilities, Error, ErrorKind, Fingerprint, Media, MediaKind, MediaLimits,
    MediaSource, Platform, Post, PublishHandle, PublishOutcome, PublishStatus, PublishedPost,
    RefreshModel, Result, ScheduleWindow, Target, TokenSet,
};
use url::Url;

use crate::error::invalid;
use crate::graph::{Auth, Graph};
use crate::models::{Id, PagePost, Paged, PhotoCreated, VideoStatus, parse_time};
use crate::upload::{STREAM_CHUNK, resumable_upload};

/// Facebook posts take about 63,206 characters.
pub(crate) const TEXT_MAX: usize = 63_206;
/// Photos on one multi-photo post (POSTD's limit; Meta documents none lower).
pub(crate) const MAX_PHOTOS: usize = 10;
/// Scheduled posts: at least 10 minutes ahead.
pub(crate) const SCHEDULE_MIN: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// Scheduled posts: at most 30 days ahead (some sources say 75 days or 6 months).
pub(crate) const SCHEDULE_MAX: chrono::TimeDelta = chrono::TimeDelta::days(30);

pub(crate) const HANDLE_VIDEO: &str = "fb_video";

/// What a Facebook Page takes.
pub(crate) const CAPABILITIES: Capabilities = Capabilities {
    implemented: true,
    auth: AuthKind::OAuth2 { pkce: false },
    refresh: RefreshModel::LongLivedExchange,
    text_max_chars: Some(TEXT_MAX),
    text_only: true,
    links: true,
    media: MediaLimits {
        kinds: &[MediaKind::Image, MediaKind::Video],
        max_items: MAX_PHOTOS,
        one_video_or_images: true,
        max_image_bytes: None,
        max_video_bytes: None,
        max_video_duration: None,
    },
    native_scheduling: Some(ScheduleWindow::new(
        std::time::Duration::from_secs(10 * 60),
        std::time::Duration::from_secs(30 * 24 * 3600),
    )),
    async_processing: true,
    analytics: true,
    analytics_delay: Some(std::time::Duration::from_secs(48 * 3600)),
    signed_webhooks: true,
    webhook_challenge: true,
    ..Capabilities::none(Platform::Meta)
};

pub(crate) fn validate(caps: &Capabilities, post: &Post, now: DateTime<Utc>) -> Result<()> {
    caps.check_common(post)?;
    let fail = |msg: &str| Err(invalid(msg));
    if post
        .text
        .as_ref()
        .is_some_and(|t| t.chars().count() > TEXT_MAX)
    {
        return fail("Facebook posts take at most 63,206 characters");
    }
    if post.link.is_some() && !post.media.is_empty() {
        return fail("a Facebook link post cannot also carry photos or video");
    }
    // A time already past means "now": the queue held the post until then.
    if let Some(at) = post.schedule_at.filter(|at| *at > now) {
        if at < now + SCHEDULE_MIN {
            return fail("Facebook scheduled posts must be at least 10 minutes in the future");
        }
        if at > now + SCHEDULE_MAX {
            return fail("Facebook scheduled posts must be at most 30 days in the future");
        }
    }
    if let [video] = post.media.as_slice()
        && video.kind == MediaKind::Video
        && video.as_url().is_none()
        && !is_mp4(video)
    {
        return Err(Error::new(
            ErrorKind::MediaRejected,
            "Facebook's resumable upload takes MP4 video only (video/mp4)",
        )
        .with_platform(Platform::Meta)
        .with_operation("validate"));
    }
    Ok(())
}

fn is_mp4(m: &Media) -> bool {
    match m.mime_type.as_deref() {
        Some(t) => crate::upload::RESUMABLE_TYPES.contains(&t) && t.starts_with("video/"),
        None => {
            let name = m.file_name().to_ascii_lowercase();
            name.ends_with(".mp4") || name.ends_with(".m4v")
        }
    }
}

/// The schedule time to send: only a time still ahead (a past one means "publish now").
fn schedule_of(post: &Post) -> Option<DateTime<Utc>> {
    post.schedule_at.filter(|at| *at > Utc::now())
}

pub(crate) async fn publish(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    // Local media is checked before the first call: a directory, a device or an
    // empty file is refused here, not discovered half way through a create.
    postd_core::content::check_local_media(Platform::Meta, post, |_| None).await?;
    let page_token = crate::auth::target_token(tokens, target)?;
    let page = target.id.as_str();
    let schedule = schedule_of(post);
    match post.media.as_slice() {
        [] => {
            let id = feed(graph, page_token, page, post, schedule, &[]).await?;
            Ok(published(page, &id, schedule))
        }
        [one] if one.kind == MediaKind::Image => {
            let created = photo(
                graph,
                page_token,
                page,
                one,
                PhotoRole::Post(post, schedule),
            )
            .await?;
            let id = created.post_id.unwrap_or(created.id);
            Ok(published(page, &id, schedule))
        }
        [video] if video.kind == MediaKind::Video => {
            let id = upload_video(graph, tokens, page_token, page, video, post, schedule).await?;
            let mut handle = PublishHandle::new(Platform::Meta, page, HANDLE_VIDEO, &id);
            if let Some(at) = schedule {
                // The go-live time travels with the handle, so every later answer carries it.
                handle = handle.with_state(serde_json::json!({ "scheduled_for": at }));
            }
            // The video exists now: whatever the first status look says, never fail the
            // publish (a retry would upload a second video); answer Pending instead.
            let Ok(first_look) = video_status(graph, tokens, &handle, page_token).await else {
                return Ok(PublishOutcome::Pending(handle));
            };
            match first_look {
                PublishStatus::Published(p) => Ok(PublishOutcome::Published(p)),
                PublishStatus::Failed {
                    kind,
                    code,
                    message,
                } => Err(Error::new(kind, message)
                    .with_code(code)
                    .with_platform(Platform::Meta)
                    .with_operation("publish")),
                _ => Ok(PublishOutcome::Pending(handle)),
            }
        }
        photos => {
            // Unpublished photos are invisible until attached, so uploading them is safe to repeat.
            let mut ids = Vec::with_capacity(photos.len());
            let role = PhotoRole::Attachment {
                temporary: schedule.is_some(),
            };
            for m in photos {
                let created = photo(graph, page_token, page, m, role).await?;
                ids.push(created.id);
            }
            let id = feed(graph, page_token, page, post, schedule, &ids).await?;
            Ok(published(page, &id, schedule))
        }
    }
}

fn published(page: &str, id: &str, schedule: Option<DateTime<Utc>>) -> PublishOutcome {
    let mut p = PublishedPost::new(id).with_url(post_url(page, id));
    if let Some(at) = schedule {
        p = p.with_scheduled_for(at);
    }
    PublishOutcome::Published(p)
}

/// `https://www.facebook.com/{page}/posts/{post}` for an id `{page}_{post}`.
fn post_url(page: &str, id: &str) -> Option<Url> {
    let post = id.split_once('_').map(|(_, p)| p).unwrap_or(id);
    Url::parse(&format!("https://www.facebook.com/{page}/posts/{post}")).ok()
}

fn schedule_params(schedule: Option<DateTime<Utc>>, form: &mut Vec<(&'static str, String)>) {
    match schedule {
        Some(at) => {
            form.push(("published", "false".to_owned()));
            form.push(("scheduled_publish_time", at.timestamp().to_string()));
        }
        None => form.push(("published", "true".to_owned())),
    }
}

async fn feed(
    graph: &Graph,
    token: &SecretString,
    page: &str,
    post: &Post,
    schedule: Option<DateTime<Utc>>,
    photo_ids: &[String],
) -> Result<String> {
    let mut form: Vec<(&'static str, String)> = Vec::new();
    if let Some(text) = &post.text {
        form.push(("message", text.clone()));
    }
    if let Some(link) = &post.link {
        form.push(("link", link.to_string()));
    }
    schedule_params(schedule, &mut form);
    // attached_media[i]={"media_fbid":"<photo id>"}, the documented form encoding.
    let keys: Vec<String> = (0..photo_ids.len())
        .map(|i| format!("attached_media[{i}]"))
        .collect();
    let mut pairs: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, v.clone())).collect();
    for (k, id) in keys.iter().zip(photo_ids) {
        pairs.push((
            k.as_str(),
            serde_json::json!({ "media_fbid": id }).to_string(),
        ));
    }
    let created: Id = graph
        .post(
            RequestContext::non_idempotent(Platform::Meta, "graph.page_feed"),
            Auth::Token(token),
            graph.url(&[page, "feed"]),
            &pairs,
            Some(page),
        )
        .await?;
    Ok(created.id)
}

/// What an uploaded photo is for.
#[derive(Clone, Copy)]
enum PhotoRole<'a> {
    /// The photo is the post: it carries the caption and the schedule.
    Post(&'a Post, Option<DateTime<Utc>>),
    /// An unpublished photo to attach to a multi-photo post; `temporary` for scheduled posts.
    Attachment { temporary: bool },
}

/// Uploads one photo.
async fn photo(
    graph: &Graph,
    token: &SecretString,
    page: &str,
    media: &Media,
    role: PhotoRole<'_>,
) -> Result<PhotoCreated> {
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    let ctx = match role {
        PhotoRole::Post(p, schedule) => {
            if let Some(text) = &p.text {
                fields.push(("caption", text.clone()));
            }
            schedule_params(schedule, &mut fields);
            // A visible photo is a post: never repeat it blindly.
            RequestContext::non_idempotent(Platform::Meta, "graph.page_photos")
        }
        PhotoRole::Attachment { temporary } => {
            fields.push(("published", "false".to_owned()));
            if temporary {
                fields.push(("temporary", "true".to_owned()));
            }
            // An unpublished photo is invisible until attached: safe to repeat.
            RequestContext::idempotent(Platform::Meta, "graph.page_photos")
        }
    };
    if let Some(alt) = &media.alt_text {
        fields.push(("alt_text_custom", alt.clone()));
    }
    let url = graph.url(&[page, "photos"]);
    match &media.source {
        MediaSource::Url(u) => {
            fields.push(("url", u.to_string()));
            graph
                .post(ctx, Auth::Token(token), url, &fields, Some(page))
                .await
        }
        MediaSource::File(_) | MediaSource::Bytes(_) => {
            let len = media.check_local(None).await?.unwrap_or(0);
            // The part declares `len` bytes and carries exactly `len`, or the
            // upload fails locally: never a body whose length differs from the one declared.
            let part = Part::stream_with_length(
                postd_core::reqwest::Body::wrap_stream(
                    media.stream_exact(0, len, STREAM_CHUNK).await?,
                ),
                len,
            )
            .file_name(media.file_name());
            let part = match &media.mime_type {
                Some(m) => part.mime_str(m).map_err(|_| {
                    Error::new(ErrorKind::MediaRejected, "media MIME type is not valid")
                })?,
                None => part,
            };
            let mut form = Form::new().part("source", part);
            for (k, v) in fields {
                form = form.text(k, v);
            }
            let builder = graph
                .request(Method::POST, url, Auth::Token(token))
                .multipart(form);
            graph.send(ctx, builder, Some(page)).await
        }
        _ => Err(
            Error::new(ErrorKind::Unsupported, "unsupported media source")
                .with_platform(Platform::Meta),
        ),
    }
}

async fn upload_video(
    graph: &Graph,
    tokens: &TokenSet,
    page_token: &SecretString,
    page: &str,
    video: &Media,
    post: &Post,
    schedule: Option<DateTime<Utc>>,
) -> Result<String> {
    let mut form: Vec<(&'static str, String)> = Vec::new();
    match &video.source {
        MediaSource::Url(u) => form.push(("file_url", u.to_string())),
        _ => {
            // The Resumable Upload API takes a user token; the video is then published with the page token.
            let handle = resumable_upload(graph, &tokens.access_token, video).await?;
            form.push(("fbuploader_video_file_chunk", handle));
        }
    }
    if let Some(text) = &post.text {
        form.push(("description", text.clone()));
    }
    if let Some(title) = post
        .options
        .facebook
        .as_ref()
        .and_then(|f| f.video_title.clone())
    {
        form.push(("title", title));
    }
    schedule_params(schedule, &mut form);
    let created: Id = graph
        .post(
            RequestContext::non_idempotent(Platform::Meta, "graph.page_videos"),
            Auth::Token(page_token),
            graph.video_url(&[page, "videos"]),
            &form,
            Some(page),
        )
        .await?;
    Ok(created.id)
}

/// Asks about a video that is processing.
pub(crate) async fn video_status(
    graph: &Graph,
    _tokens: &TokenSet,
    handle: &PublishHandle,
    page_token: &SecretString,
) -> Result<PublishStatus> {
    let status: VideoStatus = graph
        .get(
            "graph.video_status",
            Auth::Token(page_token),
            graph.url(&[handle.id.as_str()]),
            &[("fields", "status")],
            Some(handle.target_id.as_str()),
        )
        .await?;
    let state = status
        .status
        .and_then(|s| s.video_status)
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(match state.as_str() {
        // `upload_complete` only means the bytes arrived; processing is still running.
        "ready" | "published" => {
            let url = Url::parse(&format!(
                "https://www.facebook.com/{}/videos/{}",
                handle.target_id, handle.id
            ))
            .ok();
            let mut post = PublishedPost::new(&handle.id).with_url(url);
            if let Some(at) = scheduled_for(handle) {
                post = post.with_scheduled_for(at);
            }
            PublishStatus::Published(post)
        }
        "error" => PublishStatus::Failed {
            kind: ErrorKind::MediaRejected,
            code: "video_status:error".to_owned(),
            message: "Facebook could not process the video".to_owned(),
        },
        "expired" => PublishStatus::Failed {
            kind: ErrorKind::NotFound,
            code: "video_status:expired".to_owned(),
            message: "the uploaded video expired before it was published".to_owned(),
        },
        other => PublishStatus::Processing {
            state: other.to_owned(),
            retry_after: graph.cfg.polling.ask_again(),
            next: handle.clone(),
        },
    })
}

/// The go-live time of a natively scheduled video, kept in its handle.
fn scheduled_for(handle: &PublishHandle) -> Option<DateTime<Utc>> {
    handle
        .state
        .get("scheduled_for")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Looks for the post among the page's recent published and scheduled posts.
pub(crate) async fn find_published(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    let token = crate::auth::target_token(tokens, target)?;
    let page = target.id.as_str();
    require_text(fingerprint)?;
    let since = fingerprint.earliest().timestamp().to_string();
    for edge in ["published_posts", "scheduled_posts"] {
        // `since` bounds the listing to posts our attempt could have made; a
        // busy page may still have more than one page of them.
        let mut after: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let mut query = vec![
                ("fields", "id,message,created_time,permalink_url"),
                ("since", since.as_str()),
                ("limit", "100"),
            ];
            if let Some(a) = after.as_deref() {
                query.push(("after", a));
            }
            let posts: Paged<PagePost> = graph
                .get(
                    "graph.page_posts",
                    Auth::Token(token),
                    graph.url(&[page, edge]),
                    &query,
                    Some(page),
                )
                .await?;
            after = posts.next_cursor();
            for p in posts.data {
                let created = p.created_time.as_deref().and_then(parse_time);
                if fingerprint.matches(p.message.as_deref(), created) {
                    let url = p
                        .permalink_url
                        .as_deref()
                        .and_then(|u| Url::parse(u).ok())
                        .or_else(|| post_url(page, &p.id));
                    return Ok(Some(PublishedPost::new(p.id).with_url(url)));
                }
            }
            if after.is_none() {
                break;
            }
        }
    }
    Ok(None)
}

/// Pages of posts a reconciliation reads per edge, at most.
const FIND_PAGES: usize = 10;

/// Reconciliation matches on text and time; a post without text cannot be told apart
/// from other recent posts, so POSTD says so rather than guess.
pub(crate) fn require_text(fingerprint: &Fingerprint) -> Result<()> {
    if !fingerprint.has_text() {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "a post without text cannot be reconciled by its content; check the account before publishing again",
        )
        .with_platform(Platform::Meta)
        .with_operation("find_published"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ClientRef;

    fn caps() -> Capabilities {
        CAPABILITIES
    }

    fn post() -> Post {
        Post::new(ClientRef::new("r").unwrap()).with_text("hello")
    }

    #[test]
    fn schedule_window_is_checked() {
        let now = Utc::now();
        let ok = post().with_schedule_at(now + chrono::Duration::hours(1));
        assert!(validate(&caps(), &ok, now).is_ok());
        for bad in [
            now + chrono::Duration::minutes(9),
            now + chrono::Duration::days(31),
        ] {
            let err = validate(&caps(), &post().with_schedule_at(bad), now).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidContent);
        }
        // A time already past means the queue held the post until now: publish now.
        assert!(
            validate(
                &caps(),
                &post().with_schedule_at(now - chrono::Duration::hours(1)),
                now
            )
            .is_ok()
        );
    }

    #[test]
    fn resumable_video_must_be_mp4() {
        let now = Utc::now();
        let mov = Media::file(MediaKind::Video, "/tmp/clip.mov");
        assert_eq!(
            validate(&caps(), &post().with_media(mov), now)
                .unwrap_err()
                .kind(),
            ErrorKind::MediaRejected
        );
        let typed =
            Media::file(MediaKind::Video, "/tmp/clip.bin").with_mime_type("video/quicktime");
        assert_eq!(
            validate(&caps(), &post().with_media(typed), now)
                .unwrap_err()
                .kind(),
            ErrorKind::MediaRejected
        );
        assert!(
            validate(
                &caps(),
                &post().with_media(Media::file(MediaKind::Video, "/tmp/clip.mp4")),
                now
            )
            .is_ok()
        );
    }

    #[test]
    fn media_mixes_are_refused() {
        let now = Utc::now();
        let img = || {
            Media::url(
                MediaKind::Image,
                Url::parse("https://cdn.example/a.jpg").unwrap(),
            )
        };
        let vid = || {
            Media::url(
                MediaKind::Video,
                Url::parse("https://cdn.example/a.mp4").unwrap(),
            )
        };
        assert!(validate(&caps(), &post().with_media(img()).with_media(vid()), now).is_err());
        assert!(validate(&caps(), &post().with_media(vid()).with_media(vid()), now).is_err());
        let link = post()
            .with_link(Url::parse("https://example.com").unwrap())
            .with_media(img());
        assert!(validate(&caps(), &link, now).is_err());
        assert!(validate(&caps(), &post().with_media(img()).with_media(img()), now).is_ok());
    }

    #[test]
    fn post_urls() {
        assert_eq!(
            post_url("12", "12_34").unwrap().as_str(),
            "https://www.facebook.com/12/posts/34"
        );
    }
}
