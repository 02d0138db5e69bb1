//! `GET /v2/user/info/?fields=...` (<https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info>)
//! and `POST /v2/post/publish/creator_info/query/`
//! (<https://developers.tiktok.com/doc/content-posting-api-reference-query-creator-info>), whose
//! "creator cannot post now" codes come back with HTTP 200 and a non-`ok` `error.code`.

use serde_json::{Map, Value, json};

use super::errors::{Answer, Reply, api_err, envelope, invalid_params, ok};
use super::request::Ctx;
use super::state::State;

/// `/v2/user/info/` fields and the scope each needs.
const USER_FIELDS: &[(&str, &str)] = &[
    ("open_id", "user.info.basic"),
    ("union_id", "user.info.basic"),
    ("avatar_url", "user.info.basic"),
    ("avatar_url_100", "user.info.basic"),
    ("avatar_large_url", "user.info.basic"),
    ("display_name", "user.info.basic"),
    ("bio_description", "user.info.profile"),
    ("profile_deep_link", "user.info.profile"),
    ("is_verified", "user.info.profile"),
    ("username", "user.info.profile"),
    ("follower_count", "user.info.stats"),
    ("following_count", "user.info.stats"),
    ("likes_count", "user.info.stats"),
    ("video_count", "user.info.stats"),
];

impl State {
    pub(super) fn user_info(&mut self, ctx: &Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        self.rate_limit(&token, &tok, "/v2/user/info/")?;
        let fields = ctx
            .q("fields")
            .ok_or_else(|| invalid_params("The fields query parameter is required."))?;
        let user = self.user(&tok.open_id).clone();
        let videos = self
            .videos
            .iter()
            .filter(|v| v.open_id == user.open_id)
            .count();
        let mut out = Map::new();
        for f in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let Some((_, scope)) = USER_FIELDS.iter().find(|(n, _)| *n == f) else {
                return Err(invalid_params(format!("Unknown field {f}.")));
            };
            if !tok.scopes.iter().any(|s| s == scope) {
                return Err(api_err(
                    "scope_permission_missed",
                    format!("The field {f} needs the scope {scope}."),
                ));
            }
            let avatar = user.creator.avatar_url.clone();
            let v = match f {
                "open_id" => json!(user.open_id),
                "union_id" => json!(user.union_id),
                "avatar_url" | "avatar_url_100" | "avatar_large_url" => json!(avatar),
                "display_name" => json!(user.display_name),
                "bio_description" => json!(""),
                "profile_deep_link" => {
                    json!(format!("https://vm.tiktok.com/@{}", user.creator.username))
                }
                "is_verified" => json!(false),
                "username" => json!(user.creator.username),
                "follower_count" => json!(user.follower_count),
                "video_count" => json!(videos),
                _ => json!(0),
            };
            out.insert(f.to_owned(), v);
        }
        ok(json!({"user": Value::Object(out)}))
    }

    pub(super) fn creator_info(&mut self, ctx: &Ctx<'_>) -> Answer {
        let (token, tok) = self.authenticate(ctx)?;
        Self::require_scope(&tok, &["video.publish"])?;
        self.rate_limit(&token, &tok, "/v2/post/publish/creator_info/query/")?;
        let user = self.user(&tok.open_id).clone();
        let c = &user.creator;
        let data = json!({
            "creator_avatar_url": c.avatar_url,
            "creator_username": c.username,
            "creator_nickname": c.nickname,
            "privacy_level_options": c.privacy_level_options,
            "comment_disabled": c.comment_disabled,
            "duet_disabled": c.duet_disabled,
            "stitch_disabled": c.stitch_disabled,
            "max_video_post_duration_sec": c.max_video_post_duration_sec,
        });
        // The creator cannot post now: HTTP 200 with the code, as the reference documents.
        let blocked = user
            .block
            .map(|b| {
                (
                    b.code(),
                    "The creator cannot make more posts at this moment.",
                )
            })
            .or_else(|| {
                self.cap_reached(&user.open_id).then_some((
                    "reached_active_user_cap",
                    "The daily quota of active publishing users of this client is reached.",
                ))
            })
            .or_else(|| {
                self.daily_cap_reached(&user.open_id).then_some((
                    "spam_risk_too_many_posts",
                    "The creator reached the daily post cap.",
                ))
            });
        if let Some((code, message)) = blocked {
            return Ok(Reply::json(200, envelope(json!({}), code, message)));
        }
        ok(data)
    }
}
