//! The upload URLs the fake hands out (`/dms-uploads/...`): image bytes, video parts with their
//! `ETag`s, captions and thumbnails (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api>).

use serde_json::json;

use super::errors::{Answer, Fail, Reply, fail, not_found};
use super::media::VStatus;
use super::request::Ctx;
use super::state::State;
use crate::util::{fnv1a, upload_checksum};

impl State {
    pub(super) fn upload(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        if ctx.method != "PUT" && ctx.method != "POST" {
            return Err(Fail::Unmatched);
        }
        let segs = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let bad = |msg: String| fail(400, json!({"status": 400, "message": msg}));
        match segs.as_slice() {
            ["image", id] => {
                // The Images API documents the upload with the member's bearer token.
                self.authenticate(ctx)?;
                let urn = format!("urn:li:image:{id}");
                let body = &ctx.req.body;
                let img = self.images.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                if body.is_empty() {
                    return Err(bad("The upload body is empty".to_owned()));
                }
                img.uploaded_bytes = body.len() as u64;
                img.checksum = upload_checksum(body);
                img.uploaded = true;
                ctx.committed = true;
                Ok(Reply::empty(201))
            }
            ["video", id, "captions" | "thumbnail"] => {
                let urn = format!("urn:li:video:{id}");
                let v = self.videos.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                if segs[2] == "captions" {
                    v.captions = true;
                } else {
                    v.thumbnail = true;
                }
                ctx.committed = true;
                Ok(Reply::empty(201))
            }
            ["video", id, part] => {
                let urn = format!("urn:li:video:{id}");
                let body = &ctx.req.body;
                let v = self.videos.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                let idx: usize = part.parse().map_err(|_| not_found(&urn))?;
                if v.status != VStatus::WaitingUpload {
                    return Err(bad(format!(
                        "Video {urn} is already finalized; parts cannot be uploaded"
                    )));
                }
                let p = v.parts.get_mut(idx).ok_or_else(|| not_found(&urn))?;
                let expected = p.last - p.first + 1;
                if body.len() as u64 != expected {
                    return Err(bad(format!(
                        "Part {idx} of {urn} must carry bytes {}..={} ({expected} bytes), got {} bytes",
                        p.first,
                        p.last,
                        body.len()
                    )));
                }
                let sum = upload_checksum(body);
                let etag = format!("/{id}/{idx}/{sum:016x}");
                let first_time = p.etag.is_none();
                let changed = !first_time && p.sum != sum;
                p.etag = Some(etag.clone());
                p.sum = sum;
                if first_time {
                    v.uploaded_bytes += expected;
                }
                if idx < v.folded {
                    if changed {
                        // Other bytes for a part already counted: the file is not what was sent.
                        v.running = fnv1a(v.running, body);
                    }
                } else if idx == v.folded {
                    v.running = fnv1a(v.running, body);
                    v.folded += 1;
                    // Parts that came early follow once their predecessors are in.
                    while let Some(early) = v.parts.get_mut(v.folded).and_then(|p| p.early.take()) {
                        v.running = fnv1a(v.running, &early);
                        v.folded += 1;
                    }
                } else {
                    p.early = Some(body.to_vec());
                }
                ctx.committed = true;
                Ok(Reply::empty(200).header("etag", &etag))
            }
            _ => Err(Fail::Unmatched),
        }
    }
}
