//! `GET /{id}`: Pages, users, Instagram accounts, containers and media, posts, videos and
//! photos, each answering the fields its node type has.

use serde_json::{Map, Value, json};

use super::auth::{PageAccess, TokenKind, TokenRec};
use super::errors::{Answer, no_object};
use super::fields::{fb_time, obj, select};
use super::instagram::shortcode;
use super::records::FbPost;
use super::request::Ctx;
use super::state::{PageRec, State};

impl State {
    pub(super) fn node(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Answer {
        let rec = self.authenticate(ctx)?;
        let fields = ctx.fields();
        if self.pages.contains_key(id) {
            return self.page_node(ctx, id, &rec);
        }
        if let Some(ig) = self.igs.get(id).cloned() {
            if !self.ig_access(&rec, id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, id, "instagram")?;
            let media_count = self.media.iter().filter(|m| m.ig_user_id == id).count();
            let full = json!({
                "id": id,
                "ig_id": id,
                "username": ig.username,
                "name": ig.username,
                "followers_count": 1234,
                "follows_count": 56,
                "media_count": media_count,
            });
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["id"],
                IG_USER_FIELDS,
                "User",
            )?);
        }
        if let Some(c) = self.containers.get(id).cloned() {
            if !self.ig_access(&rec, &c.c.ig_user_id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &c.c.ig_user_id, "instagram")?;
            let polling = ctx.wants_field("status_code") || ctx.wants_field("status");
            let (code, text) = self.container_status(&c);
            if polling
                && code == "IN_PROGRESS"
                && (!c.resumable || c.upload_done)
                && let Some(m) = self.containers.get_mut(id)
            {
                m.polls += 1;
            }
            let status = match code {
                "IN_PROGRESS" if c.resumable && !c.upload_done => {
                    "In Progress: Waiting for the video bytes to be uploaded.".to_owned()
                }
                "IN_PROGRESS" => "In Progress: Media is still being processed.".to_owned(),
                "FINISHED" => {
                    "Finished: Media has been uploaded and it is ready to be published.".to_owned()
                }
                "PUBLISHED" => "Published: Media has been successfully published.".to_owned(),
                "EXPIRED" => "Expired: Media was not published within 24 hours.".to_owned(),
                _ => text.unwrap_or_else(|| "Error: Media upload has failed".to_owned()),
            };
            let full = json!({"id": id, "status_code": code, "status": status});
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["id"],
                CONTAINER_FIELDS,
                "ShadowIGMediaBuilder",
            )?);
        }
        if let Some(m) = self.media.iter().find(|m| m.media.id == id).cloned() {
            if !self.ig_access(&rec, &m.ig_user_id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &m.ig_user_id, "instagram")?;
            let username = self
                .igs
                .get(&m.ig_user_id)
                .map(|r| r.username.clone())
                .unwrap_or_default();
            let full = json!({
                "id": m.media.id,
                "ig_id": m.media.id,
                "caption": m.media.caption,
                "media_type": m.media.media_type,
                "media_product_type": m.media.media_product_type,
                "permalink": m.media.permalink,
                "timestamp": fb_time(m.media.timestamp),
                "username": username,
                "shortcode": shortcode(&m.media.id),
                "like_count": 0,
                "comments_count": 0,
                "owner": {"id": m.ig_user_id},
            });
            let mut full = obj(full);
            if m.media.caption.is_none() {
                full.remove("caption");
            }
            return Ok(select(
                &full,
                fields.as_deref(),
                &["id"],
                IG_MEDIA_FIELDS,
                "IGMedia",
            )?);
        }
        if let Some(page_id) = self.page_of_post(id) {
            if self.page_access(&rec, &page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &page_id, "pages")?;
            let p = self.public_post(id).unwrap_or_else(|| FbPost {
                id: id.to_owned(),
                message: None,
                link: None,
                published: false,
                scheduled_publish_time: None,
                attached_media: Vec::new(),
                created_time: 0,
            });
            return Ok(select(
                &self.post_json(&page_id, &p),
                fields.as_deref(),
                &["created_time", "message", "id"],
                POST_FIELDS,
                "Post",
            )?);
        }
        if let Some(v) = self.videos.iter().find(|v| v.video.id == id).cloned() {
            if self.page_access(&rec, &v.page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &v.page_id, "pages")?;
            let polling = ctx.wants_field("status");
            let processing = v.polls < self.config.video_polls;
            if polling
                && processing
                && let Some(m) = self.videos.iter_mut().find(|x| x.video.id == id)
            {
                m.polls += 1;
            }
            let publish_status = if v.video.published {
                "published"
            } else {
                "not_published"
            };
            let status = if processing {
                json!({
                    "video_status": "processing",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "in_progress"},
                    "publishing_phase": {"status": "not_started"},
                })
            } else if v.fail {
                json!({
                    "video_status": "error",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "error", "errors": [{"code": 1_363_008, "message": "The video could not be processed."}]},
                    "publishing_phase": {"status": "not_started"},
                })
            } else {
                json!({
                    "video_status": "ready",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "complete"},
                    "publishing_phase": {"status": "complete", "publish_status": publish_status},
                })
            };
            let mut full = obj(json!({
                "id": v.video.id,
                "title": v.video.title,
                "description": v.video.description,
                "created_time": fb_time(v.created_time),
                "updated_time": fb_time(v.created_time),
                "published": v.video.published,
                "status": status,
                "permalink_url": format!("/{}/videos/{}/", v.page_id, v.video.id),
            }));
            full.retain(|_, x| !x.is_null());
            if let Some(t) = v.scheduled_publish_time {
                full.insert("scheduled_publish_time".into(), json!(t));
            }
            return Ok(select(
                &full,
                fields.as_deref(),
                &["updated_time", "description", "id"],
                VIDEO_FIELDS,
                "Video",
            )?);
        }
        if let Some(ph) = self.photos.iter().find(|p| p.photo.id == id).cloned() {
            if self.page_access(&rec, &ph.page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &ph.page_id, "pages")?;
            let mut full = obj(json!({
                "id": ph.photo.id,
                "created_time": fb_time(ph.created_time),
                "name": ph.photo.caption,
                "link": format!("https://www.facebook.com/photo.php?fbid={}", ph.photo.id),
                "page_story_id": ph.photo.post_id,
            }));
            full.retain(|_, x| !x.is_null());
            return Ok(select(
                &full,
                fields.as_deref(),
                &["created_time", "name", "id"],
                PHOTO_FIELDS,
                "Photo",
            )?);
        }
        if let Some(u) = self.users.get(id)
            && rec.user_id == id
            && rec.kind != TokenKind::Page
        {
            let full = json!({"id": id, "name": u.name});
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["name", "id"],
                USER_FIELDS,
                "User",
            )?);
        }
        Err(no_object(id, "GET").into())
    }

    pub(super) fn page_node(&mut self, ctx: &mut Ctx<'_>, id: &str, rec: &TokenRec) -> Answer {
        let Some(access) = self.page_access(rec, id) else {
            return Err(no_object(id, "GET").into());
        };
        self.touch(ctx, id, "pages")?;
        let page = self.pages.get(id).cloned().unwrap_or_else(|| PageRec {
            name: String::new(),
            owner: String::new(),
            ig: None,
            token: String::new(),
        });
        let mut full = Map::new();
        full.insert("id".into(), json!(id));
        full.insert("name".into(), json!(page.name));
        full.insert("category".into(), json!("Brand"));
        full.insert(
            "tasks".into(),
            json!([
                "ANALYZE",
                "ADVERTISE",
                "MESSAGING",
                "MODERATE",
                "CREATE_CONTENT",
                "MANAGE"
            ]),
        );
        full.insert("is_published".into(), json!(true));
        full.insert(
            "link".into(),
            json!(format!("https://www.facebook.com/{id}")),
        );
        if access == PageAccess::OwnerUser || access == PageAccess::PageToken {
            full.insert("access_token".into(), json!(page.token));
        }
        if let Some(ig) = &page.ig {
            let username = self.igs.get(ig).map(|r| r.username.clone());
            full.insert(
                "instagram_business_account".into(),
                json!({"id": ig, "username": username}),
            );
        }
        Ok(select(
            &full,
            ctx.fields().as_deref(),
            &["name", "id"],
            PAGE_FIELDS,
            "Page",
        )?)
    }

    pub(super) fn public_post(&self, id: &str) -> Option<FbPost> {
        let now = self.now();
        self.posts.iter().find(|p| p.post.id == id).map(|p| {
            let mut post = p.post.clone();
            post.published =
                post.published || post.scheduled_publish_time.is_some_and(|t| t <= now);
            post
        })
    }

    pub(super) fn post_json(&self, page_id: &str, p: &FbPost) -> Map<String, Value> {
        let suffix = p.id.split_once('_').map_or(p.id.as_str(), |(_, s)| s);
        let mut full = Map::new();
        full.insert("id".into(), json!(p.id));
        if let Some(m) = &p.message {
            full.insert("message".into(), json!(m));
        }
        if let Some(l) = &p.link {
            full.insert("link".into(), json!(l));
        }
        full.insert("created_time".into(), json!(fb_time(p.created_time)));
        full.insert("updated_time".into(), json!(fb_time(p.created_time)));
        full.insert(
            "permalink_url".into(),
            json!(format!("https://www.facebook.com/{page_id}/posts/{suffix}")),
        );
        full.insert("is_published".into(), json!(p.published));
        if let Some(t) = p.scheduled_publish_time {
            full.insert("scheduled_publish_time".into(), json!(t));
        }
        full
    }
}

pub(super) const USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "first_name",
    "last_name",
    "middle_name",
    "short_name",
    "picture",
    "accounts",
    "permissions",
];

pub(super) const PAGE_FIELDS: &[&str] = &[
    "id",
    "name",
    "access_token",
    "category",
    "category_list",
    "tasks",
    "instagram_business_account",
    "connected_instagram_account",
    "picture",
    "link",
    "username",
    "fan_count",
    "followers_count",
    "about",
    "is_published",
    "verification_status",
    "cover",
];

const CONTAINER_FIELDS: &[&str] = &["id", "status_code", "status", "copyright_check_status"];

const IG_USER_FIELDS: &[&str] = &[
    "id",
    "ig_id",
    "username",
    "name",
    "biography",
    "website",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
];

pub(super) const IG_MEDIA_FIELDS: &[&str] = &[
    "id",
    "ig_id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "timestamp",
    "username",
    "shortcode",
    "thumbnail_url",
    "like_count",
    "comments_count",
    "is_comment_enabled",
    "is_shared_to_feed",
    "owner",
    "children",
    "alt_text",
];

pub(super) const POST_FIELDS: &[&str] = &[
    "id",
    "message",
    "created_time",
    "updated_time",
    "permalink_url",
    "is_published",
    "scheduled_publish_time",
    "attachments",
    "full_picture",
    "status_type",
    "from",
    "story",
    "privacy",
    "shares",
    "link",
];

pub(super) const VIDEO_FIELDS: &[&str] = &[
    "id",
    "title",
    "description",
    "created_time",
    "updated_time",
    "status",
    "published",
    "permalink_url",
    "length",
    "source",
    "picture",
    "post_id",
    "scheduled_publish_time",
];

const PHOTO_FIELDS: &[&str] = &[
    "id",
    "created_time",
    "name",
    "link",
    "images",
    "picture",
    "album",
    "page_story_id",
    "height",
    "width",
];
