//! Resumable uploads, streamed from disk with bounded memory.
//!
//! Facebook video (the Resumable Upload API):
//! 1. `POST /{v}/{app-id}/uploads?file_name&file_length&file_type` (user token) -> `{"id":"upload:<session>"}`;
//! 2. `POST /{v}/upload:<session>` with `Authorization: OAuth <token>` and `file_offset: N`,
//!    the next chunk (8 MiB) as the body, until the answer carries the file handle `{"h": ...}`;
//! 3. after an interruption, `GET /{v}/upload:<session>` -> `{"file_offset":N}`, and on from N.
//!
//! Instagram reels and stories from a local file:
//! `POST https://rupload.facebook.com/ig-api-upload/{v}/{container-id}` with
//! `Authorization: OAuth <token>`, `offset` and `file_size` headers and the
//! bytes; a failed transfer starts again (Instagram documents no way to ask
//! how much arrived).
//!
//! A Facebook part (8 MiB) is read whole from the file, so a failed transfer
//! can be sent again, and the next part is read while one is sent (two in
//! memory); an Instagram upload streams the file in 4 MiB blocks. Either way
//! memory stays bounded whatever the file size. Each request's timeout grows
//! with the bytes it carries (60 s plus 2 s per MiB after the first).

use postd_core::http::{RequestContext, transfer_timeout};
use postd_core::reqwest::header::CONTENT_LENGTH;
use postd_core::reqwest::{Body, Method};
use postd_core::secrecy::SecretString;
use postd_core::{Error, ErrorKind, Media, Platform, Result};
use serde::Deserialize;
use url::Url;

use crate::graph::{Auth, Graph};
use crate::models::{Id, UploadOffset};

/// Read size when a file is streamed into a request body (Instagram uploads,
/// photo multipart bodies): one block in memory at a time. 256 KiB reads
/// made a streamed 1 GiB upload run at about 0.64 of curl's speed
/// (`upload_throughput`, when Facebook parts were still streamed).
pub(crate) const STREAM_CHUNK: usize = 4 * 1024 * 1024;
/// Bytes per Facebook upload request.
pub(crate) const UPLOAD_CHUNK: u64 = 8 * 1024 * 1024;

/// The Resumable Upload API takes these file types only.
pub(crate) const RESUMABLE_TYPES: &[&str] = &[
    "video/mp4",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "application/pdf",
];

#[derive(Deserialize)]
struct TransferAnswer {
    #[serde(default)]
    h: Option<String>,
    #[serde(default)]
    file_offset: Option<u64>,
}

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
    let mut failures = 0u32;
    let mut stalls = 0u32;
    let part_at = |offset: u64| UPLOAD_CHUNK.min(len - offset);
    // The part after this one is read while this one is sent: the session
    // almost always asks for it next (when it asks for another offset, that
    // read is dropped).
    let mut parts = media.part_reader();
    loop {
        let part = part_at(offset);
        // Exactly the bytes the Content-Length declares, or a local failure;
        // one part (8 MiB) is read whole, so a failed transfer can be sent again.
        let body = Body::from(parts.part(offset, part).await?);
        let builder = graph
            .request(
                Method::POST,
                session_url.clone(),
                Auth::UploadSession(user_token),
            )
            .header("file_offset", offset.to_string())
            .header(CONTENT_LENGTH, part)
            .timeout(transfer_timeout(part))
            .body(body);
        // Sending the same bytes again is harmless: the session keeps one file.
        let ctx = RequestContext::idempotent(Platform::Meta, "graph.upload_transfer");
        let following = offset + part;
        let next_part = (following < len).then(|| (following, part_at(following)));
        let answer = parts
            .while_sending(graph.send::<TransferAnswer>(ctx, builder, None), next_part)
            .await;
        let next = match answer {
            Ok(TransferAnswer { h: Some(h), .. }) => return Ok(h),
            Ok(TransferAnswer {
                file_offset: Some(o),
                ..
            }) => o,
            Ok(_) => status_offset(graph, user_token, &session_url).await?,
            Err(e) if resumable(&e) => {
                failures += 1;
                if failures >= graph.cfg.upload_attempts.max(1) {
                    return Err(e);
                }
                status_offset(graph, user_token, &session_url).await?
            }
            Err(e) => return Err(e),
        };
        if next > len {
            return Err(Error::unexpected(format!(
                "upload session reports offset {next} beyond the file's {len} bytes"
            ))
            .with_platform(Platform::Meta));
        }
        if next <= offset {
            // No progress (or the handle got lost after the last byte): count it,
            // so a session that stops moving ends instead of looping.
            stalls += 1;
            if stalls >= graph.cfg.upload_attempts.max(1) {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "the upload session stopped making progress",
                )
                .with_platform(Platform::Meta)
                .with_operation("graph.upload_transfer"));
            }
        }
        offset = next;
    }
}

async fn status_offset(graph: &Graph, token: &SecretString, session_url: &Url) -> Result<u64> {
    let status: UploadOffset = graph
        .get(
            "graph.upload_status",
            Auth::UploadSession(token),
            session_url.clone(),
            &[],
            None,
        )
        .await?;
    Ok(status.file_offset.unwrap_or(0))
}

#[derive(Deserialize)]
struct RuploadAnswer {
    #[serde(default)]
    success: Option<bool>,
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
        let body = Body::wrap_stream(media.stream_exact(0, len, STREAM_CHUNK).await?);
        let builder = graph
            .request(Method::POST, url.clone(), Auth::OAuthScheme(token))
            .header("offset", "0")
            .header("file_size", len.to_string())
            .header(CONTENT_LENGTH, len)
            .timeout(transfer_timeout(len))
            .body(body);
        let ctx = RequestContext::idempotent(Platform::Meta, "rupload.ig_api_upload");
        match graph.send::<RuploadAnswer>(ctx, builder, None).await {
            Ok(RuploadAnswer {
                success: Some(false),
            }) => {
                last_error = Some(
                    Error::new(
                        ErrorKind::Unavailable,
                        "Instagram's upload host answered success: false",
                    )
                    .with_platform(Platform::Meta)
                    .with_operation("rupload.ig_api_upload"),
                );
            }
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

/// The length of local media to upload: a regular file or bytes, not empty (see `Media::check_local`).
pub(crate) async fn media_len(media: &Media) -> Result<u64> {
    match media.check_local(None).await {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(
            Error::new(ErrorKind::Unsupported, "media has no local bytes to upload")
                .with_platform(Platform::Meta),
        ),
        Err(e) => Err(e.with_platform(Platform::Meta)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timeouts_grow_with_the_bytes() {
        assert_eq!(transfer_timeout(0), Duration::from_secs(60));
        assert_eq!(transfer_timeout(UPLOAD_CHUNK), Duration::from_secs(74));
        assert_eq!(
            transfer_timeout(1024 * 1024 * 1024),
            Duration::from_secs(60 + 2046)
        );
        assert!(transfer_timeout(u64::MAX) > Duration::from_secs(60));
    }
}
