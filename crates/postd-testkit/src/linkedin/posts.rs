//! The Posts API (`/rest/posts`): create, get, find by author, batch get, partial update and
//! delete, with LinkedIn's validation (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>).

use serde_json::{Map, Value, json};
use url::Url;

use super::auth::TokenRec;
use super::errors::{
    Answer, Fail, Reply, denied, duplicate_post_error, fail, illegal, input_error, not_found,
    required, restli_422,
};
use super::little_text::{MAX_COMMENTARY_CHARS, render_little_text};
use super::media::VStatus;
use super::records::LiPost;
use super::request::Ctx;
use super::restli::{Rv, encode_key};
use super::state::{State, org_id_of};

impl State {
    pub(super) fn create_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "CREATE");
        let body = ctx.json_body()?;
        let Some(obj) = body.as_object() else {
            return Err(restli_422("", "expected a record"));
        };
        let string = |k: &str| -> Result<Option<String>, Fail> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(restli_422(
                    &format!("/{k}"),
                    &format!("{other} is not a string"),
                )),
            }
        };
        let author = string("author")?.ok_or_else(|| required("/author"))?;
        if !self.may_write_as(tok, &author) {
            return Err(denied(&label));
        }
        let commentary = string("commentary")?.unwrap_or_default();
        let visibility = string("visibility")?.ok_or_else(|| required("/visibility"))?;
        let lifecycle = string("lifecycleState")?.ok_or_else(|| required("/lifecycleState"))?;
        let distribution = obj
            .get("distribution")
            .cloned()
            .ok_or_else(|| required("/distribution"))?;
        if !["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"].contains(&visibility.as_str()) {
            return Err(restli_422(
                "/visibility",
                &format!("\"{visibility}\" is not an enum symbol"),
            ));
        }
        if visibility == "CONNECTIONS" && org_id_of(&author).is_some() {
            return Err(restli_422(
                "/visibility",
                "CONNECTIONS visibility is only available for member authors",
            ));
        }
        match lifecycle.as_str() {
            "PUBLISHED" | "DRAFT" => {}
            "PUBLISH_REQUESTED" | "PUBLISH_FAILED" => {
                return Err(restli_422(
                    "/lifecycleState",
                    &format!("{lifecycle} is not allowed when creating a post"),
                ));
            }
            _ => {
                return Err(restli_422(
                    "/lifecycleState",
                    &format!("\"{lifecycle}\" is not an enum symbol"),
                ));
            }
        }
        match distribution.get("feedDistribution") {
            Some(Value::String(f)) if f == "MAIN_FEED" || f == "NONE" => {}
            Some(Value::String(f)) => {
                return Err(restli_422(
                    "/distribution/feedDistribution",
                    &format!("\"{f}\" is not an enum symbol"),
                ));
            }
            _ => return Err(required("/distribution/feedDistribution")),
        }
        let content = obj.get("content").cloned().unwrap_or(Value::Null);
        if !content.is_null() {
            self.check_content(&author, &content)?;
        }
        let reshare_context = obj.get("reshareContext").cloned().unwrap_or(Value::Null);
        if let Some(parent) = reshare_context.get("parent") {
            let parent = parent.as_str().unwrap_or("");
            if self.post(parent).is_none_or(|p| p.deleted) {
                return Err(restli_422(
                    "/reshareContext/parent",
                    &format!("{parent} does not exist"),
                ));
            }
        }
        let now_ms = self.now_ms();
        if !commentary.trim().is_empty() && self.duplicate_window > 0 {
            let window_ms = self.duplicate_window * 1000;
            if let Some(orig) = self.posts.iter().rev().find(|p| {
                p.author == author
                    && p.commentary == commentary
                    && now_ms - p.created_ms < window_ms
            }) {
                return Err(fail(422, duplicate_post_error(&orig.urn)));
            }
        }
        self.post_seq += 1;
        let urn = format!("urn:li:share:{}", self.post_seq);
        self.posts.push(PostRec {
            urn: urn.clone(),
            author,
            commentary,
            visibility,
            published_ms: (lifecycle == "PUBLISHED").then_some(now_ms),
            lifecycle,
            distribution,
            content,
            reshare_context,
            reshare_disabled: obj
                .get("isReshareDisabledByAuthor")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            created_ms: now_ms,
            modified_ms: now_ms,
            edited: false,
            deleted: false,
        });
        self.post_creates += 1;
        ctx.committed = true;
        Ok(Reply::empty(201)
            .header("x-restli-id", &urn)
            .header("location", &format!("/rest/posts/{}", encode_key(&urn))))
    }

    fn check_content(&self, author: &str, content: &Value) -> Result<(), Fail> {
        let Some(obj) = content.as_object() else {
            return Err(restli_422("/content", "expected a record"));
        };
        if obj.len() != 1 {
            return Err(restli_422(
                "/content",
                "a union must have exactly one member",
            ));
        }
        let (kind, v) = obj.iter().next().expect("one member");
        match kind.as_str() {
            "media" => {
                let id = v
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| required("/content/media/id"))?;
                if id.starts_with("urn:li:document:") {
                    if v.get("title")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return Err(required("/content/media/title"));
                    }
                    return Err(restli_422(
                        "/content/media/id",
                        &format!(
                            "{id} does not exist (postd-testkit does not model the Documents API)"
                        ),
                    ));
                }
                self.check_asset(author, id, "/content/media/id")
            }
            "multiImage" => {
                let images = v
                    .get("images")
                    .and_then(Value::as_array)
                    .ok_or_else(|| required("/content/multiImage/images"))?;
                if !(2..=20).contains(&images.len()) {
                    return Err(restli_422(
                        "/content/multiImage/images",
                        &format!(
                            "a MultiImage post needs between 2 and 20 images, found {}",
                            images.len()
                        ),
                    ));
                }
                for (i, img) in images.iter().enumerate() {
                    let field = format!("/content/multiImage/images/{i}/id");
                    let id = img
                        .get("id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| required(&field))?;
                    if !id.starts_with("urn:li:image:") {
                        return Err(restli_422(&field, &format!("{id} is not an image URN")));
                    }
                    self.check_asset(author, id, &field)?;
                }
                Ok(())
            }
            "article" => {
                let source = v
                    .get("source")
                    .and_then(Value::as_str)
                    .ok_or_else(|| required("/content/article/source"))?;
                if Url::parse(source).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                    return Err(restli_422(
                        "/content/article/source",
                        &format!("\"{source}\" is not a valid URL"),
                    ));
                }
                if let Some(thumb) = v.get("thumbnail") {
                    let thumb = thumb.as_str().unwrap_or("");
                    if !thumb.starts_with("urn:li:image:") {
                        return Err(restli_422(
                            "/content/article/thumbnail",
                            &format!("{thumb} is not an image URN"),
                        ));
                    }
                    self.check_asset(author, thumb, "/content/article/thumbnail")?;
                }
                Ok(())
            }
            "poll" | "celebration" | "reference" => Ok(()),
            other => Err(restli_422(
                &format!("/content/{other}"),
                "unrecognized field found but not allowed",
            )),
        }
    }

    fn check_asset(&self, author: &str, id: &str, field: &str) -> Result<(), Fail> {
        let ownership = || {
            input_error(
                400,
                "INVALID_CONTENT_OWNERSHIP",
                "Content(s) you provided must be owned by post author",
                field,
            )
        };
        let not_ready = |status: &str| {
            input_error(
                400,
                "MEDIA_ASSET_NOT_READY",
                &format!("Media asset {id} is not ready for use: its status is {status}"),
                field,
            )
        };
        if id.starts_with("urn:li:image:") {
            let img = self
                .images
                .get(id)
                .ok_or_else(|| restli_422(field, &format!("{id} does not exist")))?;
            if img.owner != author {
                return Err(ownership());
            }
            if !img.uploaded {
                return Err(not_ready("WAITING_UPLOAD"));
            }
            Ok(())
        } else if id.starts_with("urn:li:video:") {
            let v = self
                .videos
                .get(id)
                .ok_or_else(|| restli_422(field, &format!("{id} does not exist")))?;
            if v.owner != author {
                return Err(ownership());
            }
            if v.status != VStatus::Available {
                return Err(not_ready(v.status.as_str()));
            }
            Ok(())
        } else {
            Err(restli_422(
                field,
                &format!("{id} is not a supported media URN"),
            ))
        }
    }

    pub(super) fn post(&self, urn: &str) -> Option<&PostRec> {
        self.posts.iter().find(|p| p.urn == urn)
    }

    pub(super) fn get_post(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "GET");
        let p = self
            .post(urn)
            .filter(|p| !p.deleted)
            .ok_or_else(|| not_found(urn))?;
        if !self.may_read_as(tok, &p.author) {
            return Err(denied(&label));
        }
        Ok(Reply::json(200, self.post_json(p)))
    }

    fn post_json(&self, p: &PostRec) -> Value {
        let stored: String = p.commentary.chars().take(MAX_COMMENTARY_CHARS).collect();
        let mut v = json!({
            "id": p.urn,
            "author": p.author,
            "commentary": stored,
            "visibility": p.visibility,
            "distribution": p.distribution,
            "lifecycleState": p.lifecycle,
            "lifecycleStateInfo": {"isEditedByAuthor": p.edited},
            "isReshareDisabledByAuthor": p.reshare_disabled,
            "createdAt": p.created_ms,
            "lastModifiedAt": p.modified_ms,
        });
        if let Some(at) = p.published_ms {
            v["publishedAt"] = json!(at);
        }
        if !p.content.is_null() {
            v["content"] = p.content.clone();
        }
        if !p.reshare_context.is_null() {
            v["reshareContext"] = p.reshare_context.clone();
        }
        v
    }

    pub(super) fn find_posts(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        if let Some(ids) = ctx.q_restli("ids")? {
            let label = ctx.label("partnerApiPostsExternal", "BATCH_GET");
            let Rv::L(items) = ids else {
                return Err(illegal("ids must be a List(...)"));
            };
            let mut results = Map::new();
            let mut statuses = Map::new();
            let mut errors = Map::new();
            for item in items {
                let urn = item.str().unwrap_or("").to_owned();
                match self.post(&urn).filter(|p| !p.deleted) {
                    Some(p) if self.may_read_as(tok, &p.author) => {
                        results.insert(urn.clone(), self.post_json(p));
                        statuses.insert(urn, json!(200));
                    }
                    Some(_) => return Err(denied(&label)),
                    None => {
                        statuses.insert(urn.clone(), json!(404));
                        errors.insert(
                            urn.clone(),
                            json!({"status": 404, "message": format!("Not Found: {urn}")}),
                        );
                    }
                }
            }
            return Ok(Reply::json(
                200,
                json!({"results": results, "statuses": statuses, "errors": errors}),
            ));
        }
        match ctx.q("q").as_deref() {
            Some("author") => {}
            _ => return Err(Fail::Unmatched),
        }
        let label = ctx.label("partnerApiPostsExternal", "FINDER-author");
        let author = ctx
            .q("author")
            .ok_or_else(|| illegal("Missing required query parameter author"))?;
        if !self.may_read_as(tok, &author) {
            return Err(denied(&label));
        }
        let (start, count) = ctx.count_param(10, 100)?;
        let by_created = match ctx.q("sortBy").as_deref() {
            None | Some("LAST_MODIFIED") => false,
            Some("CREATED") => true,
            Some(other) => return Err(illegal(format!("Invalid value for sortBy: {other}"))),
        };
        let mut mine: Vec<&PostRec> = self
            .posts
            .iter()
            .filter(|p| p.author == author && !p.deleted)
            .collect();
        mine.sort_by_key(|p| {
            std::cmp::Reverse(if by_created {
                (p.created_ms, p.urn.clone())
            } else {
                (p.modified_ms, p.urn.clone())
            })
        });
        let total = mine.len();
        let elements: Vec<Value> = mine
            .into_iter()
            .skip(start)
            .take(count)
            .map(|p| self.post_json(p))
            .collect();
        Ok(Reply::json(
            200,
            json!({
                "paging": {"start": start, "count": count, "links": [], "total": total},
                "elements": elements,
            }),
        ))
    }

    pub(super) fn delete_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "DELETE");
        let p = self.post(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_write_as(tok, &p.author) {
            return Err(denied(&label));
        }
        let now = self.now_ms();
        if let Some(p) = self.posts.iter_mut().find(|p| p.urn == urn)
            && !p.deleted
        {
            p.deleted = true;
            p.modified_ms = now;
            ctx.committed = true;
        }
        Ok(Reply::empty(204))
    }

    pub(super) fn update_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "PARTIAL_UPDATE");
        let p = self
            .post(urn)
            .filter(|p| !p.deleted)
            .ok_or_else(|| not_found(urn))?;
        if !self.may_write_as(tok, &p.author) {
            return Err(denied(&label));
        }
        let body = ctx.json_body()?;
        let set = body
            .pointer("/patch/$set")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| required("/patch/$set"))?;
        for k in set.keys() {
            if ![
                "commentary",
                "lifecycleState",
                "contentCallToActionLabel",
                "contentLandingPage",
            ]
            .contains(&k.as_str())
            {
                return Err(restli_422(
                    &format!("/patch/$set/{k}"),
                    "field cannot be updated",
                ));
            }
        }
        let now = self.now_ms();
        let p = self
            .posts
            .iter_mut()
            .find(|p| p.urn == urn)
            .expect("checked above");
        if let Some(c) = set.get("commentary").and_then(Value::as_str) {
            p.commentary = c.to_owned();
            p.edited = true;
        }
        if let Some(l) = set.get("lifecycleState").and_then(Value::as_str) {
            if l == "PUBLISHED" && p.published_ms.is_none() {
                p.published_ms = Some(now);
            }
            p.lifecycle = l.to_owned();
        }
        p.modified_ms = now;
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    pub(super) fn post_view(p: &PostRec) -> LiPost {
        LiPost {
            urn: p.urn.clone(),
            author: p.author.clone(),
            commentary: p.commentary.clone(),
            rendered: render_little_text(&p.commentary),
            visibility: p.visibility.clone(),
            lifecycle_state: p.lifecycle.clone(),
            content: p.content.clone(),
            created_at: p.created_ms,
            deleted: p.deleted,
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct PostRec {
    pub(super) urn: String,
    pub(super) author: String,
    commentary: String,
    visibility: String,
    lifecycle: String,
    distribution: Value,
    content: Value,
    reshare_context: Value,
    reshare_disabled: bool,
    pub(super) created_ms: i64,
    modified_ms: i64,
    published_ms: Option<i64>,
    edited: bool,
    pub(super) deleted: bool,
}
