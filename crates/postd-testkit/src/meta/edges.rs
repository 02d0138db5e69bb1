//! `/{id}/{edge}`: the edge dispatch and the Page edges `/feed`, `/photos` and `/videos` with
//! their listings (<https://developers.facebook.com/docs/pages-api/posts>).

use serde_json::{Map, Value, json};

use super::auth::{PageAccess, TokenKind, TokenRec};
use super::errors::{
    Answer, Fail, GraphErr, PAGE_POST_PERMISSION, invalid_param, no_object, nonexisting_field,
};
use super::fields::{decode_cursor, encode_cursor, fb_time, obj, parse_time, select};
use super::nodes::{POST_FIELDS, VIDEO_FIELDS};
use super::records::{FbPhoto, FbPost, FbVideo};
use super::request::Ctx;
use super::state::State;

impl State {
    pub(super) fn edge(&mut self, ctx: &mut Ctx<'_>, id: &str, edge: &str) -> Answer {
        let method = ctx.method.clone();
        let m = method.as_str();
        if self.pages.contains_key(id) {
            return match (m, edge) {
                ("POST", "feed") => self.post_feed(ctx, id),
                ("GET", "feed" | "posts" | "published_posts") => self.list_posts(ctx, id, false),
                ("GET", "scheduled_posts") => self.list_posts(ctx, id, true),
                ("POST", "photos") => self.post_photo(ctx, id),
                ("POST", "videos") => self.post_video(ctx, id),
                ("GET", "videos") => self.list_videos(ctx, id),
                ("GET", "insights") => self.page_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.igs.contains_key(id) {
            return match (m, edge) {
                ("POST", "media") => self.create_container(ctx, id),
                ("GET", "media") => self.list_media(ctx, id),
                ("POST", "media_publish") => self.media_publish(ctx, id),
                ("GET", "content_publishing_limit") => self.publishing_limit(ctx, id),
                ("GET", "insights") => self.ig_user_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.media.iter().any(|r| r.media.id == id) {
            return match (m, edge) {
                ("GET", "insights") => self.ig_media_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.posts.iter().any(|p| p.post.id == id) {
            return match (m, edge) {
                ("GET", "insights") => self.post_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if let Some(v) = self.videos.iter().find(|v| v.video.id == id).cloned() {
            return match (m, edge) {
                ("GET", "video_insights") => self.video_insights(ctx, id),
                ("GET", "insights") => {
                    let rec = self.authenticate(ctx)?;
                    if self.page_access(&rec, &v.page_id).is_none() {
                        return Err(no_object(id, m).into());
                    }
                    Err(nonexisting_field("insights", "Video").into())
                }
                _ => Err(Fail::Unmatched),
            };
        }
        if self.containers.contains_key(id) && edge == "insights" {
            self.authenticate(ctx)?;
            return Err(nonexisting_field("insights", "ShadowIGMediaBuilder").into());
        }
        if KNOWN_EDGES.contains(&edge) {
            self.authenticate(ctx)?;
            return Err(no_object(id, m).into());
        }
        Err(Fail::Unmatched)
    }

    fn post_feed(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, unpublished)?;
        let message = ctx.p("message").map(str::to_owned);
        let link = ctx.p("link").map(str::to_owned);
        let attached = ctx.attached_media.clone();
        if message.is_none() && link.is_none() && attached.is_empty() {
            return Err(invalid_param("Missing message or attachment").into());
        }
        let sched = self.schedule(ctx, unpublished)?;
        for (i, fbid) in attached.iter().enumerate() {
            let ok = self
                .photos
                .iter()
                .any(|p| p.page_id == page_id && p.photo.id == *fbid && !p.photo.published);
            if !ok {
                return Err(invalid_param(&format!(
                    "attached_media[{i}]: media_fbid {fbid} is not an unpublished photo of this Page"
                ))
                .into());
            }
        }
        let now = self.now();
        if message.is_some() {
            let window = self.duplicate_window;
            let dup = self.posts.iter().any(|p| {
                p.page_id == page_id
                    && p.post.message == message
                    && p.post.link == link
                    && p.post.attached_media == attached
                    && now - p.post.created_time < window
            });
            if dup {
                return Err(GraphErr::new(506, None, "(#506) Duplicate status message").into());
            }
        }
        let n = self.next();
        let id = format!("{page_id}_{n}");
        self.posts.push(PostRec {
            page_id: page_id.to_owned(),
            post: FbPost {
                id: id.clone(),
                message,
                link,
                published: !unpublished,
                scheduled_publish_time: sched,
                attached_media: attached,
                created_time: now,
            },
        });
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        if ctx.wants_field("permalink_url") {
            out.insert(
                "permalink_url".into(),
                json!(format!("https://www.facebook.com/{page_id}/posts/{n}")),
            );
        }
        Ok(Value::Object(out))
    }

    /// The page token a publishing call needs, or Meta's answer to the wrong token.
    fn publishing_token(
        &self,
        ctx: &mut Ctx<'_>,
        page_id: &str,
        unpublished: bool,
    ) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        match self.page_access(&rec, page_id) {
            Some(PageAccess::PageToken) => {}
            Some(PageAccess::OwnerUser) => {
                return Err(GraphErr::new(
                    200,
                    None,
                    if unpublished {
                        "(#200) Unpublished posts must be posted to a page as the page itself."
                    } else {
                        PAGE_POST_PERMISSION
                    },
                ));
            }
            None if rec.kind == TokenKind::Page => {
                return Err(GraphErr::new(200, None, PAGE_POST_PERMISSION));
            }
            None => return Err(no_object(page_id, "POST")),
        }
        self.touch(ctx, page_id, "pages")?;
        if !self.has_scope(&rec.user_id, "pages_manage_posts") {
            return Err(GraphErr::new(200, None, PAGE_POST_PERMISSION));
        }
        Ok(rec)
    }

    /// A `scheduled_publish_time` inside Meta's documented window (10 minutes to 30 days ahead).
    fn schedule(&self, ctx: &Ctx<'_>, unpublished: bool) -> Result<Option<i64>, GraphErr> {
        let Some(raw) = ctx.p("scheduled_publish_time") else {
            return Ok(None);
        };
        let now = self.now();
        let t = parse_time(raw, now)
            .ok_or_else(|| invalid_param("The specified scheduled publish time is invalid."))?;
        if !unpublished {
            return Err(invalid_param(
                "You cannot specify a scheduled publish time on a published post",
            ));
        }
        if t < now + 600 {
            return Err(invalid_param(
                "scheduled_publish_time must be at least 10 minutes in the future",
            ));
        }
        if t > now + 30 * 86_400 {
            return Err(invalid_param(
                "The specified scheduled publish time is invalid. It must be between 10 minutes and 30 days from the time of the API request.",
            ));
        }
        Ok(Some(t))
    }

    fn post_photo(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, false)?;
        let url = ctx.p("url").map(str::to_owned);
        let source = ctx
            .files
            .iter()
            .find(|(n, _)| n == "source")
            .map(|(_, len)| *len);
        if url.is_none() && source.is_none() {
            return Err(GraphErr::new(324, None, "(#324) Requires upload file").into());
        }
        let sched = self.schedule(ctx, unpublished)?;
        let caption = ctx
            .p("caption")
            .or_else(|| ctx.p("message"))
            .map(str::to_owned);
        let now = self.now();
        let photo_id = self.next().to_string();
        let post_id = if !unpublished || sched.is_some() {
            let n = self.next();
            let post_id = format!("{page_id}_{n}");
            self.posts.push(PostRec {
                page_id: page_id.to_owned(),
                post: FbPost {
                    id: post_id.clone(),
                    message: caption.clone(),
                    link: None,
                    published: !unpublished,
                    scheduled_publish_time: sched,
                    attached_media: vec![photo_id.clone()],
                    created_time: now,
                },
            });
            Some(post_id)
        } else {
            None
        };
        self.photos.push(PhotoRec {
            page_id: page_id.to_owned(),
            photo: FbPhoto {
                id: photo_id.clone(),
                published: !unpublished,
                url,
                uploaded_bytes: source.unwrap_or(0),
                caption,
                temporary: ctx.flag("temporary") == Some(true),
                post_id: post_id.clone(),
            },
            created_time: now,
        });
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(photo_id));
        if let Some(p) = post_id.filter(|_| !unpublished) {
            out.insert("post_id".into(), json!(p));
        }
        Ok(Value::Object(out))
    }

    fn post_video(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        if ctx.p("upload_phase").is_some() {
            // The legacy chunked protocol (start/transfer/finish) is not modelled.
            return Err(Fail::Unmatched);
        }
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, false)?;
        let file_url = ctx.p("file_url").map(str::to_owned);
        let handle = ctx.p("fbuploader_video_file_chunk").map(str::to_owned);
        let source = ctx
            .files
            .iter()
            .find(|(n, _)| n == "source")
            .map(|(_, len)| *len as u64);
        let given = [file_url.is_some(), handle.is_some(), source.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        if given == 0 {
            return Err(invalid_param(
                "Requires one of the params: file_url, fbuploader_video_file_chunk or source",
            )
            .into());
        }
        if given > 1 {
            return Err(invalid_param(
                "Only one of file_url, fbuploader_video_file_chunk or source may be given",
            )
            .into());
        }
        let mut bytes = source.unwrap_or(0);
        if let Some(h) = &handle {
            let Some(u) = self
                .uploads
                .iter()
                .find(|u| u.session.handle.as_deref() == Some(h.as_str()))
            else {
                return Err(invalid_param(
                    "Invalid fbuploader_video_file_chunk: unknown file handle",
                )
                .into());
            };
            if u.session.file_type != "video/mp4" {
                return Err(invalid_param("The file handle does not refer to a video").into());
            }
            bytes = u.session.file_length;
        }
        let sched = self.schedule(ctx, unpublished)?;
        let now = self.now();
        let id = format!("10{:013}", self.next());
        let fail = self.fail_next_video.remove(page_id);
        self.videos.push(VideoRec {
            page_id: page_id.to_owned(),
            video: FbVideo {
                id: id.clone(),
                title: ctx.p("title").map(str::to_owned),
                description: ctx.p("description").map(str::to_owned),
                upload_handle: handle,
                file_url,
                published: !unpublished,
                uploaded_bytes: bytes,
            },
            created_time: now,
            polls: 0,
            fail,
            scheduled_publish_time: sched,
        });
        ctx.committed = true;
        Ok(json!({ "id": id }))
    }

    fn list_posts(&mut self, ctx: &mut Ctx<'_>, page_id: &str, scheduled: bool) -> Answer {
        self.page_read_token(ctx, page_id)?;
        let now = self.now();
        let since = ctx.p("since").and_then(|s| parse_time(s, now));
        let until = ctx.p("until").and_then(|s| parse_time(s, now));
        let fields = ctx.fields();
        let mut items = Vec::new();
        for p in self.posts.iter().rev().filter(|p| p.page_id == page_id) {
            let Some(post) = self.public_post(&p.post.id) else {
                continue;
            };
            let wanted = if scheduled {
                !post.published && post.scheduled_publish_time.is_some()
            } else {
                post.published
            };
            if !wanted
                || since.is_some_and(|s| post.created_time < s)
                || until.is_some_and(|u| post.created_time > u)
            {
                continue;
            }
            items.push(select(
                &self.post_json(page_id, &post),
                fields.as_deref(),
                &["created_time", "message", "id"],
                POST_FIELDS,
                "Post",
            )?);
        }
        let path = format!(
            "{page_id}/{}",
            if scheduled {
                "scheduled_posts"
            } else {
                "published_posts"
            }
        );
        Ok(self.paginate(ctx, &path, items))
    }

    pub(super) fn page_read_token(
        &self,
        ctx: &mut Ctx<'_>,
        page_id: &str,
    ) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        match self.page_access(&rec, page_id) {
            Some(PageAccess::PageToken) => {}
            Some(PageAccess::OwnerUser) => return Err(page_token_required()),
            None => return Err(no_object(page_id, "GET")),
        }
        self.touch(ctx, page_id, "pages")?;
        Ok(rec)
    }

    pub(super) fn paginate(&self, ctx: &Ctx<'_>, path: &str, items: Vec<Value>) -> Value {
        let limit = ctx
            .p("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let start = ctx
            .p("after")
            .and_then(decode_cursor)
            .map_or(0, |i| i + 1)
            .min(items.len());
        let end = (start + limit).min(items.len());
        let more = end < items.len();
        let data: Vec<Value> = items[start..end].to_vec();
        let mut out = Map::new();
        let empty = data.is_empty();
        out.insert("data".into(), Value::Array(data));
        if !empty {
            let mut paging = Map::new();
            paging.insert(
                "cursors".into(),
                json!({"before": encode_cursor(start), "after": encode_cursor(end - 1)}),
            );
            if more {
                paging.insert(
                    "next".into(),
                    json!(self.next_url(ctx, path, limit, &encode_cursor(end - 1))),
                );
            }
            out.insert("paging".into(), Value::Object(paging));
        }
        Value::Object(out)
    }

    fn list_videos(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        self.page_read_token(ctx, page_id)?;
        let fields = ctx.fields();
        let mut items = Vec::new();
        for v in self.videos.iter().rev().filter(|v| v.page_id == page_id) {
            let mut full = obj(json!({
                "id": v.video.id,
                "title": v.video.title,
                "description": v.video.description,
                "created_time": fb_time(v.created_time),
                "updated_time": fb_time(v.created_time),
                "published": v.video.published,
            }));
            full.retain(|_, x| !x.is_null());
            items.push(select(
                &full,
                fields.as_deref(),
                &["updated_time", "description", "id"],
                VIDEO_FIELDS,
                "Video",
            )?);
        }
        Ok(self.paginate(ctx, &format!("{page_id}/videos"), items))
    }
}

const KNOWN_EDGES: &[&str] = &[
    "feed",
    "posts",
    "published_posts",
    "scheduled_posts",
    "photos",
    "videos",
    "insights",
    "video_insights",
    "media",
    "media_publish",
    "content_publishing_limit",
];

fn page_token_required() -> GraphErr {
    GraphErr::new(
        190,
        None,
        "(#190) This method must be called with a Page Access Token",
    )
}

#[derive(Clone, Debug)]
pub(super) struct PostRec {
    pub(super) page_id: String,
    pub(super) post: FbPost,
}

#[derive(Clone, Debug)]
pub(super) struct PhotoRec {
    pub(super) page_id: String,
    pub(super) photo: FbPhoto,
    pub(super) created_time: i64,
}

#[derive(Clone, Debug)]
pub(super) struct VideoRec {
    pub(super) page_id: String,
    pub(super) video: FbVideo,
    pub(super) created_time: i64,
    pub(super) polls: u32,
    pub(super) fail: bool,
    pub(super) scheduled_publish_time: Option<i64>,
}
