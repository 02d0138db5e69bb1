//! Media upload v2: `POST /2/media/upload/initialize`, `POST /2/media/upload/{id}/append`
//! (multipart `media` + `segment_index`, or JSON with base64 `media`),
//! `POST /2/media/upload/{id}/finalize` and `GET /2/media/upload?command=STATUS&media_id=`,
//! per <https://docs.x.com/x-api/media/quickstart/media-upload-chunked> and
//! <https://docs.x.com/x-api/media/introduction>. Only byte counts and a running FNV-1a
//! checksum are kept, never the bytes.

use serde_json::{Value, json};

use super::errors::{Answer, Fail, Reply, fail, invalid};
use super::request::Ctx;
use super::state::{MediaRec, State, TokenRec};
use crate::util::{FNV_OFFSET, fnv1a};

/// How long an upload may be used, seconds (`expires_after_secs`).
const EXPIRES_AFTER: i64 = 86_400;

/// The largest `total_bytes` the reference accepts.
const MAX_TOTAL_BYTES: u64 = 17_179_869_184;

/// The categories the fake accepts, with their size caps (images 5 MB, GIFs 15 MB, videos
/// up to the 16 GB the reference allows) and media-key prefixes.
const CATEGORIES: &[(&str, u64, &str)] = &[
    ("tweet_image", 5 * 1024 * 1024, "3_"),
    ("dm_image", 5 * 1024 * 1024, "3_"),
    ("tweet_gif", 15 * 1024 * 1024, "16_"),
    ("dm_gif", 15 * 1024 * 1024, "16_"),
    ("tweet_video", MAX_TOTAL_BYTES, "7_"),
    ("dm_video", MAX_TOTAL_BYTES, "7_"),
    ("amplify_video", MAX_TOTAL_BYTES, "13_"),
];

impl State {
    fn own_media(&mut self, tok: &TokenRec, id: &str) -> Result<usize, Fail> {
        self.media
            .iter()
            .position(|m| m.id.to_string() == id && m.owner == tok.user_id)
            .ok_or_else(|| invalid("id", id, "The media id is not a valid upload of this user."))
    }

    pub(super) fn media_init(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let body = ctx.json_body()?;
        let media_type = body
            .get("media_type")
            .and_then(Value::as_str)
            .filter(|s| s.contains('/'))
            .ok_or_else(|| invalid("media_type", "", "media_type (a MIME type) is required."))?
            .to_owned();
        let total = body
            .get("total_bytes")
            .and_then(Value::as_u64)
            .filter(|n| (1..=MAX_TOTAL_BYTES).contains(n))
            .ok_or_else(|| {
                invalid(
                    "total_bytes",
                    &body
                        .get("total_bytes")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    "total_bytes must be between 1 and 17179869184.",
                )
            })?;
        let category = body
            .get("media_category")
            .and_then(Value::as_str)
            .unwrap_or("tweet_image");
        let Some(&(category, cap, prefix)) = CATEGORIES.iter().find(|(c, _, _)| *c == category)
        else {
            return Err(invalid(
                "media_category",
                category,
                "media_category is not one of the documented categories.",
            ));
        };
        if total > cap {
            return Err(invalid(
                "total_bytes",
                &total.to_string(),
                format!("{category} media cannot exceed {cap} bytes."),
            ));
        }
        let id = self.snowflake();
        let now = self.now();
        self.media.push(MediaRec {
            id,
            key: format!("{prefix}{id}"),
            owner: tok.user_id.clone(),
            media_type,
            category: category.to_owned(),
            total_bytes: total,
            received_bytes: 0,
            segments: 0,
            checksum: FNV_OFFSET,
            before_last: None,
            finalized: false,
            state: None,
            polls: 0,
            failure: None,
            expires_at: now + EXPIRES_AFTER,
        });
        ctx.committed = true;
        Ok(Reply::json(
            200,
            json!({"data": {"id": id.to_string(), "media_key": format!("{prefix}{id}"),
                            "expires_after_secs": EXPIRES_AFTER}}),
        ))
    }

    pub(super) fn media_append(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, id: &str) -> Answer {
        let i = self.own_media(tok, id)?;
        let (index, bytes) = if ctx.is_multipart() {
            let parts = ctx.multipart()?;
            let index = parts
                .get("segment_index")
                .map(|b| String::from_utf8_lossy(b).trim().to_owned());
            (index, parts.get("media").cloned())
        } else {
            let body = ctx.json_body()?;
            let index = body.get("segment_index").map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let bytes = body
                .get("media")
                .and_then(Value::as_str)
                .and_then(crate::util::base64_decode);
            (index, bytes)
        };
        let index_s = index.unwrap_or_default();
        let index: u32 =
            index_s.parse().ok().filter(|n| *n <= 999).ok_or_else(|| {
                invalid("segment_index", &index_s, "segment_index must be 0 to 999.")
            })?;
        let bytes = bytes
            .filter(|b| !b.is_empty())
            .ok_or_else(|| invalid("media", "", "The media part is required."))?;
        let now = self.now();
        let m = &mut self.media[i];
        if m.finalized || m.expires_at <= now {
            return Err(invalid("id", id, "The upload is finalized or expired."));
        }
        let len = bytes.len() as u64;
        if index + 1 == m.segments
            && let Some((received, checksum)) = m.before_last
        {
            // The last segment again (its answer was lost): it replaces the first copy.
            m.received_bytes = received;
            m.checksum = checksum;
            m.segments -= 1;
        } else if index != m.segments {
            return Err(invalid(
                "segment_index",
                &index.to_string(),
                format!("Expected segment_index {}.", m.segments),
            ));
        }
        if m.received_bytes + len > m.total_bytes {
            return Err(invalid(
                "media",
                "",
                "The segments exceed the total_bytes declared at initialize.",
            ));
        }
        m.before_last = Some((m.received_bytes, m.checksum));
        m.received_bytes += len;
        m.checksum = fnv1a(m.checksum, &bytes);
        m.segments += 1;
        ctx.committed = true;
        Ok(Reply::json(
            200,
            json!({"data": {"expires_at": m.expires_at}}),
        ))
    }

    pub(super) fn media_finalize(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, id: &str) -> Answer {
        let i = self.own_media(tok, id)?;
        let fail_next = self.fail_next_media.clone();
        let now = self.now();
        let m = &mut self.media[i];
        if m.received_bytes != m.total_bytes {
            return Err(invalid(
                "id",
                id,
                format!(
                    "The upload has {} of the {} bytes declared at initialize.",
                    m.received_bytes, m.total_bytes
                ),
            ));
        }
        if !m.finalized {
            m.finalized = true;
            if !m.is_image() {
                m.state = Some("pending");
                m.failure = fail_next.clone();
            }
            ctx.committed = true;
        }
        let m = m.clone();
        if !m.is_image() && fail_next.is_some() {
            self.fail_next_media = None;
        }
        let mut data = json!({"id": m.id.to_string(), "media_key": m.key, "size": m.total_bytes,
                              "expires_after_secs": (m.expires_at - now).max(0)});
        if let Some(info) = processing_info(&m) {
            data["processing_info"] = info;
        }
        Ok(Reply::json(200, json!({"data": data})))
    }

    pub(super) fn media_status(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        if ctx.q("command").as_deref() != Some("STATUS") {
            return Err(invalid(
                "command",
                &ctx.q("command").unwrap_or_default(),
                "command must be STATUS.",
            ));
        }
        let id = ctx
            .q("media_id")
            .ok_or_else(|| invalid("media_id", "", "media_id is required."))?;
        let i = self.own_media(tok, &id)?;
        let polls_in_progress = self.config.polls_in_progress;
        let m = &mut self.media[i];
        if !m.finalized {
            return Err(fail(
                400,
                "invalid-request",
                "Invalid Request",
                "The upload has not been finalized.",
            ));
        }
        match m.state {
            Some("pending") => {
                m.state = Some("in_progress");
                m.polls = 1;
                ctx.committed = true;
            }
            Some("in_progress") if m.polls < polls_in_progress => {
                m.polls += 1;
                ctx.committed = true;
            }
            Some("in_progress") => {
                m.state = Some(if m.failure.is_some() {
                    "failed"
                } else {
                    "succeeded"
                });
                ctx.committed = true;
            }
            _ => {}
        }
        let m = m.clone();
        let mut data = json!({"id": m.id.to_string(), "media_key": m.key});
        if let Some(info) = processing_info(&m) {
            data["processing_info"] = info;
        }
        Ok(Reply::json(200, json!({"data": data})))
    }
}

fn processing_info(m: &MediaRec) -> Option<Value> {
    let state = m.state?;
    Some(match state {
        "pending" => json!({"state": state, "check_after_secs": 1}),
        "in_progress" => json!({"state": state, "check_after_secs": 1, "progress_percent": 50}),
        "failed" => json!({"state": state, "progress_percent": 0, "error": {
            "code": 1, "name": "InvalidMedia",
            "message": m.failure.clone().unwrap_or_default(),
        }}),
        _ => json!({"state": state, "progress_percent": 100}),
    })
}
