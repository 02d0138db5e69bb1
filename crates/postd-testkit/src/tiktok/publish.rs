//! The Content Posting API: Direct Post video init, inbox video init, photo init, and the
//! status of what they created, driven by status fetches.
//!
//! - <https://developers.tiktok.com/doc/content-posting-api-reference-direct-post>
//! - <https://developers.tiktok.com/doc/content-posting-api-reference-upload-video>
//! - <https://developers.tiktok.com/doc/content-posting-api-reference-photo-post>
//! - <https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status>
//! - <https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide> (chunk rules,
//!   `PULL_FROM_URL` URL ownership)
//! - <https://developers.tiktok.com/doc/content-sharing-guidelines> (unaudited clients)

use serde_json::{Map, Value, json};

use super::errors::{Answer, Fail, api_err, invalid_param, ok};
use super::records::{ChunkLimits, PublishKind};
use super::request::Ctx;
use super::state::{PublishRec, State, TokenRec, Upload, VideoRec};
use crate::util::FNV_OFFSET;

/// The privacy levels the posting references enumerate.
const PRIVACY_LEVELS: &[&str] = &[
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
];

/// Why a `FILE_UPLOAD` plan breaks the media transfer guide's chunk restrictions, if it
/// does:
///
/// - `total_chunk_count` must be `video_size / chunk_size` rounded **down**;
/// - each chunk is at least `min` and at most `max` bytes, except the final one, which
///   absorbs the trailing bytes and may reach `final_max`;
/// - a video smaller than `min` goes whole: `chunk_size == video_size`, one chunk;
/// - a video larger than `max` must be sent in more than one chunk;
/// - 1 to 1000 chunks.
pub fn chunk_plan_error(
    limits: ChunkLimits,
    max_video_size: u64,
    video_size: u64,
    chunk_size: u64,
    total_chunk_count: u64,
) -> Option<String> {
    if video_size == 0 || video_size > max_video_size {
        return Some(format!(
            "video_size {video_size} is outside 1..={max_video_size} bytes"
        ));
    }
    if chunk_size == 0 {
        return Some("chunk_size must be positive".to_owned());
    }
    if video_size < limits.min {
        return (chunk_size != video_size || total_chunk_count != 1).then(|| {
            format!(
                "a video under {} bytes is uploaded whole: chunk_size must be video_size ({video_size}) and total_chunk_count 1",
                limits.min
            )
        });
    }
    if chunk_size < limits.min || chunk_size > limits.max {
        return Some(format!(
            "The chunk size is invalid: chunk_size {chunk_size} is outside {}..={} bytes",
            limits.min, limits.max
        ));
    }
    let expected = video_size / chunk_size;
    if total_chunk_count != expected {
        return Some(format!(
            "total_chunk_count must be floor(video_size / chunk_size) = {expected}, got {total_chunk_count}"
        ));
    }
    if !(1..=1000).contains(&expected) {
        return Some(format!("total_chunk_count {expected} is outside 1..=1000"));
    }
    if video_size > limits.max && expected < 2 {
        return Some(format!(
            "a video over {} bytes must be uploaded in multiple chunks",
            limits.max
        ));
    }
    let final_chunk = video_size - (expected - 1) * chunk_size;
    if final_chunk > limits.final_max {
        return Some(format!(
            "the final chunk would be {final_chunk} bytes, over {}",
            limits.final_max
        ));
    }
    None
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<(), Fail> {
    match obj.get(key) {
        None | Some(Value::Bool(_)) | Some(Value::Null) => Ok(()),
        Some(v) => Err(invalid_param(format!("{key} must be a boolean, got {v}"))),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, Fail> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(invalid_param(format!("{key} must be a string, got {v}"))),
    }
}

fn object<'a>(v: &'a Value, key: &str) -> Result<&'a Map<String, Value>, Fail> {
    v.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_param(format!("{key} is required and must be an object")))
}

fn positive(obj: &Map<String, Value>, key: &str) -> Result<u64, Fail> {
    obj.get(key).and_then(Value::as_u64).ok_or_else(|| {
        invalid_param(format!(
            "source_info.{key} is required for FILE_UPLOAD and must be a non-negative integer"
        ))
    })
}

fn privacy(post_info: &Map<String, Value>, required: bool) -> Result<Option<String>, Fail> {
    match opt_str(post_info, "privacy_level")? {
        Some(p) if PRIVACY_LEVELS.contains(&p) => Ok(Some(p.to_owned())),
        Some(p) => Err(invalid_param(format!(
            "privacy_level {p} is not a privacy level"
        ))),
        None if required => Err(invalid_param("post_info.privacy_level is required")),
        None => Ok(None),
    }
}

fn https(url: &str) -> Result<(), Fail> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(()),
        _ => Err(invalid_param(format!("{url:?} is not an https URL"))),
    }
}

/// What an init asks for, once its body is valid.
struct Plan {
    kind: PublishKind,
    post_info: Value,
    privacy_level: Option<String>,
    file: Option<(u64, u64, u64)>,
    urls: Vec<String>,
}

impl State {
    /// `/v2/post/publish/video/init/` (`inbox` false) and `/v2/post/publish/inbox/video/init/`.
    pub(super) fn video_init(&mut self, ctx: &mut Ctx<'_>, inbox: bool) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        let (scope, endpoint) = if inbox {
            ("video.upload", "/v2/post/publish/inbox/video/init/")
        } else {
            ("video.publish", "/v2/post/publish/video/init/")
        };
        Self::require_scope(&tok, &[scope])?;
        self.rate_limit(&token, &tok, endpoint)?;
        let body = ctx.json_body()?;
        let (post_info, privacy_level) = if inbox {
            (Value::Null, None)
        } else {
            let pi = object(&body, "post_info")?;
            if let Some(t) = opt_str(pi, "title")?
                && utf16_len(t) > 2200
            {
                return Err(invalid_param(
                    "post_info.title is longer than 2200 UTF-16 runes",
                ));
            }
            for k in [
                "disable_duet",
                "disable_comment",
                "disable_stitch",
                "brand_content_toggle",
                "brand_organic_toggle",
                "is_aigc",
            ] {
                opt_bool(pi, k)?;
            }
            if let Some(v) = pi.get("video_cover_timestamp_ms")
                && !v.is_u64()
                && !v.is_null()
            {
                return Err(invalid_param(
                    "video_cover_timestamp_ms must be a non-negative integer",
                ));
            }
            (Value::Object(pi.clone()), privacy(pi, true)?)
        };
        let si = object(&body, "source_info")?;
        let (file, urls) = match opt_str(si, "source")? {
            Some("FILE_UPLOAD") => {
                let plan = (
                    positive(si, "video_size")?,
                    positive(si, "chunk_size")?,
                    positive(si, "total_chunk_count")?,
                );
                if let Some(e) = chunk_plan_error(
                    self.config.chunk_limits,
                    self.config.max_video_size,
                    plan.0,
                    plan.1,
                    plan.2,
                ) {
                    return Err(invalid_param(e));
                }
                (Some(plan), Vec::new())
            }
            Some("PULL_FROM_URL") => {
                let url = opt_str(si, "video_url")?.ok_or_else(|| {
                    invalid_param("source_info.video_url is required for PULL_FROM_URL")
                })?;
                https(url)?;
                (None, vec![url.to_owned()])
            }
            other => {
                return Err(invalid_param(format!(
                    "source_info.source must be FILE_UPLOAD or PULL_FROM_URL, got {other:?}"
                )));
            }
        };
        let kind = if inbox {
            PublishKind::VideoInbox
        } else {
            PublishKind::VideoDirectPost
        };
        self.create(
            ctx,
            &tok,
            Plan {
                kind,
                post_info,
                privacy_level,
                file,
                urls,
            },
        )
    }

    /// `/v2/post/publish/content/init/` with `media_type: PHOTO`.
    pub(super) fn content_init(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        self.rate_limit(&token, &tok, "/v2/post/publish/content/init/")?;
        let body = ctx.json_body()?;
        let direct = match body.get("post_mode").and_then(Value::as_str) {
            Some("DIRECT_POST") => true,
            Some("MEDIA_UPLOAD") => false,
            other => {
                return Err(invalid_param(format!(
                    "post_mode must be DIRECT_POST or MEDIA_UPLOAD, got {other:?}"
                )));
            }
        };
        Self::require_scope(
            &tok,
            &[if direct {
                "video.publish"
            } else {
                "video.upload"
            }],
        )?;
        if body.get("media_type").and_then(Value::as_str) != Some("PHOTO") {
            return Err(invalid_param("media_type must be PHOTO"));
        }
        let pi = object(&body, "post_info")?;
        if opt_str(pi, "title")?.is_some_and(|t| utf16_len(t) > 90) {
            return Err(invalid_param("post_info.title is longer than 90 runes"));
        }
        if opt_str(pi, "description")?.is_some_and(|t| utf16_len(t) > 4000) {
            return Err(invalid_param(
                "post_info.description is longer than 4000 runes",
            ));
        }
        for k in [
            "disable_comment",
            "auto_add_music",
            "brand_content_toggle",
            "brand_organic_toggle",
        ] {
            opt_bool(pi, k)?;
        }
        let privacy_level = privacy(pi, direct)?;
        let si = object(&body, "source_info")?;
        if opt_str(si, "source")? != Some("PULL_FROM_URL") {
            return Err(invalid_param(
                "photo posts support only source PULL_FROM_URL",
            ));
        }
        let images: Vec<String> = match si.get("photo_images") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid_param("photo_images must hold URL strings"))
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(invalid_param("source_info.photo_images is required")),
        };
        if !(1..=35).contains(&images.len()) {
            return Err(invalid_param(format!(
                "photo_images holds {} URLs; 1 to 35 are allowed",
                images.len()
            )));
        }
        for url in &images {
            https(url)?;
        }
        match si.get("photo_cover_index").and_then(Value::as_u64) {
            Some(i) if (i as usize) < images.len() => {}
            _ => {
                return Err(invalid_param(
                    "source_info.photo_cover_index is required and must index photo_images (0-based)",
                ));
            }
        }
        let kind = if direct {
            PublishKind::PhotoDirectPost
        } else {
            PublishKind::PhotoMediaUpload
        };
        self.create(
            ctx,
            &tok,
            Plan {
                kind,
                post_info: Value::Object(pi.clone()),
                privacy_level,
                file: None,
                urls: images,
            },
        )
    }

    /// The checks every valid init passes before it takes effect, in this order: the
    /// creator's posting block, the caps, the privacy option, the audit, the URL ownership.
    fn create(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, plan: Plan) -> Answer {
        let open_id = tok.open_id.clone();
        if let Some(block) = self.user(&open_id).block {
            return Err(api_err(
                block.code(),
                "The creator cannot make more posts at this moment.",
            ));
        }
        if self.cap_reached(&open_id) {
            return Err(api_err(
                "reached_active_user_cap",
                "The daily quota of active publishing users of this client is reached.",
            ));
        }
        if plan.kind.is_direct() && self.daily_cap_reached(&open_id) {
            return Err(api_err(
                "spam_risk_too_many_posts",
                "The creator reached the daily post cap.",
            ));
        }
        if !plan.kind.is_direct() && self.pending_shares(&open_id) >= 5 {
            return Err(api_err(
                "spam_risk_too_many_pending_share",
                "The creator has 5 pending shares from the last 24 hours.",
            ));
        }
        if let Some(p) = &plan.privacy_level {
            let options = &self.user(&open_id).creator.privacy_level_options;
            if !options.iter().any(|o| o == p) {
                return Err(api_err(
                    "privacy_level_option_mismatch",
                    format!("privacy_level {p} is not one of the creator's options {options:?}"),
                ));
            }
            if !self.audited && p != "SELF_ONLY" {
                return Err(api_err(
                    "unaudited_client_can_only_post_to_private_accounts",
                    "Unaudited clients can only post with privacy_level SELF_ONLY.",
                ));
            }
        }
        if let Some(url) = plan.urls.iter().find(|u| !self.url_verified(u)) {
            return Err(api_err(
                "url_ownership_unverified",
                format!("The domain or URL prefix of {url} is not verified for this client."),
            ));
        }
        // It takes effect.
        let n = self.next();
        let serial = 100_000_000 + n;
        let pull = plan.file.is_none();
        let publish_id = match plan.kind {
            PublishKind::VideoDirectPost if pull => format!("v_pub_url~v2-1.{serial}"),
            PublishKind::VideoDirectPost => format!("v_pub_file~v2-1.{serial}"),
            PublishKind::VideoInbox if pull => format!("v_inbox_url~v2.{serial}"),
            PublishKind::VideoInbox => format!("v_inbox_file~v2.{serial}"),
            PublishKind::PhotoDirectPost => format!("p_pub_url~v2.{serial}"),
            PublishKind::PhotoMediaUpload => format!("p_inbox_url~v2.{serial}"),
        };
        let upload = plan
            .file
            .map(|(video_size, chunk_size, total_chunks)| Upload {
                upload_id: format!("{}", 7_000_000 + n),
                upload_token: self.new_token(""),
                video_size,
                chunk_size,
                total_chunks,
                received_chunks: 0,
                uploaded_bytes: 0,
                checksum: FNV_OFFSET,
                checksum_before_last: FNV_OFFSET,
                last_range: None,
            });
        let upload_url = upload.as_ref().map(|u| {
            format!(
                "{}/video/?upload_id={}&upload_token={}",
                self.base_uri, u.upload_id, u.upload_token
            )
        });
        let now = self.now();
        let planned_failure = self.fail_next.take();
        self.publishes.push(PublishRec {
            publish_id: publish_id.clone(),
            open_id: open_id.clone(),
            client_key: tok.client_key.clone(),
            kind: plan.kind,
            status: if pull {
                "PROCESSING_DOWNLOAD"
            } else {
                "PROCESSING_UPLOAD"
            },
            upload,
            urls: plan.urls,
            post_info: plan.post_info,
            privacy_level: plan.privacy_level,
            stage_polls: 0,
            planned_failure,
            fail_reason: None,
            downloaded_bytes: 0,
            post_id: None,
            created_at: now,
        });
        self.post_inits += 1;
        let day = now.div_euclid(86_400);
        if self.active_users.0 != day {
            self.active_users = (day, Default::default());
        }
        self.active_users.1.insert(open_id);
        ctx.committed = true;
        let mut data = json!({"publish_id": publish_id});
        if let Some(url) = upload_url {
            data["upload_url"] = json!(url);
        }
        ok(data)
    }

    /// Whether the app-wide daily quota of active publishing users keeps `open_id` out
    /// (an unaudited client has a quota of 5).
    pub(super) fn cap_reached(&self, open_id: &str) -> bool {
        let cap = match (self.active_user_cap, self.audited) {
            (Some(c), true) => c,
            (Some(c), false) => c.min(5),
            (None, true) => return false,
            (None, false) => 5,
        };
        let (day, users) = &self.active_users;
        let users = if *day == self.now().div_euclid(86_400) {
            users.len()
        } else {
            0
        };
        users >= cap
            && !(self.active_users.1.contains(open_id) && *day == self.now().div_euclid(86_400))
    }

    pub(super) fn daily_cap_reached(&self, open_id: &str) -> bool {
        let Some(cap) = self.config.daily_post_cap else {
            return false;
        };
        let since = self.now() - 86_400;
        let n = self
            .publishes
            .iter()
            .filter(|p| p.open_id == open_id && p.kind.is_direct() && p.created_at > since)
            .count();
        n >= cap as usize
    }

    fn pending_shares(&self, open_id: &str) -> usize {
        let since = self.now() - 86_400;
        self.publishes
            .iter()
            .filter(|p| {
                p.open_id == open_id
                    && !p.kind.is_direct()
                    && p.created_at > since
                    && !matches!(p.status, "PUBLISH_COMPLETE" | "FAILED")
            })
            .count()
    }

    /// `/v2/post/publish/status/fetch/`: answers the publish's status, then moves it on.
    pub(super) fn status_fetch(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        Self::require_scope(&tok, &["video.upload", "video.publish"])?;
        self.rate_limit(&token, &tok, "/v2/post/publish/status/fetch/")?;
        let body = ctx.json_body()?;
        let id = body
            .get("publish_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_param("publish_id is required"))?;
        let i = self
            .publishes
            .iter()
            .position(|p| p.publish_id == id)
            .ok_or_else(|| {
                api_err(
                    "invalid_publish_id",
                    format!("publish_id {id} does not exist"),
                )
            })?;
        let p = &self.publishes[i];
        if p.open_id != tok.open_id || p.client_key != tok.client_key {
            return Err(api_err(
                "token_not_authorized_for_specified_publish_id",
                "The access token is not authorized for this publish_id.",
            ));
        }
        self.tick(i);
        ctx.committed = true;
        let p = &self.publishes[i];
        let mut data = json!({
            "status": p.status,
            "fail_reason": p.fail_reason.clone().unwrap_or_default(),
            "publicaly_available_post_id": p.post_id.into_iter().collect::<Vec<u64>>(),
        });
        match &p.upload {
            Some(u) => data["uploaded_bytes"] = json!(u.uploaded_bytes),
            None => data["downloaded_bytes"] = json!(p.downloaded_bytes),
        }
        ok(data)
    }

    /// One status poll's worth of progress.
    fn tick(&mut self, i: usize) {
        let per_stage = self.config.polls_per_stage;
        let moderation = self.config.moderation_polls;
        let pulled = self.config.pulled_video_size;
        let p = &mut self.publishes[i];
        match p.status {
            "PROCESSING_UPLOAD" if p.upload.as_ref().is_some_and(Upload::complete) => {
                if p.stage_polls >= per_stage {
                    self.finish(i);
                } else {
                    p.stage_polls += 1;
                }
            }
            "PROCESSING_DOWNLOAD" => {
                if p.stage_polls >= per_stage {
                    self.finish(i);
                } else {
                    p.stage_polls += 1;
                    p.downloaded_bytes =
                        pulled * u64::from(p.stage_polls) / u64::from(per_stage + 1);
                }
            }
            "PUBLISH_COMPLETE" if p.post_id.is_none() && is_public(p) => {
                if p.stage_polls >= moderation {
                    self.make_public(i);
                } else {
                    p.stage_polls += 1;
                }
            }
            _ => {}
        }
    }

    /// Ends processing: `FAILED` with the planned reason, `PUBLISH_COMPLETE` for a direct
    /// post (public at once when no moderation polls are configured), `SEND_TO_USER_INBOX`
    /// otherwise.
    pub(super) fn finish(&mut self, i: usize) {
        let pulled = self.config.pulled_video_size;
        let moderation = self.config.moderation_polls;
        let p = &mut self.publishes[i];
        if !matches!(p.status, "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD") {
            return;
        }
        p.stage_polls = 0;
        if p.upload.is_none() {
            p.downloaded_bytes = pulled;
        }
        let (id, open_id, kind) = (p.publish_id.clone(), p.open_id.clone(), p.kind);
        if let Some(reason) = p.planned_failure.take() {
            p.status = "FAILED";
            p.fail_reason = Some(reason.clone());
            self.emit(
                "post.publish.failed",
                &open_id,
                json!({"publish_id": id, "reason": reason, "publish_type": kind.publish_type()}),
            );
            return;
        }
        if kind.is_direct() {
            p.status = "PUBLISH_COMPLETE";
            let public = is_public(p);
            self.emit(
                "post.publish.complete",
                &open_id,
                json!({"publish_id": id, "publish_type": kind.publish_type()}),
            );
            if public && moderation == 0 {
                self.make_public(i);
            }
        } else {
            p.status = "SEND_TO_USER_INBOX";
            self.emit(
                "post.publish.inbox_delivered",
                &open_id,
                json!({"publish_id": id, "publish_type": kind.publish_type()}),
            );
        }
    }

    /// The post passed moderation: it gets its public id and shows in the Display API.
    pub(super) fn make_public(&mut self, i: usize) {
        let post_id = self.new_post_id();
        let now_ms = self.now_ms();
        let p = &mut self.publishes[i];
        p.post_id = Some(post_id);
        let text = |k: &str| {
            p.post_info
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let (title, description) = (text("title"), text("description"));
        let (id, open_id, kind) = (p.publish_id.clone(), p.open_id.clone(), p.kind);
        let last = self
            .videos
            .iter()
            .filter(|v| v.open_id == open_id)
            .map(|v| v.create_time_ms)
            .max()
            .unwrap_or(i64::MIN);
        self.videos.push(VideoRec {
            id: post_id,
            open_id: open_id.clone(),
            title,
            description,
            create_time_ms: now_ms.max(last + 1),
            metrics: Default::default(),
            duration: if matches!(
                kind,
                PublishKind::PhotoDirectPost | PublishKind::PhotoMediaUpload
            ) {
                0
            } else {
                15
            },
        });
        self.emit(
            "post.publish.publicly_available",
            &open_id,
            json!({"publish_id": id, "post_id": post_id.to_string(), "publish_type": kind.publish_type()}),
        );
    }
}

/// Whether a completed post becomes publicly available: every privacy level but
/// `SELF_ONLY` (inbox posts are finished in the app, where the creator picks; the fake
/// treats them as public).
fn is_public(p: &PublishRec) -> bool {
    p.privacy_level.as_deref() != Some("SELF_ONLY")
}
