//! The Display API's video endpoints over the public posts the fake holds:
//! `POST /v2/video/list/?fields=...` (newest first, `cursor` is a UTC unix time in ms,
//! `max_count` at most 20) and `POST /v2/video/query/?fields=...` (at most 20 `video_ids`)
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-video-list>,
//! <https://developers.tiktok.com/doc/tiktok-api-v2-video-query>).

use serde_json::{Map, Value, json};

use super::errors::{Answer, Fail, invalid_params, ok};
use super::request::Ctx;
use super::state::{State, VideoRec};

const VIDEO_FIELDS: &[&str] = &[
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
];

fn fields(ctx: &Ctx<'_>) -> Result<Vec<String>, Fail> {
    let raw = ctx
        .q("fields")
        .ok_or_else(|| invalid_params("The fields query parameter is required."))?;
    raw.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            if VIDEO_FIELDS.contains(&f) {
                Ok(f.to_owned())
            } else {
                Err(invalid_params(format!("Unknown field {f}.")))
            }
        })
        .collect()
}

fn body(ctx: &Ctx<'_>) -> Result<Value, Fail> {
    if ctx.req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&ctx.req.body)
        .map_err(|e| invalid_params(format!("The request body is not valid JSON: {e}")))
}

fn render(v: &VideoRec, username: &str, fields: &[String]) -> Value {
    let share = format!("https://www.tiktok.com/@{username}/video/{}", v.id);
    let mut out = Map::new();
    for f in fields {
        let value = match f.as_str() {
            "id" => json!(v.id.to_string()),
            "create_time" => json!(v.create_time_ms.div_euclid(1000)),
            "cover_image_url" => json!(format!(
                "https://p16-sign.tiktokcdn-us.example/{}.jpeg",
                v.id
            )),
            "share_url" => json!(share),
            "video_description" => json!(if v.description.is_empty() {
                &v.title
            } else {
                &v.description
            }),
            "duration" => json!(v.duration),
            "height" => json!(1920),
            "width" => json!(1080),
            "title" => json!(v.title),
            "embed_html" => json!(format!(
                "<blockquote class=\"tiktok-embed\" cite=\"{share}\"></blockquote>"
            )),
            "embed_link" => json!(format!("https://www.tiktok.com/player/v1/{}", v.id)),
            "like_count" => json!(v.metrics.likes),
            "comment_count" => json!(v.metrics.comments),
            "share_count" => json!(v.metrics.shares),
            _ => json!(v.metrics.views),
        };
        out.insert(f.clone(), value);
    }
    Value::Object(out)
}

impl State {
    pub(super) fn video_list(&mut self, ctx: &Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        Self::require_scope(&tok, &["video.list"])?;
        self.rate_limit(&token, &tok, "/v2/video/list/")?;
        let fields = fields(ctx)?;
        let body = body(ctx)?;
        let max = body
            .get("max_count")
            .and_then(Value::as_u64)
            .unwrap_or(10)
            .clamp(1, 20) as usize;
        let cursor = body.get("cursor").and_then(Value::as_i64);
        let username = self.user(&tok.open_id).creator.username.clone();
        let mut mine: Vec<&VideoRec> = self
            .videos
            .iter()
            .filter(|v| v.open_id == tok.open_id && cursor.is_none_or(|c| v.create_time_ms < c))
            .collect();
        mine.sort_by_key(|v| std::cmp::Reverse(v.create_time_ms));
        let has_more = mine.len() > max;
        mine.truncate(max);
        let next = mine
            .last()
            .map_or(cursor.unwrap_or(0), |v| v.create_time_ms);
        let videos: Vec<Value> = mine.iter().map(|v| render(v, &username, &fields)).collect();
        ok(json!({"videos": videos, "cursor": next, "has_more": has_more}))
    }

    pub(super) fn video_query(&mut self, ctx: &Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        Self::require_scope(&tok, &["video.list"])?;
        self.rate_limit(&token, &tok, "/v2/video/query/")?;
        let fields = fields(ctx)?;
        let body = body(ctx)?;
        let ids: Vec<String> = body
            .pointer("/filters/video_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| invalid_params("filters.video_ids is required."))?;
        if !(1..=20).contains(&ids.len()) {
            return Err(invalid_params(format!(
                "filters.video_ids holds {} ids; 1 to 20 are allowed.",
                ids.len()
            )));
        }
        let username = self.user(&tok.open_id).creator.username.clone();
        let videos: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                self.videos
                    .iter()
                    .find(|v| v.open_id == tok.open_id && v.id.to_string() == *id)
            })
            .map(|v| render(v, &username, &fields))
            .collect();
        ok(json!({"videos": videos}))
    }
}
