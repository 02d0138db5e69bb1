//! `/me`, `/me/permissions` and `/me/accounts` (the Page tokens), and the `paging.next` URLs
//! Meta builds (<https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived>).

use serde_json::{Map, Value, json};
use url::Url;

use super::auth::{TokenKind, TokenRec};
use super::errors::{Answer, GraphErr, nonexisting_field};
use super::fields::{decode_cursor, encode_cursor, select};
use super::nodes::{PAGE_FIELDS, USER_FIELDS};
use super::request::Ctx;
use super::state::{PageRec, State};

impl State {
    pub(super) fn me(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        if rec.kind == TokenKind::Page {
            let page_id = rec.page_id.clone().unwrap_or_default();
            return self.page_node(ctx, &page_id, &rec);
        }
        let name = self
            .users
            .get(&rec.user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let full = json!({"id": rec.user_id, "name": name});
        Ok(select(
            full.as_object().unwrap_or(&Map::new()),
            ctx.fields().as_deref(),
            &["name", "id"],
            USER_FIELDS,
            "User",
        )?)
    }

    fn authenticate_me(&self, ctx: &Ctx<'_>) -> Result<TokenRec, GraphErr> {
        if ctx.token.as_deref().is_some_and(|t| self.is_app_token(t)) || ctx.token.is_none() {
            return Err(GraphErr::new(
                2500,
                None,
                "An active access token must be used to query information about the current user.",
            ));
        }
        self.authenticate(ctx)
    }

    pub(super) fn me_permissions(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        if rec.kind == TokenKind::Page {
            return Err(nonexisting_field("permissions", "Page").into());
        }
        let data: Vec<Value> = self
            .users
            .get(&rec.user_id)
            .map(|u| {
                u.scopes
                    .iter()
                    .map(|(s, g)| {
                        json!({"permission": s, "status": if *g { "granted" } else { "declined" }})
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({ "data": data }))
    }

    pub(super) fn me_accounts(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        let TokenKind::User { long_lived } = rec.kind else {
            return Err(nonexisting_field("accounts", "Page").into());
        };
        let page_ids: Vec<String> = if self.has_scope(&rec.user_id, "pages_show_list") {
            self.pages
                .iter()
                .filter(|(_, p)| p.owner == rec.user_id)
                .map(|(id, _)| id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let fields = ctx.fields();
        let limit = ctx
            .p("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let start = ctx
            .p("after")
            .and_then(decode_cursor)
            .map_or(0, |i| i + 1)
            .min(page_ids.len());
        let end = (start + limit).min(page_ids.len());
        let mut data = Vec::new();
        for page_id in &page_ids[start..end] {
            let page = self.pages.get(page_id).cloned().unwrap_or_else(|| PageRec {
                name: String::new(),
                owner: String::new(),
                ig: None,
                token: String::new(),
            });
            let token = if long_lived {
                page.token.clone()
            } else {
                let exp = self.now() + 3_600;
                self.issue_page_token(&rec.user_id, page_id, exp)
            };
            let mut full = Map::new();
            full.insert("access_token".into(), json!(token));
            full.insert("category".into(), json!("Brand"));
            full.insert(
                "category_list".into(),
                json!([{"id": "1605186416478696", "name": "Brand"}]),
            );
            full.insert("name".into(), json!(page.name));
            full.insert("id".into(), json!(page_id));
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
            if let Some(ig) = &page.ig {
                let username = self.igs.get(ig).map(|r| r.username.clone());
                full.insert(
                    "instagram_business_account".into(),
                    json!({"id": ig, "username": username}),
                );
            }
            data.push(select(
                &full,
                fields.as_deref(),
                &[
                    "access_token",
                    "category",
                    "category_list",
                    "name",
                    "id",
                    "tasks",
                ],
                PAGE_FIELDS,
                "Page",
            )?);
        }
        let mut out = Map::new();
        let more = end < page_ids.len();
        out.insert("data".into(), json!(data));
        if !data.is_empty() {
            let mut paging = Map::new();
            paging.insert(
                "cursors".into(),
                json!({"before": encode_cursor(start), "after": encode_cursor(end - 1)}),
            );
            if more {
                paging.insert(
                    "next".into(),
                    json!(self.next_url(ctx, "me/accounts", limit, &encode_cursor(end - 1))),
                );
            }
            out.insert("paging".into(), Value::Object(paging));
        }
        Ok(Value::Object(out))
    }

    /// `paging.next` as Meta builds it: the same query with `after` and, like
    /// Meta, the `access_token` in the query string.
    pub(super) fn next_url(&self, ctx: &Ctx<'_>, path: &str, limit: usize, after: &str) -> String {
        let mut u = Url::parse(&format!("{}/{}/{}", self.base_uri, ctx.version, path))
            .unwrap_or_else(|_| Url::parse("http://invalid/").unwrap());
        {
            let mut q = u.query_pairs_mut();
            if let Some(t) = &ctx.token {
                q.append_pair("access_token", t);
            }
            for key in ["fields", "since", "until", "metric", "period"] {
                if let Some(v) = ctx.p(key) {
                    q.append_pair(key, v);
                }
            }
            q.append_pair("limit", &limit.to_string());
            q.append_pair("after", after);
        }
        u.to_string()
    }
}
