//! Media upload on the v2 dedicated endpoints
//! (<https://docs.x.com/x-api/media/quickstart/media-upload-chunked>,
//! <https://docs.x.com/x-api/media/introduction>):
//!
//! 1. `POST /2/media/upload/initialize` with `media_type`, `total_bytes` and
//!    `media_category` (`tweet_image`, `tweet_gif`, `tweet_video`);
//! 2. `POST /2/media/upload/{id}/append`, multipart `segment_index` (0–999)
//!    and `media`, in order, the next segment read from the file while this
//!    one is sent (memory holds two segments, whatever the file's size);
//! 3. `POST /2/media/upload/{id}/finalize`; GIFs and videos then process:
//!    `GET /2/media/upload?command=STATUS&media_id=` is asked after
//!    `check_after_secs` until `succeeded` or `failed`.
//!
//! Nothing here is visible to anyone until a Post carries the media id, so
//! every step may be repeated; an upload that fails is simply abandoned.

use std::time::Duration;

use bytes::Bytes;
use postd_core::http::{RequestContext, transfer_timeout};
use postd_core::reqwest::Method;
use postd_core::reqwest::multipart::{Form, Part};
use postd_core::secrecy::SecretString;
use postd_core::{Error, ErrorKind, Media, MediaKind, MediaSource, Platform, Result};
use serde::Deserialize;

use crate::api::{Api, Caller};

/// The largest image X takes (5 MB).
pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

/// The largest GIF X takes (15 MB).
pub const MAX_GIF_BYTES: u64 = 15 * 1024 * 1024;

/// The most segments one upload may have (`segment_index` 0 to 999).
pub const MAX_SEGMENTS: u64 = 1000;

/// How many times one segment is sent before the upload gives up.
const SEGMENT_ATTEMPTS: u32 = 3;

pub(crate) fn category(kind: MediaKind) -> Option<&'static str> {
    match kind {
        MediaKind::Image => Some("tweet_image"),
        MediaKind::Gif => Some("tweet_gif"),
        MediaKind::Video => Some("tweet_video"),
        _ => None,
    }
}

/// The MIME type: the one given, or one read from the file's extension.
pub(crate) fn mime_of(media: &Media) -> Option<String> {
    if let Some(m) = &media.mime_type {
        return Some(m.clone());
    }
    let MediaSource::File(path) = &media.source else {
        return None;
    };
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "jpg" | "jpeg" => "image/jpeg",
            "png" => "image/png",
            "webp" => "image/webp",
            "gif" => "image/gif",
            "mp4" => "video/mp4",
            "mov" => "video/quicktime",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The size cap of a media kind (videos: what the segment plan can carry).
pub(crate) fn max_bytes(kind: MediaKind, segment_size: u64) -> u64 {
    match kind {
        MediaKind::Image => MAX_IMAGE_BYTES,
        MediaKind::Gif => MAX_GIF_BYTES,
        _ => segment_size.saturating_mul(MAX_SEGMENTS),
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct Upload {
    id: String,
    #[serde(default)]
    processing_info: Option<Processing>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Processing {
    state: String,
    check_after_secs: Option<u64>,
    error: Option<ProcessingError>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProcessingError {
    name: String,
    message: String,
}

fn rejected(message: String) -> Error {
    Error::new(ErrorKind::MediaRejected, message)
        .with_platform(Platform::Twitter)
        .with_operation("publish")
}

/// Uploads `media` for `user` and waits for its processing; answers the media id.
pub(crate) async fn upload(
    api: &Api,
    token: &SecretString,
    user: &Caller,
    media: &Media,
) -> Result<String> {
    let Some(category) = category(media.kind) else {
        return Err(rejected(format!(
            "X takes images, GIFs and videos, not {:?}",
            media.kind
        )));
    };
    let Some(mime) = mime_of(media) else {
        return Err(rejected(
            "the media's MIME type is unknown (and not given by a file extension X takes); set it on the media".to_owned(),
        ));
    };
    let size = media
        .check_local(Some(max_bytes(media.kind, api.cfg.segment_size)))
        .await?
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidContent,
                "X takes media as uploaded bytes, not by URL: give a file",
            )
            .with_platform(Platform::Twitter)
        })?;
    let ctx = RequestContext::idempotent(Platform::Twitter, "media.initialize");
    let body = serde_json::json!({
        "media_type": mime,
        "total_bytes": size,
        "media_category": category,
    });
    let init: Data<Upload> = api
        .post(
            ctx,
            user,
            api.url("media/upload/initialize", &[]),
            token,
            &body,
        )
        .await?;
    let id = init.data.id;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Error::unexpected("X's media initialize answered without a usable id")
                .with_platform(Platform::Twitter),
        );
    }
    let segment = api.cfg.segment_size;
    let count = size.div_ceil(segment);
    let span = |index: u64| {
        let offset = index * segment;
        (offset, segment.min(size - offset))
    };
    // The next segment is read while this one is sent: X takes them in
    // order, so the read is what can overlap (two segments in memory).
    let mut parts = media.part_reader();
    for index in 0..count {
        let (offset, len) = span(index);
        let bytes = parts.part(offset, len).await?;
        let next = (index + 1 < count).then(|| span(index + 1));
        parts
            .while_sending(append(api, token, user, &id, index, bytes), next)
            .await?;
    }
    let ctx = RequestContext::idempotent(Platform::Twitter, "media.finalize");
    let url = api.url(&format!("media/upload/{id}/finalize"), &[]);
    // No body, but a length: servers may refuse a POST without one (411).
    let builder = api
        .request(Method::POST, url, token)
        .header(postd_core::reqwest::header::CONTENT_LENGTH, "0");
    let response = api.send(ctx, user, builder).await?;
    let done: Data<Upload> = response.json(&ctx)?;
    match done.data.processing_info {
        None => Ok(id),
        Some(p) => wait_processed(api, token, user, &id, p).await.map(|()| id),
    }
}

/// Appends segment `index` (`bytes`), sent again (from memory) while X's
/// answer is temporary.
async fn append(
    api: &Api,
    token: &SecretString,
    user: &Caller,
    id: &str,
    index: u64,
    bytes: Bytes,
) -> Result<()> {
    let url = api.url(&format!("media/upload/{id}/append"), &[]);
    let len = bytes.len() as u64;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let part = Part::stream_with_length(postd_core::reqwest::Body::from(bytes.clone()), len)
            .file_name("media")
            .mime_str("application/octet-stream")
            .map_err(|e| Error::config("bad multipart type").with_source(e.without_url()))?;
        let form = Form::new()
            .text("segment_index", index.to_string())
            .part("media", part);
        let builder = api
            .request(Method::POST, url.clone(), token)
            .multipart(form)
            .timeout(transfer_timeout(len));
        let ctx = RequestContext::idempotent(Platform::Twitter, "media.append");
        match api.send(ctx, user, builder).await {
            Ok(_) => return Ok(()),
            // X keeps the last segment sent again in place of the first copy.
            Err(e) if e.is_temporary() && attempt < SEGMENT_ATTEMPTS => {
                tokio::time::sleep(api.http.retry_policy().backoff(attempt)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn wait_processed(
    api: &Api,
    token: &SecretString,
    user: &Caller,
    id: &str,
    mut p: Processing,
) -> Result<()> {
    let started = tokio::time::Instant::now();
    loop {
        match p.state.as_str() {
            "succeeded" => return Ok(()),
            "failed" => {
                let err = p.error.unwrap_or_default();
                let why = if err.message.is_empty() {
                    err.name
                } else {
                    err.message
                };
                return Err(rejected(format!(
                    "X could not process the media: {}",
                    why.chars().take(300).collect::<String>()
                ))
                .with_code("processing_failed"));
            }
            "pending" | "in_progress" => {}
            other => {
                return Err(Error::unexpected(format!(
                    "X's media processing state {:?} is not one it documents",
                    other.chars().take(40).collect::<String>()
                ))
                .with_platform(Platform::Twitter));
            }
        }
        let wait = Duration::from_secs(p.check_after_secs.unwrap_or(1).clamp(1, 600))
            .min(api.cfg.max_poll_interval);
        if started.elapsed() + wait > api.cfg.processing_timeout {
            return Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "X was still processing the media after {} s; the upload is abandoned and the publish can start again",
                    started.elapsed().as_secs()
                ),
            )
            .with_platform(Platform::Twitter)
            .temporary(None));
        }
        tokio::time::sleep(wait).await;
        let url = api.url("media/upload", &[("command", "STATUS"), ("media_id", id)]);
        let ctx = RequestContext::idempotent(Platform::Twitter, "media.status");
        let status: Data<Upload> = api.get(ctx, user, url, token).await?;
        p = status.data.processing_info.unwrap_or(Processing {
            state: "succeeded".to_owned(),
            ..Processing::default()
        });
    }
}
