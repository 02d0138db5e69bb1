//! Publishing, in the order the calls happen
//! (<https://developers.tiktok.com/doc/content-posting-api-reference-direct-post>,
//! <https://developers.tiktok.com/doc/content-posting-api-reference-upload-video>,
//! <https://developers.tiktok.com/doc/content-posting-api-reference-photo-post>,
//! <https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status>):
//!
//! 1. `POST /v2/post/publish/creator_info/query/` before every Direct Post:
//!    the creator's privacy options and interaction switches; an error code
//!    (answered with HTTP 200) stops the publish before any init;
//! 2. the init: `video/init/` (Direct Post video), `inbox/video/init/`
//!    (a draft in the creator's inbox) or `content/init/` (photos);
//! 3. for `FILE_UPLOAD`, the chunks, in order, `PUT` to the `upload_url`
//!    with `Content-Range` (no token goes there), the next read from the file
//!    while one is sent (whole up to 16 MiB; above, streamed in 4 MiB blocks as
//!    it is sent);
//! 4. `Pending`: `publish_status` asks `status/fetch/` until the post is
//!    complete, in the inbox, or failed.
//!
//! The inits of a pull (`PULL_FROM_URL` video, every photo post) are the
//! calls that can make a post twice: they are never retried after they may
//! have been applied, and an unknown outcome is reconciled from the
//! creator's public videos. A `FILE_UPLOAD` init whose answer is lost is
//! harmless (a task without its bytes never publishes) and is retried.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::{RequestContext, transfer_timeout};
use postd_core::reqwest::{Body, Method};
use postd_core::secrecy::SecretString;
use postd_core::{
    Capabilities, Error, ErrorKind, Fingerprint, Media, MediaKind, MediaSource, PartReader,
    Platform, Post, PublishHandle, PublishOutcome, PublishStatus, PublishedPost, Result, Retry,
    Target, TargetKind, TikTokMode, TikTokOptions, TikTokPrivacy, TokenSet,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::api::Api;
use crate::error::fail_reason;
use crate::plan::ChunkPlan;

/// The handle kind of a TikTok publish.
pub(crate) const HANDLE_KIND: &str = "tiktok_publish";

/// Caption limit of a video, in UTF-16 code units.
pub(crate) const VIDEO_CAPTION_MAX: usize = 2200;
/// Photo post title and description limits, in UTF-16 code units (counted conservatively).
pub(crate) const PHOTO_TITLE_MAX: usize = 90;
pub(crate) const PHOTO_DESCRIPTION_MAX: usize = 4000;
/// Photos per post.
pub(crate) const MAX_PHOTOS: usize = 35;
/// How long a public post may wait for moderation before it is reported
/// published without a public id.
const MODERATION_BOUND: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How many times one chunk is sent before the upload gives up.
const CHUNK_ATTEMPTS: u32 = 3;
/// How many times one upload asks TikTok where it stands before it gives up.
const MAX_RESYNCS: u32 = 10;
/// The largest chunk read whole into memory before it is sent (with the
/// default 10,000,000-byte chunks, every chunk but a last one over 16 MiB).
/// A whole chunk is one buffer for the kernel to send; a streamed one
/// allocates a block at a time, and the allocator does not always reuse the
/// last block (page faults from 6,000 to 42,000 for a 1 GiB upload).
const WHOLE_CHUNK_MAX: u64 = 16 * 1024 * 1024;
/// Bytes read from the file at a time while a larger chunk is streamed (one
/// block in memory at a time). 4 MiB reads took half the time of 256 KiB
/// ones on a contended machine (1 GiB file, `upload_throughput`).
const READ_SIZE: usize = 4 * 1024 * 1024;

/// What `creator_info` says about a creator: shown on the compose screen,
/// and checked before every Direct Post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreatorInfo {
    /// The creator's username.
    pub username: String,
    /// The creator's display name.
    pub nickname: String,
    /// The avatar URL (TikTok says it expires after about two hours: do not store it).
    pub avatar_url: Option<String>,
    /// The privacy levels this creator may post with (a private account has no `PUBLIC_TO_EVERYONE`).
    pub privacy_level_options: Vec<TikTokPrivacy>,
    /// The creator turned comments off in the app: the post must have them off.
    pub comment_disabled: bool,
    /// The creator turned duets off.
    pub duet_disabled: bool,
    /// The creator turned stitches off.
    pub stitch_disabled: bool,
    /// The longest video this creator may post, in seconds.
    pub max_video_post_duration_sec: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreatorInfoWire {
    creator_avatar_url: Option<String>,
    creator_username: String,
    creator_nickname: String,
    privacy_level_options: Vec<String>,
    comment_disabled: bool,
    duet_disabled: bool,
    stitch_disabled: bool,
    max_video_post_duration_sec: Option<u64>,
}

fn privacy_name(p: TikTokPrivacy) -> &'static str {
    match p {
        TikTokPrivacy::PublicToEveryone => "PUBLIC_TO_EVERYONE",
        TikTokPrivacy::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
        TikTokPrivacy::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
        _ => "SELF_ONLY",
    }
}

fn privacy_from(name: &str) -> Option<TikTokPrivacy> {
    Some(match name {
        "PUBLIC_TO_EVERYONE" => TikTokPrivacy::PublicToEveryone,
        "MUTUAL_FOLLOW_FRIENDS" => TikTokPrivacy::MutualFollowFriends,
        "FOLLOWER_OF_CREATOR" => TikTokPrivacy::FollowerOfCreator,
        "SELF_ONLY" => TikTokPrivacy::SelfOnly,
        _ => return None,
    })
}

/// `POST /v2/post/publish/creator_info/query/`.
pub(crate) async fn creator_info(api: &Api, token: &SecretString) -> Result<CreatorInfo> {
    let ctx = RequestContext::idempotent(Platform::TikTok, "post.creator_info");
    let url = api.url("post/publish/creator_info/query/", None);
    let wire: CreatorInfoWire = api.post(ctx, url, token, &json!({})).await?;
    Ok(CreatorInfo {
        username: wire.creator_username,
        nickname: wire.creator_nickname,
        avatar_url: wire.creator_avatar_url,
        privacy_level_options: wire
            .privacy_level_options
            .iter()
            .filter_map(|p| privacy_from(p))
            .collect(),
        comment_disabled: wire.comment_disabled,
        duet_disabled: wire.duet_disabled,
        stitch_disabled: wire.stitch_disabled,
        max_video_post_duration_sec: wire.max_video_post_duration_sec,
    })
}

// ---- validate ---------------------------------------------------------------------------------

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidContent, message)
        .with_platform(Platform::TikTok)
        .with_operation("validate")
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// What a post is, once validated.
enum Shape<'a> {
    Video(&'a Media),
    Photos(&'a [Media]),
}

fn shape(post: &Post) -> Result<Shape<'_>> {
    match post.media.as_slice() {
        [] => Err(invalid(
            "a TikTok post needs a video or photos; TikTok has no text-only posts",
        )),
        [one] if one.kind == MediaKind::Video => Ok(Shape::Video(one)),
        media if media.iter().all(|m| m.kind == MediaKind::Image) => {
            if media.len() > MAX_PHOTOS {
                return Err(invalid(format!(
                    "a TikTok photo post takes at most {MAX_PHOTOS} photos, got {}",
                    media.len()
                )));
            }
            Ok(Shape::Photos(media))
        }
        _ => Err(invalid(
            "a TikTok post is one video or 1 to 35 photos, never a mix",
        )),
    }
}

/// The checks that need no I/O.
pub(crate) fn validate(api: &Api, caps: &Capabilities, target: &Target, post: &Post) -> Result<()> {
    if target.kind != TargetKind::TikTokAccount {
        return Err(invalid(format!(
            "a TikTok post goes to a TikTok account, not a {:?}",
            target.kind
        )));
    }
    if post.link.is_some() {
        return Err(invalid(
            "TikTok posts have no link field; put the link in the text if you want it shown",
        ));
    }
    let shape = shape(post)?;
    caps.check_common(post)
        .map_err(|e| e.with_platform(Platform::TikTok).or_operation("validate"))?;
    let options = post.options.tiktok.clone().unwrap_or_default();
    let text = post.text.as_deref().unwrap_or("");
    match shape {
        Shape::Video(video) => {
            let n = utf16_len(text);
            if n > VIDEO_CAPTION_MAX {
                return Err(invalid(format!(
                    "the caption is {n} UTF-16 units; TikTok takes {VIDEO_CAPTION_MAX}"
                )));
            }
            if let Some(mime) = &video.mime_type
                && !matches!(
                    mime.as_str(),
                    "video/mp4" | "video/quicktime" | "video/webm"
                )
            {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!("TikTok takes MP4, MOV or WebM videos, not {mime}"),
                )
                .with_platform(Platform::TikTok)
                .with_operation("validate"));
            }
            if let MediaSource::Url(url) = &video.source
                && !api.cfg.pullable(url)
            {
                return Err(not_pullable("the video", url));
            }
            if let Some(n) = video.size_hint
                && n > crate::plan::MAX_VIDEO_BYTES
            {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!(
                        "the video is {n} bytes; TikTok takes at most {}",
                        crate::plan::MAX_VIDEO_BYTES
                    ),
                )
                .with_platform(Platform::TikTok)
                .with_operation("validate"));
            }
            if options.photo_cover_index.is_some() || options.title.is_some() {
                return Err(invalid(
                    "photo_cover_index and title apply to photo posts; a video's caption is the post's text",
                ));
            }
        }
        Shape::Photos(photos) => {
            let n = utf16_len(text);
            if n > PHOTO_DESCRIPTION_MAX {
                return Err(invalid(format!(
                    "the description is {n} UTF-16 units; TikTok takes {PHOTO_DESCRIPTION_MAX}"
                )));
            }
            if let Some(title) = &options.title
                && utf16_len(title) > PHOTO_TITLE_MAX
            {
                return Err(invalid(format!(
                    "the title is {} UTF-16 units; TikTok takes {PHOTO_TITLE_MAX}",
                    utf16_len(title)
                )));
            }
            for (i, photo) in photos.iter().enumerate() {
                let MediaSource::Url(url) = &photo.source else {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "photo {}: TikTok takes photos only by URL (PULL_FROM_URL), from a domain verified for the app; host the photo and give its URL",
                            i + 1
                        ),
                    )
                    .with_platform(Platform::TikTok)
                    .with_operation("validate"));
                };
                if !api.cfg.pullable(url) {
                    return Err(not_pullable(&format!("photo {}", i + 1), url));
                }
                if let Some(mime) = &photo.mime_type
                    && !matches!(mime.as_str(), "image/jpeg" | "image/webp")
                {
                    return Err(Error::new(
                        ErrorKind::MediaRejected,
                        format!(
                            "photo {}: TikTok takes JPEG or WebP photos, not {mime}",
                            i + 1
                        ),
                    )
                    .with_platform(Platform::TikTok)
                    .with_operation("validate"));
                }
            }
            if let Some(i) = options.photo_cover_index
                && i as usize >= photos.len()
            {
                return Err(invalid(format!(
                    "photo_cover_index {i} is past the last of {} photos (it counts from 0)",
                    photos.len()
                )));
            }
            if options.video_cover_timestamp_ms.is_some() {
                return Err(invalid("video_cover_timestamp_ms applies to videos only"));
            }
        }
    }
    if options.mode == TikTokMode::DirectPost {
        check_choices(api, &options, matches!(shape, Shape::Video(_)))?;
    }
    Ok(())
}

fn not_pullable(what: &str, url: &Url) -> Error {
    Error::new(
        ErrorKind::InvalidContent,
        format!(
            "{what} is a URL on {}, which is not under a URL prefix verified for the app (TIKTOK_PULL_URL_PREFIXES, https only); \
             TikTok pulls media only from verified prefixes: verify it in the developer portal, or give a file",
            url.host_str().unwrap_or("an unknown host")
        ),
    )
    .with_platform(Platform::TikTok)
    .with_operation("validate")
}

/// The user's explicit choices a Direct Post must carry (TikTok's Content
/// Sharing Guidelines, "Required UX Implementation"): nothing defaults.
fn check_choices(api: &Api, options: &TikTokOptions, video: bool) -> Result<()> {
    let mut missing = Vec::new();
    if options.privacy_level.is_none() {
        missing.push("privacy_level");
    }
    if options.allow_comment.is_none() {
        missing.push("allow_comment");
    }
    if video && options.allow_duet.is_none() {
        missing.push("allow_duet");
    }
    if video && options.allow_stitch.is_none() {
        missing.push("allow_stitch");
    }
    if options.commercial_content.is_none() {
        missing.push("commercial_content");
    }
    if !options.music_usage_confirmed {
        missing.push("music_usage_confirmed");
    }
    if !missing.is_empty() {
        return Err(invalid(format!(
            "a TikTok Direct Post needs the user's own choices, and POSTD presets none: set {} in TikTokOptions \
             (TikTok's Content Sharing Guidelines forbid defaults for them)",
            missing.join(", ")
        )));
    }
    let privacy = options.privacy_level.unwrap_or(TikTokPrivacy::SelfOnly);
    if options
        .commercial_content
        .is_some_and(|c| c.branded_content)
        && privacy == TikTokPrivacy::SelfOnly
    {
        return Err(invalid(
            "branded content cannot be private (SELF_ONLY) on TikTok: choose another privacy level or turn branded content off",
        ));
    }
    if !api.cfg.direct_post_audited && privacy != TikTokPrivacy::SelfOnly {
        return Err(invalid(format!(
            "this app has not passed TikTok's Direct Post audit (TIKTOK_DIRECT_POST_AUDITED), so it may post only SELF_ONLY, not {}",
            privacy_name(privacy)
        )));
    }
    Ok(())
}

// ---- publish ----------------------------------------------------------------------------------

/// What the handle keeps between calls (no secret).
#[derive(Serialize, Deserialize)]
struct Waiting {
    /// `video` or `photo`.
    media: String,
    /// Direct Post or inbox.
    inbox: bool,
    /// The privacy level sent (`None` for inbox drafts).
    privacy: Option<String>,
}

pub(crate) async fn publish(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    let token = &tokens.access_token;
    let options = post.options.tiktok.clone().unwrap_or_default();
    let inbox = options.mode == TikTokMode::Inbox;
    let needed = if inbox {
        "video.upload"
    } else {
        "video.publish"
    };
    if crate::auth::lacks_scope(tokens, needed) {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            format!("the creator did not grant {needed}, which this post needs; they must authorize again with it"),
        )
        .with_platform(Platform::TikTok));
    }
    let shape = shape(post)?;
    let mut interactions = (
        !options.allow_comment.unwrap_or(false),
        !options.allow_duet.unwrap_or(false),
        !options.allow_stitch.unwrap_or(false),
    );
    if !inbox {
        let info = creator_info(api, token).await?;
        let privacy = options.privacy_level.unwrap_or(TikTokPrivacy::SelfOnly);
        if !info.privacy_level_options.contains(&privacy) {
            return Err(Error::new(
                ErrorKind::InvalidContent,
                format!(
                    "this creator cannot post with privacy {}; creator_info allows {}",
                    privacy_name(privacy),
                    info.privacy_level_options
                        .iter()
                        .map(|p| privacy_name(*p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_platform(Platform::TikTok)
            .with_code("privacy_level_option_mismatch"));
        }
        // What the creator turned off in the app stays off, whatever was asked.
        interactions.0 |= info.comment_disabled;
        interactions.1 |= info.duet_disabled;
        interactions.2 |= info.stitch_disabled;
    }
    let (publish_id, media) = match shape {
        Shape::Video(video) => (
            publish_video(api, token, post, &options, video, interactions, inbox).await?,
            "video",
        ),
        Shape::Photos(photos) => (
            publish_photos(api, token, post, &options, photos, interactions.0, inbox).await?,
            "photo",
        ),
    };
    let waiting = Waiting {
        media: media.to_owned(),
        inbox,
        privacy: (!inbox).then(|| {
            privacy_name(options.privacy_level.unwrap_or(TikTokPrivacy::SelfOnly)).to_owned()
        }),
    };
    let state = serde_json::to_value(&waiting).unwrap_or(Value::Null);
    Ok(PublishOutcome::Pending(
        PublishHandle::new(
            Platform::TikTok,
            target.id.as_str(),
            HANDLE_KIND,
            publish_id,
        )
        .with_state(state),
    ))
}

#[derive(Deserialize)]
struct InitAnswer {
    publish_id: String,
    #[serde(default)]
    upload_url: Option<String>,
}

fn post_info_video(
    post: &Post,
    options: &TikTokOptions,
    interactions: (bool, bool, bool),
) -> Value {
    let mut info = json!({
        "title": post.text.as_deref().unwrap_or(""),
        "privacy_level": privacy_name(options.privacy_level.unwrap_or(TikTokPrivacy::SelfOnly)),
        "disable_comment": interactions.0,
        "disable_duet": interactions.1,
        "disable_stitch": interactions.2,
        "brand_content_toggle": options.commercial_content.is_some_and(|c| c.branded_content),
        "brand_organic_toggle": options.commercial_content.is_some_and(|c| c.your_brand),
        "is_aigc": options.ai_generated,
    });
    if let Some(ms) = options.video_cover_timestamp_ms {
        info["video_cover_timestamp_ms"] = json!(ms);
    }
    info
}

async fn publish_video(
    api: &Api,
    token: &SecretString,
    post: &Post,
    options: &TikTokOptions,
    video: &Media,
    interactions: (bool, bool, bool),
    inbox: bool,
) -> Result<String> {
    let path = if inbox {
        "post/publish/inbox/video/init/"
    } else {
        "post/publish/video/init/"
    };
    let url = api.url(path, None);
    if let MediaSource::Url(video_url) = &video.source {
        // A pull can be published by TikTok on its own: never sent twice.
        let mut body =
            json!({"source_info": {"source": "PULL_FROM_URL", "video_url": video_url.as_str()}});
        if !inbox {
            body["post_info"] = post_info_video(post, options, interactions);
        }
        let op = if inbox {
            "post.inbox_init_pull"
        } else {
            "post.video_init_pull"
        };
        let ctx = RequestContext::non_idempotent(Platform::TikTok, op);
        let init: InitAnswer = api.post(ctx, url, token, &body).await?;
        return Ok(init.publish_id);
    }
    let size = video
        .check_local(Some(crate::plan::MAX_VIDEO_BYTES))
        .await?
        .unwrap_or(0);
    let plan = ChunkPlan::new(size, api.cfg.chunk_size, api.cfg.single_chunk_max)?;
    let mut body = json!({"source_info": {
        "source": "FILE_UPLOAD",
        "video_size": plan.video_size,
        "chunk_size": plan.chunk_size,
        "total_chunk_count": plan.total_chunk_count,
    }});
    if !inbox {
        body["post_info"] = post_info_video(post, options, interactions);
    }
    // A task without its bytes never publishes: repeating this init is harmless.
    let op = if inbox {
        "post.inbox_init_file"
    } else {
        "post.video_init_file"
    };
    let ctx = RequestContext::idempotent(Platform::TikTok, op);
    let init: InitAnswer = api.post(ctx, url, token, &body).await?;
    let Some(raw) = init.upload_url.as_deref() else {
        return Err(
            Error::unexpected("TikTok's FILE_UPLOAD init answered without an upload_url")
                .with_platform(Platform::TikTok),
        );
    };
    let upload_url = api.upload_url(raw)?;
    let mime = video
        .mime_type
        .clone()
        .unwrap_or_else(|| "video/mp4".to_owned());
    upload_chunks(
        api,
        token,
        &init.publish_id,
        &upload_url,
        video,
        &plan,
        &mime,
    )
    .await?;
    Ok(init.publish_id)
}

/// Sends every chunk in order, reading the next one from the file while
/// this one is sent (memory holds two chunks up to 16 MiB each, or one
/// 4 MiB block of a larger one, whatever the file's size).
///
/// Until the final chunk is sent, a failure is safe to return: a task
/// without all its bytes never publishes, so a new init starts clean. A
/// chunk that fails with a `416`, a `5xx` or a timeout is first resent
/// from where TikTok says it stands (`uploaded_bytes`); an expired upload
/// URL (`403`/`404`) starts the publish again.
///
/// Once the final chunk has gone out, TikTok may be publishing: no error
/// that would start a second publish is returned unless TikTok's status
/// says bytes are missing. If the status cannot be read, or says the
/// upload is through, the publish is `Pending` and `publish_status`
/// follows it to its end.
async fn upload_chunks(
    api: &Api,
    token: &SecretString,
    publish_id: &str,
    upload_url: &Url,
    video: &Media,
    plan: &ChunkPlan,
    mime: &str,
) -> Result<()> {
    let total = plan.total_chunk_count;
    let mut i = 0;
    let mut failures = 0;
    let mut resyncs = 0;
    let mut final_sent = false;
    // The next chunk is read while this one is sent (TikTok takes chunks
    // only in order, so the read is the part that can overlap).
    let mut parts = video.part_reader();
    while i < total {
        let is_final = i + 1 == total;
        // Only a chunk read whole is read ahead.
        let next = (!is_final)
            .then(|| plan.range(i + 1))
            .map(|(first, last)| (first, last - first + 1))
            .filter(|&(_, len)| len <= WHOLE_CHUNK_MAX);
        let sent = match chunk_body(&mut parts, video, plan, i).await {
            Ok(body) => {
                parts
                    .while_sending(
                        send_chunk(api, upload_url, plan, i, mime, is_final, body),
                        next,
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let error = match sent {
            Ok(201 | 200) if is_final => return Ok(()),
            Ok(206 | 200) if !is_final => {
                i += 1;
                failures = 0;
                continue;
            }
            Ok(status) => {
                // TikTok answered: the final chunk (or a 201 early) reached it.
                final_sent |= is_final || status == 201;
                Error::unexpected(format!(
                    "TikTok answered chunk {} of {total} with {status}",
                    i + 1
                ))
                .with_platform(Platform::TikTok)
            }
            Err(e) => {
                final_sent |= is_final && may_have_arrived(&e);
                e
            }
        };
        failures += 1;
        resyncs += 1;
        let expired = matches!(error.http_status(), Some(403 | 404));
        let resync = expired
            || error.http_status() == Some(416)
            || matches!(error.kind(), ErrorKind::Unavailable | ErrorKind::Timeout);
        if !final_sent && !resync {
            return Err(error.with_operation("publish"));
        }
        // Where does TikTok stand?
        let held = match uploaded_bytes(api, token, publish_id).await {
            Ok(held) => held,
            Err(_) if final_sent => return Ok(()),
            Err(_) => return Err(error.with_operation("publish")),
        };
        let Some(n) = held else {
            if final_sent {
                return Ok(());
            }
            return Err(error.with_operation("publish"));
        };
        if n >= plan.video_size {
            return Ok(());
        }
        let next = plan.chunk_at(n);
        let give_up =
            next.is_none() || expired || failures >= CHUNK_ATTEMPTS || resyncs > MAX_RESYNCS;
        if give_up && final_sent && !short_again(api, token, publish_id, n).await {
            // TikTok's count moved, or cannot be read again: it may be publishing.
            return Ok(());
        }
        let Some(next) = next else {
            return Err(Error::unexpected(format!(
                "TikTok holds {n} bytes of the video, which is not a chunk boundary; start the publish again"
            ))
            .with_platform(Platform::TikTok)
            .temporary(None));
        };
        if expired {
            // The upload URL expired (after an hour) or the task is gone, and
            // TikTok lacks bytes: it cannot publish this task, so a new init is safe.
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "TikTok's upload URL is no longer valid ({}) and TikTok holds {n} of {} bytes; the publish can start again",
                    error.http_status().unwrap_or(0),
                    plan.video_size
                ),
            )
            .with_platform(Platform::TikTok)
            .temporary(None));
        }
        if failures >= CHUNK_ATTEMPTS || resyncs > MAX_RESYNCS {
            // A range TikTok kept refusing may go through in a new task; any other error keeps its disposition.
            let error = if error.http_status() == Some(416) {
                error.temporary(None)
            } else {
                error
            };
            return Err(error.with_operation("publish"));
        }
        i = next;
    }
    Ok(())
}

/// Whether a failed final chunk may have reached TikTok. It did not when the
/// connection never opened, no slot to the host came free, or the file could
/// not be read (the request is sent as non-idempotent, so every failure
/// after sending is an unknown outcome, never one of these).
fn may_have_arrived(e: &Error) -> bool {
    let never_sent = e.http_status().is_none()
        && matches!(
            e.kind(),
            ErrorKind::Unavailable
                | ErrorKind::MediaRejected
                | ErrorKind::InvalidContent
                | ErrorKind::Config
        );
    !never_sent
}

/// After the final chunk was sent, a short byte count is believed only if
/// TikTok says the same a moment later (a count that lags would otherwise
/// start a second publish).
async fn short_again(api: &Api, token: &SecretString, publish_id: &str, n: u64) -> bool {
    tokio::time::sleep(api.cfg.status_interval).await;
    matches!(uploaded_bytes(api, token, publish_id).await, Ok(Some(again)) if again == n)
}

/// Chunk `i`'s bytes as a request body. A chunk up to 16 MiB is read whole
/// (sent from one buffer, and the HTTP layer may send it again), or taken
/// from `parts` when it was read ahead; a larger one streams in 4 MiB
/// blocks, and is read as it is sent.
async fn chunk_body(
    parts: &mut PartReader<'_>,
    video: &Media,
    plan: &ChunkPlan,
    i: u64,
) -> Result<Body> {
    let (first, last) = plan.range(i);
    let len = last - first + 1;
    if len <= WHOLE_CHUNK_MAX {
        Ok(Body::from(parts.part(first, len).await?))
    } else {
        Ok(Body::wrap_stream(
            video.stream_exact(first, len, READ_SIZE).await?,
        ))
    }
}

/// `PUT`s chunk `i` with its `body`; answers the status.
async fn send_chunk(
    api: &Api,
    upload_url: &Url,
    plan: &ChunkPlan,
    i: u64,
    mime: &str,
    is_final: bool,
    body: Body,
) -> Result<u16> {
    let (first, last) = plan.range(i);
    let len = last - first + 1;
    let builder = api
        .http
        .request(Method::PUT, upload_url.clone())
        .header("Content-Type", mime)
        .header("Content-Length", len)
        .header(
            "Content-Range",
            format!("bytes {first}-{last}/{}", plan.video_size),
        )
        .timeout(transfer_timeout(len))
        .body(body);
    // The final chunk can complete the upload and start the publish: sent as
    // non-idempotent, so a failure after sending is an unknown outcome, told
    // apart from one where nothing left (see `may_have_arrived`).
    let ctx = if is_final {
        RequestContext::non_idempotent(Platform::TikTok, "upload.chunk")
    } else {
        RequestContext::idempotent(Platform::TikTok, "upload.chunk")
    };
    Ok(api.send(ctx, builder).await?.status.as_u16())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusData {
    status: String,
    fail_reason: String,
    #[serde(deserialize_with = "ids")]
    publicaly_available_post_id: Vec<String>,
    uploaded_bytes: Option<u64>,
}

/// `publicaly_available_post_id` (the API's spelling) holds int64s; strings are taken too.
fn ids<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(u64),
        Str(String),
    }
    let raw: Option<Vec<Id>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|i| match i {
            Id::Num(n) => n.to_string(),
            Id::Str(s) => s,
        })
        .filter(|s| !s.is_empty())
        .collect())
}

async fn fetch_status(api: &Api, token: &SecretString, publish_id: &str) -> Result<StatusData> {
    let ctx = RequestContext::idempotent(Platform::TikTok, "post.status_fetch");
    api.post(
        ctx,
        api.url("post/publish/status/fetch/", None),
        token,
        &json!({"publish_id": publish_id}),
    )
    .await
}

async fn uploaded_bytes(api: &Api, token: &SecretString, publish_id: &str) -> Result<Option<u64>> {
    let status = fetch_status(api, token, publish_id).await?;
    Ok(match status.status.as_str() {
        "PROCESSING_UPLOAD" => status.uploaded_bytes,
        "" => None,
        // Past the upload: every byte is in.
        _ => Some(u64::MAX),
    })
}

async fn publish_photos(
    api: &Api,
    token: &SecretString,
    post: &Post,
    options: &TikTokOptions,
    photos: &[Media],
    disable_comment: bool,
    inbox: bool,
) -> Result<String> {
    let urls: Vec<&str> = photos
        .iter()
        .filter_map(|m| match &m.source {
            MediaSource::Url(u) => Some(u.as_str()),
            _ => None,
        })
        .collect();
    let mut post_info = json!({
        "description": post.text.as_deref().unwrap_or(""),
        "auto_add_music": options.auto_add_music,
    });
    if let Some(t) = &options.title {
        post_info["title"] = json!(t);
    }
    if !inbox {
        post_info["privacy_level"] = json!(privacy_name(
            options.privacy_level.unwrap_or(TikTokPrivacy::SelfOnly)
        ));
        post_info["disable_comment"] = json!(disable_comment);
        post_info["brand_content_toggle"] = json!(
            options
                .commercial_content
                .is_some_and(|c| c.branded_content)
        );
        post_info["brand_organic_toggle"] =
            json!(options.commercial_content.is_some_and(|c| c.your_brand));
    }
    let body = json!({
        "post_info": post_info,
        "source_info": {
            "source": "PULL_FROM_URL",
            "photo_cover_index": options.photo_cover_index.unwrap_or(0),
            "photo_images": urls,
        },
        "post_mode": if inbox { "MEDIA_UPLOAD" } else { "DIRECT_POST" },
        "media_type": "PHOTO",
    });
    let ctx = RequestContext::non_idempotent(Platform::TikTok, "post.content_init");
    let init: InitAnswer = api
        .post(
            ctx,
            api.url("post/publish/content/init/", None),
            token,
            &body,
        )
        .await?;
    Ok(init.publish_id)
}

// ---- status -----------------------------------------------------------------------------------

pub(crate) async fn publish_status(
    api: &Api,
    tokens: &TokenSet,
    handle: &PublishHandle,
) -> Result<PublishStatus> {
    let waiting: Waiting = serde_json::from_value(handle.state.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidContent,
            "this handle's state is not a TikTok publish",
        )
        .with_platform(Platform::TikTok)
        .with_operation("publish_status")
    })?;
    let status = fetch_status(api, &tokens.access_token, &handle.id).await?;
    let now = Utc::now();
    let waited = now - handle.started_at;
    let processing = |state: &str| PublishStatus::Processing {
        state: state.to_owned(),
        retry_after: api.cfg.status_interval,
        next: handle.clone(),
    };
    // A status TikTok adds later is taken as processing: the bound still ends the wait.
    let still_processing = |state: &str| {
        if waited.to_std().unwrap_or_default() > api.cfg.processing_bound {
            PublishStatus::Failed {
                kind: ErrorKind::UnknownOutcome,
                code: state.to_owned(),
                message: format!(
                    "TikTok was still processing publish {} ({state}) after {} minutes; check the creator's account before posting again",
                    handle.id,
                    waited.num_minutes()
                ),
            }
        } else {
            processing(state)
        }
    };
    Ok(match status.status.as_str() {
        "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD" => still_processing(&status.status),
        "SEND_TO_USER_INBOX" => PublishStatus::Published(PublishedPost::new(handle.id.as_str())),
        "PUBLISH_COMPLETE" => match status.publicaly_available_post_id.first() {
            Some(id) => PublishStatus::Published(
                PublishedPost::new(id.as_str()).with_url(share_url(api, tokens, id).await),
            ),
            None if waiting.privacy.as_deref() == Some("PUBLIC_TO_EVERYONE")
                && waited < MODERATION_BOUND =>
            {
                // Public posts get their id once moderation passes (usually under a minute, sometimes hours).
                PublishStatus::Processing {
                    state: "MODERATION".to_owned(),
                    retry_after: moderation_wait(api.cfg.status_interval, waited),
                    next: handle.clone(),
                }
            }
            // Not public (or no id after a day): the publish id is the only id there is.
            None => PublishStatus::Published(PublishedPost::new(handle.id.as_str())),
        },
        "FAILED" => {
            let (kind, _, message) = fail_reason(&status.fail_reason);
            PublishStatus::Failed {
                kind,
                code: status.fail_reason.chars().take(64).collect(),
                message,
            }
        }
        "" => {
            return Err(
                Error::unexpected("TikTok's publish status answer has no status")
                    .with_platform(Platform::TikTok)
                    .with_operation("publish_status"),
            );
        }
        other => {
            let state: String = other
                .chars()
                .take(40)
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            tracing::warn!(platform = "tiktok", state = %state, "unknown TikTok publish status, taken as processing");
            still_processing(&state)
        }
    })
}

/// How long to wait before asking again about a post in moderation, which
/// can take hours: 12 status intervals (a minute by default) for the first
/// 10 minutes, 60 (5 minutes) up to an hour, then 180 (15 minutes), so a day
/// of moderation costs about a hundred status calls, not 17,000.
fn moderation_wait(interval: Duration, waited: chrono::TimeDelta) -> Duration {
    let factor = if waited < chrono::TimeDelta::minutes(10) {
        12
    } else if waited < chrono::TimeDelta::hours(1) {
        60
    } else {
        180
    };
    interval
        .max(Duration::from_millis(1))
        .saturating_mul(factor)
}

/// The post's `share_url` from the Display API, when the scope allows it.
async fn share_url(api: &Api, tokens: &TokenSet, id: &str) -> Option<Url> {
    if crate::auth::lacks_scope(tokens, "video.list") {
        return None;
    }
    let videos = crate::analytics::query(api, &tokens.access_token, &[id], "id,share_url")
        .await
        .ok()?;
    videos
        .into_iter()
        .next()
        .and_then(|v| v.share_url)
        .and_then(|u| Url::parse(&u).ok())
}

// ---- reconcile --------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct VideoList {
    videos: Vec<crate::analytics::Video>,
    cursor: Option<i64>,
    has_more: bool,
}

/// How long a public post may take to show among the creator's public videos.
const VISIBLE_WITHIN: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Looks for the post among the creator's public videos (`POST /v2/video/list/`),
/// newest first, back to the fingerprint's earliest time.
///
/// TikTok shows only public, processed posts there and lists no publish
/// tasks, so not finding a post never proves it absent: for a day the answer
/// is a temporary [`ErrorKind::UnknownOutcome`] ("ask again later"), then a
/// permanent one for a person to settle. `Ok(None)` is never answered.
pub(crate) async fn find_published(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    let _ = target;
    let earliest = fingerprint.earliest();
    let mut cursor: Option<i64> = None;
    for _ in 0..20 {
        let mut body = json!({"max_count": 20});
        if let Some(c) = cursor {
            body["cursor"] = json!(c);
        }
        let ctx = RequestContext::idempotent(Platform::TikTok, "video.list");
        let url = api.url(
            "video/list/",
            Some("fields=id,title,video_description,create_time,share_url"),
        );
        let page: VideoList = api.post(ctx, url, &tokens.access_token, &body).await?;
        let mut oldest: Option<DateTime<Utc>> = None;
        for v in &page.videos {
            let created = v.create_time.and_then(|t| DateTime::from_timestamp(t, 0));
            oldest = match (oldest, created) {
                (Some(o), Some(c)) => Some(o.min(c)),
                (None, c) => c,
                (o, None) => o,
            };
            // A video's caption is its title; a photo post's text is its description.
            if fingerprint.matches(v.title.as_deref(), created)
                || fingerprint.matches(v.video_description.as_deref(), created)
            {
                return Ok(Some(PublishedPost::new(v.id.as_str()).with_url(
                    v.share_url.as_deref().and_then(|u| Url::parse(u).ok()),
                )));
            }
        }
        if !page.has_more || oldest.is_some_and(|o| o < earliest) || page.cursor.is_none() {
            break;
        }
        cursor = page.cursor;
    }
    if Utc::now() - fingerprint.not_before < VISIBLE_WITHIN {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "the post is not among the creator's public TikTok videos yet; TikTok shows a post there only once it is processed, moderated and public, so ask again later",
        )
        .with_retry(Retry::Temporary { after: Some(Duration::from_secs(600)) })
        .with_platform(Platform::TikTok)
        .with_operation("find_published"));
    }
    // A day on, a public post would show; a private one never does. TikTok
    // cannot say which, so a person decides: never "absent", which would
    // let the post be made twice.
    Err(Error::new(
        ErrorKind::UnknownOutcome,
        "the post is not among the creator's public TikTok videos a day after it was sent; TikTok lists only public posts and no publish tasks, so a private post may still exist: check the creator's profile before sending it again",
    )
    .permanent()
    .with_platform(Platform::TikTok)
    .with_operation("find_published"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_is_asked_about_less_often_as_it_lasts() {
        let five = Duration::from_secs(5);
        let wait = |minutes| moderation_wait(five, chrono::TimeDelta::minutes(minutes));
        assert_eq!(wait(1), Duration::from_secs(60));
        assert_eq!(wait(30), Duration::from_secs(300));
        assert_eq!(wait(600), Duration::from_secs(900));
        assert!(moderation_wait(Duration::ZERO, chrono::TimeDelta::zero()) > Duration::ZERO);
    }

    fn err(kind: ErrorKind, status: Option<u16>) -> Error {
        let e = Error::new(kind, "x");
        match status {
            Some(s) => e.with_status(s),
            None => e,
        }
    }

    #[test]
    fn a_final_chunk_that_never_left_is_not_taken_as_sent() {
        // Nothing left: no connection, no slot, an unreadable file.
        for e in [
            err(ErrorKind::Unavailable, None),
            err(ErrorKind::MediaRejected, None),
            err(ErrorKind::InvalidContent, None),
        ] {
            assert!(!may_have_arrived(&e), "{e}");
        }
        // Anything TikTok answered, or a failure after sending, may have arrived.
        for e in [
            err(ErrorKind::UnknownOutcome, None),
            err(ErrorKind::Unavailable, Some(503)),
            err(ErrorKind::PermissionDenied, Some(403)),
            err(ErrorKind::Timeout, None),
        ] {
            assert!(may_have_arrived(&e), "{e}");
        }
    }
}
