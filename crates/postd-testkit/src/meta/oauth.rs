//! The OAuth endpoints: `/oauth/access_token` (authorization codes, long-lived exchange, app
//! tokens) and `debug_token` (<https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived>).

use serde_json::{Map, Value, json};

use super::auth::TokenKind;
use super::errors::{Answer, GraphErr, invalid_token, missing_param};
use super::request::Ctx;
use super::state::State;

impl State {
    pub(super) fn oauth_access_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        if ctx.p("grant_type") == Some("client_credentials") {
            self.check_client(ctx)?;
            return Ok(json!({
                "access_token": format!("{}|{}", self.config.app_id, self.config.app_secret),
                "token_type": "bearer",
            }));
        }
        self.check_client(ctx)?;
        if ctx.p("grant_type") == Some("fb_exchange_token") {
            let t = ctx
                .p("fb_exchange_token")
                .ok_or_else(|| missing_param("fb_exchange_token"))?
                .to_owned();
            let rec = self.tokens.get(&t).cloned().ok_or_else(invalid_token)?;
            if let Some(e) = self.token_problem(&rec) {
                return Err(e.into());
            }
            if !matches!(rec.kind, TokenKind::User { .. }) {
                return Err(invalid_token().into());
            }
            let (token, life) = self.issue_user_token(&rec.user_id, true);
            return Ok(json!({"access_token": token, "token_type": "bearer", "expires_in": life}));
        }
        let Some(code) = ctx.p("code").map(str::to_owned) else {
            return Err(GraphErr::new(1, None, "Missing authorization code")
                .status(400)
                .into());
        };
        let redirect = ctx
            .p("redirect_uri")
            .ok_or_else(|| GraphErr::new(100, None, "Missing redirect_uri parameter."))?
            .to_owned();
        let now = self.now();
        let Some(rec) = self.codes.get(&code).cloned() else {
            return Err(GraphErr::new(100, None, "Invalid verification code format.").into());
        };
        if rec.used {
            return Err(
                GraphErr::new(100, Some(36009), "This authorization code has been used.").into(),
            );
        }
        if now - rec.issued_at > 600 {
            return Err(
                GraphErr::new(100, Some(36007), "This authorization code has expired.").into(),
            );
        }
        if rec.redirect_uri != redirect {
            return Err(GraphErr::new(
                100,
                Some(36008),
                "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            )
            .into());
        }
        if let Some(c) = self.codes.get_mut(&code) {
            c.used = true;
        }
        let (token, life) = self.issue_user_token(&rec.user_id, false);
        Ok(json!({"access_token": token, "token_type": "bearer", "expires_in": life}))
    }

    fn check_client(&self, ctx: &Ctx<'_>) -> Result<(), GraphErr> {
        let id = ctx
            .p("client_id")
            .ok_or_else(|| missing_param("client_id"))?;
        if id != self.config.app_id {
            return Err(GraphErr::new(
                101,
                None,
                "Error validating application. Invalid application ID.",
            ));
        }
        match ctx.p("client_secret") {
            Some(s) if s == self.config.app_secret => Ok(()),
            Some(_) => Err(GraphErr::new(1, None, "Error validating client secret.").status(400)),
            None => Err(missing_param("client_secret")),
        }
    }

    pub(super) fn debug_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let Some(token) = ctx.token.as_deref() else {
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            )
            .into());
        };
        if token.contains('|') && !self.is_app_token(token) {
            return Err(GraphErr::new(190, None, "Invalid OAuth access token signature.").into());
        }
        if !self.is_app_token(token) {
            return Err(GraphErr::new(
                100,
                None,
                "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
            )
            .into());
        }
        let input = ctx
            .p("input_token")
            .ok_or_else(|| missing_param("input_token"))?
            .to_owned();
        let Some(rec) = self.tokens.get(&input).cloned() else {
            return Ok(json!({"data": {
                "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
                "is_valid": false,
                "scopes": [],
            }}));
        };
        let user = self.users.get(&rec.user_id).cloned();
        let granted: Vec<String> = user
            .as_ref()
            .map(|u| {
                u.scopes
                    .iter()
                    .filter(|(_, g)| *g)
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default();
        let page_ids: Vec<String> = self
            .pages
            .iter()
            .filter(|(_, p)| p.owner == rec.user_id)
            .map(|(id, _)| id.clone())
            .collect();
        let ig_ids: Vec<String> = page_ids
            .iter()
            .filter_map(|p| self.pages.get(p).and_then(|p| p.ig.clone()))
            .collect();
        let granular: Vec<Value> = granted
            .iter()
            .map(|s| {
                if s.starts_with("pages_") || s == "read_insights" || s == "publish_video" {
                    json!({"scope": s, "target_ids": page_ids})
                } else if s.starts_with("instagram_") {
                    json!({"scope": s, "target_ids": ig_ids})
                } else {
                    json!({"scope": s})
                }
            })
            .collect();
        let mut data = Map::new();
        data.insert("app_id".into(), json!(self.config.app_id));
        data.insert(
            "type".into(),
            json!(if rec.kind == TokenKind::Page {
                "PAGE"
            } else {
                "USER"
            }),
        );
        data.insert("application".into(), json!("POSTD Fake App"));
        data.insert(
            "data_access_expires_at".into(),
            json!(user.as_ref().map_or(0, |u| u.data_access_expires_at)),
        );
        data.insert("expires_at".into(), json!(rec.expires_at));
        data.insert("is_valid".into(), json!(self.token_problem(&rec).is_none()));
        data.insert("issued_at".into(), json!(rec.issued_at));
        data.insert("scopes".into(), json!(granted));
        data.insert("granular_scopes".into(), json!(granular));
        data.insert("user_id".into(), json!(rec.user_id));
        if let Some(p) = &rec.page_id {
            data.insert("profile_id".into(), json!(p));
        }
        if let Some(e) = self.token_problem(&rec) {
            data.insert(
                "error".into(),
                json!({"code": 190, "message": e.message, "subcode": e.subcode}),
            );
        }
        Ok(json!({ "data": Value::Object(data) }))
    }
}

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) user_id: String,
    pub(super) redirect_uri: String,
    pub(super) issued_at: i64,
    pub(super) used: bool,
}
