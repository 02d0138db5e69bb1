//! Resumable uploads, streamed from disk with bounded memory.
//!
//! Facebook video (the Resumable Upload API):
//! 1. `POST /{v}/{app-id}/uploads?file_name&file_length&file_type` (user token) -> `{"id":"upload:<session>"}`;
//! 2. `POST /{v}/upload:<session>` with `Authorization: OAuth <token>` and `file_offset: N`,
//!    the bytes from N to the end as the body -> `{"h":"<file handle>"}`;
//! 3. after an interruption, `GET /{v}/upload:<session>` -> `{"file_offset":N}`, and step 2 again from N.
//!
//! Instagram reels and stories from a local file:
//! `POST https://rupload.facebook.com/ig-api-upload/{v}/{container-id}` with
//! `Authorization: OAuth <token>`, `offset` and `file_size` headers and the bytes.
//!
//! The body is streamed from the file in 256 KiB reads, so memory stays
//! bounded whatever the file size; a streamed body cannot be replayed, so a
//! failed upload resumes from the offset the platform reports instead.

use postd_core::http::RequestContext;
use postd_core::reqwest::header::CONTENT_LENGTH;
use postd_core::reqwest::{Body, Method};
use postd_core::secrecy::SecretString;
use postd_core::{Error, ErrorKind, Media, Platform, Result};
use url::Url;

use crate::graph::{Auth, Graph};
use crate::models::{Id, UploadHandle, UploadOffset};

/// Read size when streaming a file into a request body.
pub(crate) const STREAM_CHUNK: usize = 256 * 1024;

/// Uploads `media` through the Resumable Upload API and returns the file handle `h`.
pub(crate) async fn resumable_upload(
    graph: &Graph,
    user_token: &SecretString,
    media: &Media,
) -> Result<String> {
    let len = media_len(media).await?;
    let file_type = media
        .mime_type
        .clone()
        .unwrap_or_else(|| "video/mp4".to_owned());
    let session: Id = graph
        .post(
            RequestContext::idempotent(Platform::Meta, "graph.upload_session"),
            Auth::Token(user_token),
            graph.url(&[graph.cfg.client_id.as_str(), "uploads"]),
            &[
                ("file_name", media.file_name()),
                ("file_length", len.to_string()),
                ("file_type", file_type),
            ],
            None,
        )
        .await?;
    // Session ids look like `upload:MTp...?sig=ARZ...`: the part after `?` is a query.
    let (session_path, signature) = match session.id.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (session.id.as_str(), None),
    };
    let mut session_url = graph.url(&[session_path]);
    session_url.set_query(signature);

    let mut offset = 0u64;
    let mut last_error = None;
    for _ in 0..graph.cfg.upload_attempts.max(1) {
        let body = Body::wrap_stream(media.stream_from(offset, STREAM_CHUNK).await?);
        let builder = graph
            .request(
                Method::POST,
                session_url.clone(),
                Auth::OAuthScheme(user_token),
            )
            .header("file_offset", offset.to_string())
            .header(CONTENT_LENGTH, len - offset)
            .body(body);
        // Uploading the same bytes again is harmless: the session keeps one file.
        let ctx = RequestContext::idempotent(Platform::Meta, "graph.upload_transfer");
        match graph.send::<UploadHandle>(ctx, builder, None).await {
            Ok(UploadHandle { h: Some(h) }) => return Ok(h),
            Ok(UploadHandle { h: None }) => {}
            Err(e) if resumable(&e) => last_error = Some(e),
            Err(e) => return Err(e),
        }
        let status: UploadOffset = graph
            .get(
                "graph.upload_status",
                Auth::OAuthScheme(user_token),
                session_url.clone(),
                &[],
                None,
            )
            .await?;
        let reported = status.file_offset.unwrap_or(0);
        if reported > len {
            return Err(Error::unexpected(format!(
                "upload session reports offset {reported} beyond the file's {len} bytes"
            ))
            .with_platform(Platform::Meta));
        }
        offset = reported;
    }
    Err(last_error.unwrap_or_else(|| {
        Error::new(ErrorKind::Unavailable, "the upload did not complete")
            .with_platform(Platform::Meta)
            .with_operation("graph.upload_transfer")
    }))
}

/// Uploads `media` to an Instagram resumable container.
pub(crate) async fn rupload(
    graph: &Graph,
    token: &SecretString,
    url: Url,
    media: &Media,
) -> Result<()> {
    let len = media_len(media).await?;
    let mut last_error = None;
    for _ in 0..graph.cfg.upload_attempts.max(1) {
        let body = Body::wrap_stream(media.stream(STREAM_CHUNK).await?);
        let builder = graph
            .request(Method::POST, url.clone(), Auth::OAuthScheme(token))
            .header("offset", "0")
            .header("file_size", len.to_string())
            .header(CONTENT_LENGTH, len)
            .body(body);
        let ctx = RequestContext::idempotent(Platform::Meta, "rupload.ig_api_upload");
        match graph.send_raw(ctx, builder, None).await {
            Ok(_) => return Ok(()),
            Err(e) if resumable(&e) => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error
        .unwrap_or_else(|| Error::new(ErrorKind::Unavailable, "the upload did not complete")))
}

/// Whether an upload failure is worth resuming: the transfer broke, not the request.
fn resumable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::UnknownOutcome
    )
}

async fn media_len(media: &Media) -> Result<u64> {
    match media.len().await? {
        Some(0) => Err(Error::new(ErrorKind::MediaRejected, "media file is empty")
            .with_platform(Platform::Meta)),
        Some(n) => Ok(n),
        None => Err(
            Error::new(ErrorKind::Unsupported, "media has no local bytes to upload")
                .with_platform(Platform::Meta),
        ),
    }
}
