//! Instagram content publishing: containers and their status machine, `media_publish`, the quota,
//! listings, the `/ig-api-upload` host (<https://developers.facebook.com/docs/instagram-platform/content-publishing/>).

use serde_json::{Map, Value, json};

use super::auth::TokenRec;
use super::errors::{Answer, Fail, GraphErr, invalid_param, missing_param, no_object};
use super::fields::{fb_time, obj, select};
use super::nodes::IG_MEDIA_FIELDS;
use super::records::{Container, IgMedia, TokenVia};
use super::request::{Ctx, json_scalar};
use super::state::State;
use crate::util::{FNV_OFFSET, fnv1a};

impl State {
    pub(super) fn create_container(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        let rec = self.ig_token(ctx, ig, "POST")?;
        if !self.has_scope(&rec.user_id, "instagram_content_publish") {
            return Err(GraphErr::new(
                10,
                None,
                "(#10) Application does not have permission for this action",
            )
            .into());
        }
        let is_item = ctx.flag("is_carousel_item") == Some(true);
        let resumable = ctx.p("upload_type") == Some("resumable");
        let image_url = ctx.p("image_url").map(str::to_owned);
        let video_url = ctx.p("video_url").map(str::to_owned);
        let caption = ctx.p("caption").map(str::to_owned);
        let media_type = ctx.p("media_type").map(str::to_ascii_uppercase);
        let (kind, product) = match media_type.as_deref() {
            None | Some("IMAGE") => (Kind::Image, Product::Feed),
            Some("VIDEO") if is_item => (Kind::Video, Product::Feed),
            Some("VIDEO") => {
                return Err(unsupported_media_type(
                    "The VIDEO media type is no longer supported for single feed videos; use REELS",
                )
                .into());
            }
            Some("REELS") => (Kind::Video, Product::Reels),
            Some("STORIES") if image_url.is_some() => (Kind::Image, Product::Story),
            Some("STORIES") => (Kind::Video, Product::Story),
            Some("CAROUSEL") if !is_item => (Kind::Carousel, Product::Feed),
            Some(other) => {
                return Err(unsupported_media_type(&format!(
                    "media_type {other} is not supported here"
                ))
                .into());
            }
        };
        if is_item && product != Product::Feed {
            return Err(
                unsupported_media_type("Reels and stories cannot be carousel items").into(),
            );
        }
        if is_item && caption.is_some() {
            return Err(invalid_param("Param caption is not supported on carousel items").into());
        }
        if let Some(raw) = ctx.p("collaborators") {
            if is_item || product == Product::Story {
                return Err(invalid_param("param collaborators is not allowed").into());
            }
            if list_param(raw).len() > 3 {
                return Err(
                    invalid_param("param collaborators must list at most 3 usernames").into(),
                );
            }
        }
        if let Some(c) = &caption {
            if c.chars().count() > 2_200 || count_tags(c, '#') > 30 {
                return Err(ig_error(
                    36_004,
                    2_207_010,
                    "The caption is too long.",
                    "Caption too long",
                    "The caption can have at most 2200 characters and 30 hashtags.",
                )
                .into());
            }
            if count_tags(c, '@') > 20 {
                return Err(ig_error(
                    100,
                    2_207_040,
                    "(#100) Too many tags",
                    "Too many tags",
                    "Cannot use more than 20 tags per created media.",
                )
                .into());
            }
        }
        let mut children = Vec::new();
        match (kind, product) {
            (Kind::Carousel, _) => {
                let raw = ctx.p("children").ok_or_else(|| missing_param("children"))?;
                children = list_param(raw);
                if !(2..=10).contains(&children.len()) {
                    return Err(ig_error(
                        100,
                        2_207_028,
                        "(#100) Invalid number of carousel children",
                        "Carousel item count",
                        "Carousels need at least 2 photos/videos and no more than 10 photos/videos.",
                    )
                    .into());
                }
                for child in &children {
                    let Some(c) = self.containers.get(child) else {
                        return Err(ig_error(
                            24,
                            2_207_006,
                            "The media was not found",
                            "Media not found",
                            &format!("The media with id {child} cannot be found."),
                        )
                        .into());
                    };
                    if c.c.ig_user_id != ig || !c.c.is_carousel_item {
                        return Err(invalid_param(&format!(
                            "children: {child} is not a carousel item of this account"
                        ))
                        .into());
                    }
                    if self.container_status(c).0 != "FINISHED" {
                        return Err(not_ready().into());
                    }
                }
            }
            (Kind::Image, Product::Story) => {
                if video_url.is_some() {
                    return Err(invalid_param(
                        "A story takes either image_url or video_url, not both",
                    )
                    .into());
                }
            }
            (Kind::Image, _) => {
                if image_url.is_none() {
                    return Err(missing_param("image_url").into());
                }
            }
            (Kind::Video, _) => {
                if video_url.is_none() && !resumable {
                    return Err(missing_param("video_url").into());
                }
            }
        }
        if let Some(u) = &image_url
            && non_jpeg(u)
        {
            return Err(ig_error(
                36_001,
                2_207_005,
                "The image format is not supported.",
                "Unsupported image format",
                "The image format is not supported. Only JPEG images are supported.",
            )
            .into());
        }
        let resumable = resumable && kind == Kind::Video;
        let fail = self.fail_next_container.remove(ig);
        let id = format!("17{:015}", self.next());
        let label = match (kind, product) {
            (Kind::Carousel, _) => "CAROUSEL",
            (_, Product::Reels) => "REELS",
            (_, Product::Story) => "STORIES",
            (Kind::Video, _) => "VIDEO",
            (Kind::Image, _) => "IMAGE",
        };
        let now = self.now();
        self.containers.insert(
            id.clone(),
            ContainerRec {
                c: Container {
                    id: id.clone(),
                    ig_user_id: ig.to_owned(),
                    media_type: label.to_owned(),
                    status_code: "IN_PROGRESS".to_owned(),
                    caption,
                    children,
                    uploaded_bytes: 0,
                    is_carousel_item: is_item,
                    image_url,
                    video_url,
                    upload_type: ctx.p("upload_type").map(str::to_owned),
                    checksum: FNV_OFFSET,
                },
                kind,
                product,
                resumable,
                file_size: None,
                upload_done: false,
                polls: 0,
                fail,
                expired: false,
                published_media: None,
                created_at: now,
            },
        );
        self.container_order.push(id.clone());
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        if resumable {
            let v = if ctx.version.is_empty() {
                "v24.0".to_owned()
            } else {
                ctx.version.clone()
            };
            out.insert(
                "uri".into(),
                json!(format!("{}/ig-api-upload/{v}/{id}", self.base_uri)),
            );
        }
        Ok(Value::Object(out))
    }

    pub(super) fn ig_token(
        &self,
        ctx: &mut Ctx<'_>,
        ig: &str,
        method: &str,
    ) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        if !self.ig_access(&rec, ig) {
            return Err(no_object(ig, method));
        }
        self.touch(ctx, ig, "instagram")?;
        Ok(rec)
    }

    pub(super) fn container_status(&self, c: &ContainerRec) -> (&'static str, Option<String>) {
        if c.published_media.is_some() {
            return ("PUBLISHED", None);
        }
        if c.expired || self.now() - c.created_at >= 86_400 {
            return ("EXPIRED", None);
        }
        if c.resumable && !c.upload_done {
            return ("IN_PROGRESS", None);
        }
        if c.kind == Kind::Carousel {
            for child in &c.c.children {
                if let Some(ch) = self.containers.get(child) {
                    let (s, text) = self.container_status(ch);
                    if s == "ERROR" {
                        return ("ERROR", text);
                    }
                    if s != "FINISHED" {
                        return ("IN_PROGRESS", None);
                    }
                }
            }
        }
        let needed = match c.kind {
            Kind::Video => self.config.container_polls,
            Kind::Image | Kind::Carousel => self.config.image_container_polls,
        };
        if c.polls < needed {
            return ("IN_PROGRESS", None);
        }
        match &c.fail {
            Some(text) => ("ERROR", Some(text.clone())),
            None => ("FINISHED", None),
        }
    }

    pub(super) fn media_publish(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.media_publish_calls += 1;
        let rec = self.ig_token(ctx, ig, "POST")?;
        if !self.has_scope(&rec.user_id, "instagram_content_publish") {
            return Err(GraphErr::new(
                10,
                None,
                "(#10) Application does not have permission for this action",
            )
            .into());
        }
        let creation_id = ctx
            .p("creation_id")
            .ok_or_else(|| missing_param("creation_id"))?
            .to_owned();
        let Some(c) = self
            .containers
            .get(&creation_id)
            .filter(|c| c.c.ig_user_id == ig)
            .cloned()
        else {
            return Err(ig_error(
                24,
                2_207_006,
                "The media was not found",
                "Media not found",
                &format!("The media with id {creation_id} cannot be found."),
            )
            .into());
        };
        if c.c.is_carousel_item {
            return Err(invalid_param(
                "A carousel item cannot be published on its own; publish its carousel container",
            )
            .into());
        }
        match self.container_status(&c).0 {
            "FINISHED" => {}
            "PUBLISHED" => {
                return Err(invalid_param("The media container has already been published").into());
            }
            "EXPIRED" => {
                return Err(ig_error(
                    -2,
                    2_207_020,
                    "The media you are trying to access has expired. Please try to upload again.",
                    "Media expired",
                    "The media you are trying to access has expired. Please try to upload again.",
                )
                .into());
            }
            _ => return Err(not_ready().into()),
        }
        if self.ig_quota_usage(ig) >= self.config.quota_total {
            return Err(ig_error(
                9,
                2_207_042,
                "Application request limit reached",
                "Max. publish limit reached",
                "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
            )
            .into());
        }
        let now = self.now();
        let media_id = format!("18{:015}", self.next());
        let sc = shortcode(&media_id);
        let username = self
            .igs
            .get(ig)
            .map(|r| r.username.clone())
            .unwrap_or_default();
        let (media_type, product, permalink) = match (c.kind, c.product) {
            (_, Product::Story) => (
                if c.kind == Kind::Image {
                    "IMAGE"
                } else {
                    "VIDEO"
                },
                "STORY",
                format!("https://www.instagram.com/stories/{username}/{media_id}/"),
            ),
            (_, Product::Reels) => (
                "VIDEO",
                "REELS",
                format!("https://www.instagram.com/reel/{sc}/"),
            ),
            (Kind::Carousel, _) => (
                "CAROUSEL_ALBUM",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
            (Kind::Video, _) => (
                "VIDEO",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
            (Kind::Image, _) => (
                "IMAGE",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
        };
        self.media.push(IgMediaRec {
            ig_user_id: ig.to_owned(),
            media: IgMedia {
                id: media_id.clone(),
                container_id: creation_id.clone(),
                caption: c.c.caption.clone(),
                media_type: media_type.to_owned(),
                media_product_type: product.to_owned(),
                permalink,
                timestamp: now,
            },
        });
        if let Some(m) = self.containers.get_mut(&creation_id) {
            m.published_media = Some(media_id.clone());
        }
        if let Some(r) = self.igs.get_mut(ig) {
            r.publishes.push(now);
        }
        ctx.committed = true;
        Ok(json!({ "id": media_id }))
    }

    fn ig_quota_usage(&self, ig: &str) -> u32 {
        let now = self.now();
        self.igs.get(ig).map_or(0, |r| {
            let recent = r.publishes.iter().filter(|t| now - **t < 86_400).count();
            r.quota_base
                .saturating_add(u32::try_from(recent).unwrap_or(u32::MAX))
        })
    }

    pub(super) fn publishing_limit(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.ig_token(ctx, ig, "GET")?;
        let fields = ctx.fields();
        let want = |name: &str| {
            fields
                .as_ref()
                .is_none_or(|f| f.is_empty() || f.iter().any(|s| s.name == name))
        };
        let mut row = Map::new();
        if want("quota_usage") {
            row.insert("quota_usage".into(), json!(self.ig_quota_usage(ig)));
        }
        if fields
            .as_ref()
            .is_some_and(|f| f.iter().any(|s| s.name == "config"))
        {
            row.insert(
                "config".into(),
                json!({"quota_total": self.config.quota_total, "quota_duration": 86_400}),
            );
        }
        Ok(json!({ "data": [Value::Object(row)] }))
    }

    pub(super) fn list_media(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.ig_token(ctx, ig, "GET")?;
        let fields = ctx.fields();
        let username = self
            .igs
            .get(ig)
            .map(|r| r.username.clone())
            .unwrap_or_default();
        let mut items = Vec::new();
        for m in self.media.iter().rev().filter(|m| m.ig_user_id == ig) {
            let mut full = obj(json!({
                "id": m.media.id,
                "caption": m.media.caption,
                "media_type": m.media.media_type,
                "media_product_type": m.media.media_product_type,
                "permalink": m.media.permalink,
                "timestamp": fb_time(m.media.timestamp),
                "username": username,
                "shortcode": shortcode(&m.media.id),
                "like_count": 0,
                "comments_count": 0,
            }));
            full.retain(|_, x| !x.is_null());
            items.push(select(
                &full,
                fields.as_deref(),
                &["id"],
                IG_MEDIA_FIELDS,
                "IGMedia",
            )?);
        }
        Ok(self.paginate(ctx, &format!("{ig}/media"), items))
    }

    /// `POST /ig-api-upload/[{version}/]{container-id}` on the rupload host.
    pub(super) fn rupload(&mut self, ctx: &mut Ctx<'_>, rest: &[String]) -> Answer {
        if ctx.method != "POST" {
            return Err(Fail::Unmatched);
        }
        let [id] = rest else {
            return Err(Fail::Unmatched);
        };
        let not_authorized = || {
            rupload_err(
                "NotAuthorizedError",
                "User not authorized to perform this request",
            )
        };
        let token = match ctx.via {
            TokenVia::OAuthHeader | TokenVia::BearerHeader => ctx.token.clone(),
            _ => None,
        };
        let Some(token) = token else {
            return Err(not_authorized());
        };
        let Some(rec) = self.tokens.get(&token).cloned() else {
            return Err(not_authorized());
        };
        if self.token_problem(&rec).is_some() {
            return Err(not_authorized());
        }
        let Some(c) = self.containers.get(id).cloned() else {
            return Err(rupload_err(
                "InvalidRequestError",
                format!("Invalid container id {id}"),
            ));
        };
        if !self.ig_access(&rec, &c.c.ig_user_id) {
            return Err(not_authorized());
        }
        if !c.resumable {
            return Err(rupload_err(
                "InvalidRequestError",
                "The container was not created with upload_type=resumable",
            ));
        }
        if c.published_media.is_some() || c.expired {
            return Err(rupload_err(
                "InvalidRequestError",
                "The container no longer accepts uploads",
            ));
        }
        if let Some(url) = ctx.header("file_url") {
            if let Some(m) = self.containers.get_mut(id) {
                m.upload_done = true;
                m.c.video_url = Some(url);
            }
            ctx.committed = true;
            return Ok(json!({"success": true, "message": "Upload successful."}));
        }
        let offset: u64 = ctx
            .header("offset")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| rupload_err("InvalidRequestError", "The offset header is required"))?;
        let size: u64 = ctx
            .header("file_size")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| {
                rupload_err("InvalidRequestError", "The file_size header is required")
            })?;
        if c.file_size.is_some_and(|s| s != size) {
            return Err(rupload_err(
                "InvalidRequestError",
                format!(
                    "file_size {size} differs from the {} given before",
                    c.file_size.unwrap_or(0)
                ),
            ));
        }
        if offset != c.c.uploaded_bytes {
            return Err(rupload_err(
                "InvalidRequestError",
                format!(
                    "Invalid offset {offset}: {} bytes have been received; resume from offset {}",
                    c.c.uploaded_bytes, c.c.uploaded_bytes
                ),
            ));
        }
        let body_len = ctx.req.body.len() as u64;
        if offset + body_len > size {
            return Err(rupload_err(
                "InvalidRequestError",
                format!("The body runs past file_size {size}"),
            ));
        }
        if let Some(m) = self.containers.get_mut(id) {
            m.c.uploaded_bytes += body_len;
            m.c.checksum = fnv1a(m.c.checksum, &ctx.req.body);
            m.file_size = Some(size);
            m.upload_done = m.c.uploaded_bytes == size;
        }
        ctx.committed = true;
        Ok(json!({"success": true, "message": "Upload successful."}))
    }

    pub(super) fn public_container(&self, c: &ContainerRec) -> Container {
        let mut out = c.c.clone();
        out.status_code = self.container_status(c).0.to_owned();
        out
    }
}

fn unsupported_media_type(detail: &str) -> GraphErr {
    ig_error(
        100,
        2_207_023,
        &format!("(#100) {detail}"),
        "Unknown media type",
        "The media type entered is not one of the expected media types.",
    )
}

fn ig_error(code: i64, subcode: i64, message: &str, title: &str, user_msg: &str) -> GraphErr {
    GraphErr::new(code, Some(subcode), message).user(title, user_msg)
}

pub(super) fn list_param(raw: &str) -> Vec<String> {
    if raw.trim_start().starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw)
    {
        return items.iter().map(json_scalar).collect();
    }
    raw.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn count_tags(caption: &str, mark: char) -> usize {
    let chars: Vec<char> = caption.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            **c == mark
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_' || *n == '.')
        })
        .count()
}

fn not_ready() -> GraphErr {
    ig_error(
        9007,
        2_207_027,
        "Media ID is not available",
        "Media not ready for publishing",
        "The media is not ready for publishing, please wait for a moment",
    )
}

fn non_jpeg(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let Some((_, ext)) = path.rsplit_once('.') else {
        return false;
    };
    if ext.contains('/') {
        return false;
    }
    matches!(
        ext,
        "png"
            | "gif"
            | "webp"
            | "heic"
            | "heif"
            | "bmp"
            | "tif"
            | "tiff"
            | "svg"
            | "mpo"
            | "jps"
            | "avif"
    )
}

pub(super) fn shortcode(id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut h = fnv1a(FNV_OFFSET, id.as_bytes());
    let mut s = String::from("C");
    for _ in 0..10 {
        s.push(char::from(ALPHABET[(h % 64) as usize]));
        h /= 64;
    }
    s
}

fn rupload_err(kind: &'static str, message: impl Into<String>) -> Fail {
    Fail::Rupload {
        status: 400,
        kind,
        message: message.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Image,
    Video,
    Carousel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Product {
    Feed,
    Reels,
    Story,
}

#[derive(Clone, Debug)]
pub(super) struct ContainerRec {
    pub(super) c: Container,
    kind: Kind,
    product: Product,
    pub(super) resumable: bool,
    file_size: Option<u64>,
    pub(super) upload_done: bool,
    pub(super) polls: u32,
    fail: Option<String>,
    pub(super) expired: bool,
    published_media: Option<String>,
    created_at: i64,
}

#[derive(Clone, Debug)]
pub(super) struct IgMediaRec {
    pub(super) ig_user_id: String,
    pub(super) media: IgMedia,
}
