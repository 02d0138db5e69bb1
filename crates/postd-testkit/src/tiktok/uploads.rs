//! `PUT {upload_url}`: the chunks of a `FILE_UPLOAD`, in order, each with
//! `Content-Type` (`video/mp4`, `video/quicktime`, `video/webm`), `Content-Length` and
//! `Content-Range: bytes {first}-{last}/{total}`
//! (<https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide>). A chunk that
//! is not the next one the plan expects answers `416`, bad headers `400`, an unknown upload
//! `404`, a wrong token or an upload URL older than an hour `403`; an accepted chunk `206`
//! with the `Content-Range` received so far, the last one `201`. Only byte counts and a
//! running FNV-1a checksum are kept.

use serde_json::json;

use super::errors::{Answer, Fail, Reply, envelope};
use super::request::Ctx;
use super::state::State;
use crate::util::fnv1a;

const VIDEO_TYPES: &[&str] = &["video/mp4", "video/quicktime", "video/webm"];

/// How long an `upload_url` is valid ("valid for one hour").
const UPLOAD_URL_TTL: i64 = 3_600;

fn fail(status: u16, code: &str, message: String) -> Fail {
    Fail::Reply(Reply::json(status, envelope(json!({}), code, &message)))
}

fn parse_range(v: &str) -> Option<(u64, u64, u64)> {
    let rest = v.strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (first <= last).then_some((first, last, total))
}

impl State {
    pub(super) fn upload(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        if ctx.method != "PUT" {
            return Err(Fail::Unmatched);
        }
        let upload_id = ctx.q("upload_id").unwrap_or_default();
        let now = self.now();
        let Some(p) = self
            .publishes
            .iter_mut()
            .find(|p| p.upload.as_ref().is_some_and(|u| u.upload_id == upload_id))
        else {
            return Err(fail(
                404,
                "invalid_file_upload",
                format!("No upload task {upload_id:?}"),
            ));
        };
        let created_at = p.created_at;
        let u = p.upload.as_mut().expect("found by its upload");
        if ctx.q("upload_token").as_deref() != Some(u.upload_token.as_str()) {
            return Err(fail(
                403,
                "invalid_file_upload",
                "The upload_token does not match".to_owned(),
            ));
        }
        if now - created_at > UPLOAD_URL_TTL {
            return Err(fail(
                403,
                "invalid_file_upload",
                "The upload_url has expired (1 hour)".to_owned(),
            ));
        }
        let ct = ctx
            .header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !VIDEO_TYPES.iter().any(|t| ct.starts_with(t)) {
            return Err(fail(
                400,
                "invalid_file_upload",
                format!("Content-Type {ct:?} is not a video type"),
            ));
        }
        let body = &ctx.req.body;
        let len = body.len() as u64;
        if let Some(cl) = ctx.header("content-length")
            && cl.parse::<u64>().ok() != Some(len)
        {
            return Err(fail(
                400,
                "invalid_file_upload",
                format!("Content-Length {cl} does not match the {len} bytes sent"),
            ));
        }
        let Some((first, last, total)) =
            ctx.header("content-range").as_deref().and_then(parse_range)
        else {
            return Err(fail(
                400,
                "invalid_file_upload",
                "Content-Range must be bytes {FIRST}-{LAST}/{TOTAL}".to_owned(),
            ));
        };
        if last - first + 1 != len {
            return Err(fail(
                400,
                "invalid_file_upload",
                format!("Content-Range {first}-{last} does not match the {len} bytes sent"),
            ));
        }
        let size = u.video_size;
        let unsatisfiable = |msg: String| {
            Fail::Reply(
                Reply::json(416, envelope(json!({}), "invalid_file_upload", &msg))
                    .header("content-range", &format!("bytes */{size}")),
            )
        };
        if total != u.video_size {
            return Err(unsatisfiable(format!(
                "The total {total} is not the video_size {} declared at init",
                u.video_size
            )));
        }
        let resent = u.last_range == Some((first, last));
        if resent {
            // The same chunk again (its answer was lost): it replaces the one received.
            u.checksum = fnv1a(u.checksum_before_last, body);
        } else {
            if u.complete() {
                return Err(unsatisfiable("Every chunk has been received".to_owned()));
            }
            let (ef, el) = u.range_of(u.received_chunks);
            if (first, last) != (ef, el) {
                return Err(unsatisfiable(format!(
                    "Chunk {} of {} must be bytes {ef}-{el}/{}; got {first}-{last}",
                    u.received_chunks + 1,
                    u.total_chunks,
                    u.video_size
                )));
            }
            u.checksum_before_last = u.checksum;
            u.checksum = fnv1a(u.checksum, body);
            u.uploaded_bytes += len;
            u.received_chunks += 1;
            u.last_range = Some((first, last));
        }
        ctx.committed = true;
        if u.complete() && last + 1 == u.video_size {
            Ok(Reply::empty(201))
        } else {
            let range = format!("bytes 0-{last}/{}", u.video_size);
            Ok(Reply::empty(206).header("content-range", &range))
        }
    }
}
