//! The Images and Videos APIs (`/rest/images`, `/rest/videos`): `initializeUpload`,
//! `finalizeUpload`, status polls and batch gets (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api>).

use serde_json::{Map, Value, json};

use super::auth::TokenRec;
use super::errors::{Answer, Fail, Reply, denied, illegal, not_found, required, restli_422};
use super::records::LiVideo;
use super::request::Ctx;
use super::restli::{Rv, encode_key};
use super::state::State;
use crate::util::{FNV_OFFSET, upload_checksum};

impl State {
    pub(super) fn init_image(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let (owner, _) = self.owner_of_init(ctx, tok, "images")?;
        let id = format!("C4E10AQ{:012X}", self.salt("image") & 0xFFFF_FFFF_FFFF);
        let urn = format!("urn:li:image:{id}");
        self.images.insert(
            urn.clone(),
            ImageRec {
                owner,
                uploaded_bytes: 0,
                checksum: upload_checksum(&[]),
                uploaded: false,
            },
        );
        self.image_order.push(urn.clone());
        ctx.committed = true;
        Ok(Reply::json(
            200,
            json!({"value": {
                "uploadUrlExpiresAt": self.now_ms() + UPLOAD_URL_TTL_MS,
                "uploadUrl": format!("{}/dms-uploads/image/{id}?ca=vector_feedshare&cn=uploads&sync=0&v=beta", self.base_uri),
                "image": urn,
            }}),
        ))
    }

    fn owner_of_init(
        &self,
        ctx: &Ctx<'_>,
        tok: &TokenRec,
        resource: &str,
    ) -> Result<(String, Value), Fail> {
        let label = ctx.label(resource, "ACTION-initializeUpload");
        let body = ctx.json_body()?;
        let req = body
            .get("initializeUploadRequest")
            .cloned()
            .ok_or_else(|| required("/initializeUploadRequest"))?;
        let owner = req
            .get("owner")
            .and_then(Value::as_str)
            .ok_or_else(|| required("/initializeUploadRequest/owner"))?
            .to_owned();
        if !self.may_write_as(tok, &owner) {
            return Err(denied(&label));
        }
        Ok((owner, req))
    }

    pub(super) fn get_image(&self, tok: &TokenRec, urn: &str) -> Result<Value, Fail> {
        let img = self.images.get(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_see_asset(tok, &img.owner) {
            return Err(not_found(urn));
        }
        Ok(self.image_json(urn, img))
    }

    fn image_json(&self, urn: &str, img: &ImageRec) -> Value {
        let mut v = json!({
            "id": urn,
            "owner": img.owner,
            "status": if img.uploaded { "AVAILABLE" } else { "WAITING_UPLOAD" },
        });
        if img.uploaded {
            v["downloadUrl"] = json!(format!(
                "{}/dms-downloads/{}",
                self.base_uri,
                encode_key(urn)
            ));
            v["downloadUrlExpiresAt"] = json!(self.now_ms() + UPLOAD_URL_TTL_MS);
        }
        v
    }

    pub(super) fn init_video(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let (owner, req) = self.owner_of_init(ctx, tok, "videos")?;
        let size = req
            .get("fileSizeBytes")
            .ok_or_else(|| required("/initializeUploadRequest/fileSizeBytes"))?
            .as_u64()
            .ok_or_else(|| {
                restli_422(
                    "/initializeUploadRequest/fileSizeBytes",
                    "expected a non-negative long",
                )
            })?;
        if !self.config.video_size_limits.contains(&size) {
            return Err(illegal(format!(
                "fileSizeBytes {size} is outside the allowed range {}..={} bytes",
                self.config.video_size_limits.start(),
                self.config.video_size_limits.end()
            )));
        }
        let flag = |k: &str| req.get(k).and_then(Value::as_bool).unwrap_or(false);
        let (captions, thumbnail) = (flag("uploadCaptions"), flag("uploadThumbnail"));
        let id = format!("C5505AQ{:012X}", self.salt("video") & 0xFFFF_FFFF_FFFF);
        let urn = format!("urn:li:video:{id}");
        let part = self.config.video_part_size.max(1);
        let n = size.div_ceil(part);
        let parts: Vec<PartRec> = (0..n)
            .map(|i| PartRec {
                first: i * part,
                last: ((i + 1) * part).min(size) - 1,
                etag: None,
                sum: 0,
                early: None,
            })
            .collect();
        let upload_token = if parts.len() > 1 {
            format!("fakeUploadToken{:016x}", self.salt("upload-token"))
        } else {
            String::new()
        };
        let instructions: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "uploadUrl": format!("{}/dms-uploads/video/{id}/{i}?ca=vector_feedshare&cn=uploads_secure&sync=0&v=beta", self.base_uri),
                    "firstByte": p.first,
                    "lastByte": p.last,
                })
            })
            .collect();
        let mut value = json!({
            "uploadUrlsExpireAt": self.now_ms() + UPLOAD_URL_TTL_MS,
            "video": urn,
            "uploadInstructions": instructions,
            "uploadToken": upload_token,
        });
        if captions {
            value["captionsUploadUrl"] =
                json!(format!("{}/dms-uploads/video/{id}/captions", self.base_uri));
        }
        if thumbnail {
            value["thumbnailUploadUrl"] = json!(format!(
                "{}/dms-uploads/video/{id}/thumbnail",
                self.base_uri
            ));
        }
        self.videos.insert(
            urn.clone(),
            VideoRec {
                owner,
                file_size: size,
                parts,
                upload_token,
                running: FNV_OFFSET,
                folded: 0,
                uploaded_bytes: 0,
                status: VStatus::WaitingUpload,
                polls_left: 0,
                will_fail: false,
                captions: false,
                thumbnail: false,
            },
        );
        self.video_order.push(urn);
        ctx.committed = true;
        Ok(Reply::json(200, json!({ "value": value })))
    }

    pub(super) fn finalize_video(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let label = ctx.label("videos", "ACTION-finalizeUpload");
        let body = ctx.json_body()?;
        let req = body
            .get("finalizeUploadRequest")
            .ok_or_else(|| required("/finalizeUploadRequest"))?;
        let urn = req
            .get("video")
            .and_then(Value::as_str)
            .ok_or_else(|| required("/finalizeUploadRequest/video"))?
            .to_owned();
        let token = req
            .get("uploadToken")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let ids: Vec<String> = req
            .get("uploadedPartIds")
            .and_then(Value::as_array)
            .ok_or_else(|| required("/finalizeUploadRequest/uploadedPartIds"))?
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .collect();
        let polls = self.config.video_polls;
        let fail_next = self.fail_next_video;
        let v = self.videos.get(&urn).ok_or_else(|| not_found(&urn))?;
        if !self.may_write_as(tok, &v.owner) {
            return Err(denied(&label));
        }
        if v.status != VStatus::WaitingUpload {
            return Err(illegal(format!(
                "Video {urn} has already been finalized (status {})",
                v.status.as_str()
            )));
        }
        if token != v.upload_token {
            return Err(illegal(format!("Invalid uploadToken for video {urn}")));
        }
        let missing: Vec<usize> = v
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.etag.is_none())
            .map(|(i, _)| i)
            .collect();
        if !missing.is_empty() {
            return Err(illegal(format!(
                "Video {urn} is missing upload parts {missing:?}"
            )));
        }
        let expected: Vec<&str> = v.parts.iter().filter_map(|p| p.etag.as_deref()).collect();
        if ids.len() != expected.len() || ids.iter().zip(&expected).any(|(a, b)| a != b) {
            return Err(illegal(format!(
                "uploadedPartIds do not match the uploaded parts of {urn}: send every part's ETag, in part order"
            )));
        }
        let v = self.videos.get_mut(&urn).expect("checked above");
        v.status = VStatus::Processing;
        v.polls_left = polls;
        v.will_fail = fail_next;
        self.fail_next_video = false;
        ctx.committed = true;
        Ok(Reply::empty(200))
    }

    pub(super) fn get_video(&mut self, tok: &TokenRec, urn: &str) -> Result<Value, Fail> {
        let v = self.videos.get(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_see_asset(tok, &v.owner) {
            return Err(not_found(urn));
        }
        let v = self.videos.get_mut(urn).expect("checked above");
        if v.status == VStatus::Processing {
            if v.polls_left == 0 {
                v.status = if v.will_fail {
                    VStatus::Failed
                } else {
                    VStatus::Available
                };
            } else {
                v.polls_left -= 1;
            }
        }
        let v = self.videos.get(urn).expect("checked above");
        Ok(self.video_json(urn, v))
    }

    fn video_json(&self, urn: &str, v: &VideoRec) -> Value {
        let mut out = json!({
            "id": urn,
            "owner": v.owner,
            "status": v.status.as_str(),
        });
        if v.status == VStatus::Available {
            out["downloadUrl"] = json!(format!(
                "{}/dms-downloads/{}",
                self.base_uri,
                encode_key(urn)
            ));
            out["downloadUrlExpiresAt"] = json!(self.now_ms() + UPLOAD_URL_TTL_MS);
            out["duration"] = json!(0);
            out["aspectRatioWidth"] = json!(16.0);
            out["aspectRatioHeight"] = json!(9.0);
        }
        out
    }

    pub(super) fn batch_assets(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, kind: &str) -> Answer {
        let Some(Rv::L(items)) = ctx.q_restli("ids")? else {
            return Err(Fail::Unmatched);
        };
        let mut results = Map::new();
        let mut statuses = Map::new();
        let mut errors = Map::new();
        for item in items {
            let urn = item.str().unwrap_or("").to_owned();
            let got = if kind == "images" {
                self.get_image(tok, &urn)
            } else {
                self.get_video(tok, &urn)
            };
            match got {
                Ok(v) => {
                    results.insert(urn.clone(), v);
                    statuses.insert(urn, json!(200));
                }
                Err(_) => {
                    statuses.insert(urn.clone(), json!(404));
                    errors.insert(
                        urn.clone(),
                        json!({"status": 404, "message": format!("Not Found: {urn}")}),
                    );
                }
            }
        }
        Ok(Reply::json(
            200,
            json!({"results": results, "statuses": statuses, "errors": errors}),
        ))
    }

    pub(super) fn video_view(&self, urn: &str, v: &VideoRec) -> LiVideo {
        LiVideo {
            urn: urn.to_owned(),
            owner: v.owner.clone(),
            file_size: v.file_size,
            parts: v.parts.len(),
            uploaded_parts: v.parts.iter().filter(|p| p.etag.is_some()).count(),
            uploaded_bytes: v.uploaded_bytes,
            checksum: v.running,
            status: v.status.as_str().to_owned(),
            finalized: matches!(
                v.status,
                VStatus::Processing | VStatus::Available | VStatus::Failed
            ),
            captions_uploaded: v.captions,
            thumbnail_uploaded: v.thumbnail,
        }
    }
}

const UPLOAD_URL_TTL_MS: i64 = 86_400_000;

#[derive(Clone, Debug)]
pub(super) struct ImageRec {
    pub(super) owner: String,
    pub(super) uploaded_bytes: u64,
    pub(super) checksum: u64,
    pub(super) uploaded: bool,
}

#[derive(Clone, Debug)]
pub(super) struct VideoRec {
    pub(super) owner: String,
    file_size: u64,
    pub(super) parts: Vec<PartRec>,
    upload_token: String,
    pub(super) running: u64,
    /// How many leading parts are folded into `running`.
    pub(super) folded: usize,
    pub(super) uploaded_bytes: u64,
    pub(super) status: VStatus,
    polls_left: u32,
    will_fail: bool,
    pub(super) captions: bool,
    pub(super) thumbnail: bool,
}

#[derive(Clone, Debug)]
pub(super) struct PartRec {
    pub(super) first: u64,
    pub(super) last: u64,
    pub(super) etag: Option<String>,
    pub(super) sum: u64,
    /// The bytes of a part that arrived before an earlier one, held until
    /// they can be folded into the running checksum in part order.
    pub(super) early: Option<Vec<u8>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VStatus {
    WaitingUpload,
    Processing,
    Available,
    Failed,
}

impl VStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            VStatus::WaitingUpload => "WAITING_UPLOAD",
            VStatus::Processing => "PROCESSING",
            VStatus::Available => "AVAILABLE",
            VStatus::Failed => "PROCESSING_FAILED",
        }
    }
}
