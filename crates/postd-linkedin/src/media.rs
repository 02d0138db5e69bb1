//! Images and videos, uploaded before the post that uses them. The media
//! `owner` is always the post's author (LinkedIn refuses other owners with
//! `INVALID_CONTENT_OWNERSHIP`).
//!
//! Images: `POST /rest/images?action=initializeUpload` -> `uploadUrl` and
//! `urn:li:image:...`; `PUT` the bytes to `uploadUrl`.
//!
//! Videos: `POST /rest/videos?action=initializeUpload` with `fileSizeBytes`
//! -> `uploadInstructions` (byte ranges of about 4 MiB, each with its own
//! URL); `PUT` each range, keeping each answer's `ETag`;
//! `POST /rest/videos?action=finalizeUpload` with the ETags in part order;
//! then `GET /rest/videos/{urn}` until `AVAILABLE`. Each part has its own
//! URL and LinkedIn assembles them by the ETag order given to finalize, so
//! parts go up several at a time
//! ([`LinkedInConfig::video_parts_in_flight`](crate::LinkedInConfig::video_parts_in_flight),
//! default [`DEFAULT_VIDEO_PARTS_IN_FLIGHT`](crate::DEFAULT_VIDEO_PARTS_IN_FLIGHT)):
//! at most that many parts (about 4 MiB each) are in memory at once, and
//! each part is retried on its own.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use postd_core::http::{RequestContext, transfer_timeout};
use postd_core::poll::PollPolicy;
use postd_core::reqwest::Method;
use postd_core::reqwest::header::{CONTENT_TYPE, ETAG};
use postd_core::secrecy::SecretString;
use postd_core::{Error, ErrorKind, Media, MediaSource, Platform, Result};
use serde_json::json;
use url::Url;

use crate::models::{AssetStatus, ImageUpload, UploadInstruction, Value, VideoUpload};
use crate::rest::{Rest, encode};

/// Largest image POSTD uploads (LinkedIn documents up to 5-10 MB depending on the source).
pub(crate) const IMAGE_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Largest part LinkedIn is expected to hand out; a bigger one is refused rather than buffered.
const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) async fn upload_image(
    rest: &Rest,
    token: &SecretString,
    owner: &str,
    media: &Media,
) -> Result<String> {
    let bytes = image_bytes(rest, media).await?;
    let request = json!({ "initializeUploadRequest": { "owner": owner } });
    let init: Value<ImageUpload> = rest
        .json_with(
            RequestContext::idempotent(Platform::LinkedIn, "rest.images_initialize"),
            &|| {
                rest.rest(Method::POST, rest.images_init_url(), token)
                    .json(&request)
            },
        )
        .await?;
    let upload_url = parse_upload_url(&init.value.upload_url)?;
    let auth = rest.trusted_upload_host(&upload_url).then_some(token);
    let content_type = media
        .mime_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    rest.send_with(
        RequestContext::idempotent(Platform::LinkedIn, "rest.image_upload"),
        &|| {
            rest.plain(Method::PUT, upload_url.clone(), auth)
                .header(CONTENT_TYPE, content_type.as_str())
                .timeout(transfer_timeout(bytes.len() as u64))
                .body(bytes.clone())
        },
    )
    .await?;
    Ok(init.value.image)
}

/// The image's bytes; an image given by URL is fetched (LinkedIn takes bytes only), capped in size.
async fn image_bytes(rest: &Rest, media: &Media) -> Result<Bytes> {
    let bytes = match &media.source {
        MediaSource::Url(u) => {
            let resp = rest
                .send(
                    RequestContext::idempotent(Platform::LinkedIn, "media.fetch_image"),
                    rest.plain(Method::GET, u.clone(), None),
                )
                .await
                .map_err(|e| {
                    // A 4xx from the image's host means the image is not there; anything
                    // else (5xx, timeouts) keeps its kind and may be retried.
                    let kind = match e.kind() {
                        ErrorKind::NotFound
                        | ErrorKind::PermissionDenied
                        | ErrorKind::InvalidContent => ErrorKind::MediaRejected,
                        other => other,
                    };
                    Error::new(kind, format!("could not fetch the image: {}", e.message()))
                        .with_retry(e.retry())
                        .with_platform(Platform::LinkedIn)
                })?;
            resp.body
        }
        _ => {
            let len = media.len().await?.unwrap_or(0);
            if len > IMAGE_MAX_BYTES {
                return Err(too_big(len));
            }
            media
                .read_chunk(0, usize::try_from(len).unwrap_or(usize::MAX))
                .await?
        }
    };
    if bytes.len() as u64 > IMAGE_MAX_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    if bytes.is_empty() {
        return Err(Error::new(ErrorKind::MediaRejected, "the image is empty")
            .with_platform(Platform::LinkedIn));
    }
    Ok(bytes)
}

fn too_big(len: u64) -> Error {
    Error::new(
        ErrorKind::MediaRejected,
        format!("the image is {len} bytes; POSTD uploads at most {IMAGE_MAX_BYTES}"),
    )
    .with_platform(Platform::LinkedIn)
}

fn parse_upload_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw)
        .map_err(|_| Error::unexpected("LinkedIn returned an upload URL that does not parse"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::unexpected(
            "LinkedIn returned an upload URL that is not http(s)",
        ));
    }
    Ok(url)
}

/// Uploads a video and returns its URN once LinkedIn has the bytes (it may still be processing).
pub(crate) async fn upload_video(
    rest: &Rest,
    token: &SecretString,
    owner: &str,
    media: &Media,
    parts_in_flight: usize,
) -> Result<String> {
    let len = match media.len().await? {
        Some(0) | None => {
            return Err(Error::new(
                ErrorKind::MediaRejected,
                "the video is empty or has no local bytes",
            )
            .with_platform(Platform::LinkedIn));
        }
        Some(n) => n,
    };
    let url = rest.rest_url("videos", Some("action=initializeUpload"));
    let init: Value<VideoUpload> = rest
        .json(
            RequestContext::idempotent(Platform::LinkedIn, "rest.videos_initialize"),
            rest.rest(Method::POST, url, token).json(&json!({
                "initializeUploadRequest": {
                    "owner": owner,
                    "fileSizeBytes": len,
                    "uploadCaptions": false,
                    "uploadThumbnail": false,
                }
            })),
        )
        .await?;
    let init = init.value;
    check_instructions(&init.upload_instructions, len)?;

    // Up to `parts_in_flight` parts at once, each read from disk when it
    // starts; the ordered set hands the answers back in part order, which is
    // the order finalize needs the ETags in. An error drops the parts still
    // in flight.
    let limit = parts_in_flight.max(1);
    let mut next = init.upload_instructions.iter();
    let mut in_flight = FuturesOrdered::new();
    let mut etags = Vec::with_capacity(init.upload_instructions.len());
    loop {
        while in_flight.len() < limit
            && let Some(part) = next.next()
        {
            in_flight.push_back(upload_part(rest, token, media, part));
        }
        match in_flight.next().await {
            Some(etag) => etags.push(etag?),
            None => break,
        }
    }

    let url = rest.rest_url("videos", Some("action=finalizeUpload"));
    let finalized = rest
        .send(
            RequestContext::idempotent(Platform::LinkedIn, "rest.videos_finalize"),
            rest.rest(Method::POST, url, token).json(&json!({
                "finalizeUploadRequest": {
                    "video": init.video,
                    "uploadToken": init.upload_token.clone().unwrap_or_default(),
                    "uploadedPartIds": etags,
                }
            })),
        )
        .await;
    if let Err(e) = finalized {
        // A retried finalize whose first answer was lost is refused; the video's
        // state says whether the first one took.
        match video_status(rest, token, &init.video).await.as_deref() {
            Ok("PROCESSING" | "AVAILABLE") => {}
            _ => return Err(e),
        }
    }
    Ok(init.video)
}

/// Reads one part from the media and `PUT`s it to its URL; returns the part's `ETag`.
async fn upload_part(
    rest: &Rest,
    token: &SecretString,
    media: &Media,
    part: &UploadInstruction,
) -> Result<String> {
    let size = part.last_byte - part.first_byte + 1;
    let chunk = media
        .read_exact_chunk(part.first_byte, size)
        .await
        .map_err(|e| e.with_platform(Platform::LinkedIn))?;
    let upload_url = parse_upload_url(&part.upload_url)?;
    let auth = rest.trusted_upload_host(&upload_url).then_some(token);
    // Each part is its own cloneable body, so a failed part is retried alone.
    let resp = rest
        .send(
            RequestContext::idempotent(Platform::LinkedIn, "rest.video_part_upload"),
            rest.plain(Method::PUT, upload_url, auth)
                .header(CONTENT_TYPE, "application/octet-stream")
                .timeout(transfer_timeout(size))
                .body(chunk),
        )
        .await?;
    resp.header(ETAG.as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::unexpected("a video part upload answered without an ETag")
                .with_platform(Platform::LinkedIn)
        })
}

/// The instructions must cover `0..len` exactly, in order, with sane part sizes.
fn check_instructions(parts: &[UploadInstruction], len: u64) -> Result<()> {
    let bad = |why: String| {
        Err(
            Error::unexpected(format!("LinkedIn's upload instructions {why}"))
                .with_platform(Platform::LinkedIn),
        )
    };
    if parts.is_empty() {
        return bad("are empty".to_owned());
    }
    let mut next = 0u64;
    for (i, p) in parts.iter().enumerate() {
        if p.first_byte != next {
            return bad(format!(
                "skip or overlap at part {}: expected byte {next}, got {}",
                i + 1,
                p.first_byte
            ));
        }
        if p.last_byte < p.first_byte || p.last_byte >= len {
            return bad(format!(
                "put part {} out of range ({}..={} of {len} bytes)",
                i + 1,
                p.first_byte,
                p.last_byte
            ));
        }
        if p.last_byte - p.first_byte + 1 > MAX_PART_BYTES {
            return bad(format!(
                "ask for a part of more than {MAX_PART_BYTES} bytes"
            ));
        }
        next = p.last_byte + 1;
    }
    if next != len {
        return bad(format!("cover {next} of {len} bytes"));
    }
    Ok(())
}

/// The processing state of a video (`PROCESSING`, `AVAILABLE`, `PROCESSING_FAILED`, `WAITING_UPLOAD`).
pub(crate) async fn video_status(rest: &Rest, token: &SecretString, video: &str) -> Result<String> {
    let url = rest.rest_url(&format!("videos/{}", encode(video)), None);
    let status: AssetStatus = rest.get("rest.video_status", url, token).await?;
    Ok(status.status.unwrap_or_else(|| "UNKNOWN".to_owned()))
}

/// Polls a video until it is available or `wait` has passed; `Ok(false)` when still processing.
pub(crate) async fn wait_available(
    rest: &Rest,
    token: &SecretString,
    video: &str,
    polling: &PollPolicy,
) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + polling.wait;
    let mut delays = polling.delays();
    loop {
        match video_status(rest, token, video).await?.as_str() {
            "AVAILABLE" => return Ok(true),
            "PROCESSING_FAILED" => {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!("LinkedIn could not process video {video}"),
                )
                .with_platform(Platform::LinkedIn)
                .with_code("PROCESSING_FAILED"));
            }
            _ => {}
        }
        let interval = delays.next().unwrap_or(polling.max);
        if tokio::time::Instant::now() + interval > deadline {
            return Ok(false);
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(first: u64, last: u64) -> UploadInstruction {
        UploadInstruction {
            upload_url: "https://www.linkedin.com/dms-uploads/x".to_owned(),
            first_byte: first,
            last_byte: last,
        }
    }

    #[test]
    fn instructions_must_cover_the_file_in_order() {
        let mib4 = 4 * 1024 * 1024;
        assert!(check_instructions(&[part(0, mib4 - 1), part(mib4, mib4 + 9)], mib4 + 10).is_ok());
        for (parts, len) in [
            (vec![], 10),
            (vec![part(0, 4), part(6, 9)], 10),  // gap
            (vec![part(0, 5), part(5, 9)], 10),  // overlap
            (vec![part(0, 4), part(5, 10)], 10), // out of range
            (vec![part(0, 4)], 10),              // short
            (vec![part(5, 9), part(0, 4)], 10),  // out of order
            (vec![part(0, MAX_PART_BYTES)], MAX_PART_BYTES + 1),
        ] {
            assert_eq!(
                check_instructions(&parts, len).unwrap_err().kind(),
                ErrorKind::Unexpected
            );
        }
    }
}
