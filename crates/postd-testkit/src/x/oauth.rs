//! OAuth 2.0 Authorization Code Flow with PKCE: `POST /2/oauth2/token` (form-encoded;
//! `authorization_code` and `refresh_token` grants) and `POST /2/oauth2/revoke`, per
//! <https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code> and
//! <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>.
//!
//! Codes live 30 seconds and are single use, and check the S256 `code_verifier` (but codes
//! of [`XFake::issue_code_without_pkce`](super::XFake::issue_code_without_pkce), which take
//! any); access tokens live two hours; a refresh token
//! is issued only with `offline.access`. Each refresh answers a new refresh token and the
//! one sent is used up; presenting a used one again is answered with
//! [`XFakeConfig::bad_refresh_error`](super::XFakeConfig::bad_refresh_error) and, with
//! [`XFakeConfig::revoke_family_on_reuse`](super::XFakeConfig::revoke_family_on_reuse),
//! kills every token of that authorization (the reuse-detection behaviour users report;
//! X's pages state only that the refresh token is replaced).

use std::collections::HashMap;

use serde_json::json;

use super::errors::{Answer, Fail, Reply, oauth_err};
use super::request::Ctx;
use super::state::{State, TokenKind, TokenRec};

pub use crate::util::s256;

impl State {
    /// Client authentication: HTTP Basic for a confidential client (`client_id` in the body
    /// is then optional), `client_id` in the body for a public one.
    fn client(&self, ctx: &Ctx<'_>, form: &HashMap<String, String>) -> Result<(), Fail> {
        let missing = || oauth_err("invalid_client", "Missing valid authorization header");
        match ctx.basic_auth() {
            Some(Some((id, secret))) => {
                if id == self.config.client_id && secret == self.config.client_secret {
                    Ok(())
                } else {
                    Err(oauth_err("invalid_client", "Client authentication failed."))
                }
            }
            Some(None) => Err(missing()),
            None if self.config.confidential => Err(missing()),
            None => match form.get("client_id") {
                Some(id) if *id == self.config.client_id => Ok(()),
                Some(_) => Err(oauth_err("invalid_client", "Client authentication failed.")),
                None => Err(oauth_err(
                    "invalid_request",
                    "Missing required parameter [client_id].",
                )),
            },
        }
    }

    pub(super) fn token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let ct = ctx.header("content-type").unwrap_or_default();
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(oauth_err(
                "invalid_request",
                "The body must be application/x-www-form-urlencoded.",
            ));
        }
        let form = ctx.form();
        self.client(ctx, &form)?;
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let missing = |k: &str| {
            oauth_err(
                "invalid_request",
                &format!("Missing required parameter [{k}]."),
            )
        };
        let now = self.now();
        match p("grant_type")
            .ok_or_else(|| missing("grant_type"))?
            .as_str()
        {
            "authorization_code" => {
                let code = p("code").ok_or_else(|| missing("code"))?;
                let redirect = p("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let verifier = p("code_verifier").ok_or_else(|| missing("code_verifier"))?;
                let bad = || {
                    oauth_err(
                        "invalid_request",
                        "Value passed for the authorization code was invalid.",
                    )
                };
                let rec = self.codes.get(&code).cloned().ok_or_else(bad)?;
                if rec.used || now - rec.issued_at > self.config.code_ttl {
                    return Err(bad());
                }
                if rec.redirect_uri != redirect {
                    return Err(oauth_err(
                        "invalid_request",
                        "Value passed for the redirect uri did not match the authorization request.",
                    ));
                }
                if rec
                    .code_challenge
                    .as_ref()
                    .is_some_and(|c| s256(&verifier) != *c)
                {
                    return Err(oauth_err(
                        "invalid_request",
                        "Value passed for the code verifier did not match the code challenge.",
                    ));
                }
                if let Some(c) = self.codes.get_mut(&code) {
                    c.used = true;
                }
                ctx.committed = true;
                self.family_seq += 1;
                let family = self.family_seq;
                Ok(self.grant(&rec.user_id, &rec.scopes, family))
            }
            "refresh_token" => {
                let refresh = p("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let bad = |st: &State| {
                    oauth_err(
                        &st.config.bad_refresh_error,
                        "Value passed for the token was invalid.",
                    )
                };
                let Some(rec) = self
                    .tokens
                    .get(&refresh)
                    .filter(|t| t.kind == TokenKind::Refresh)
                    .cloned()
                else {
                    return Err(bad(self));
                };
                if rec.used && self.config.revoke_family_on_reuse {
                    // A replayed refresh token: the whole family dies (a state change).
                    self.revoke_family(rec.family);
                    ctx.committed = true;
                    return Err(bad(self));
                }
                if !rec.live(now) {
                    return Err(bad(self));
                }
                if let Some(t) = self.tokens.get_mut(&refresh) {
                    t.used = true;
                }
                ctx.committed = true;
                Ok(self.grant(&rec.user_id, &rec.scopes, rec.family))
            }
            other => Err(oauth_err(
                "unsupported_grant_type",
                &format!("The grant type {other} is not supported."),
            )),
        }
    }

    /// Issues an access token (and a refresh token with `offline.access`) and answers them.
    fn grant(&mut self, user_id: &str, scopes: &[String], family: u64) -> Reply {
        let access = self.issue(user_id, scopes, TokenKind::Access, family);
        let mut body = json!({
            "token_type": "bearer",
            "expires_in": self.config.access_ttl,
            "access_token": access,
            "scope": scopes.join(" "),
        });
        if scopes.iter().any(|s| s == "offline.access") {
            body["refresh_token"] = self
                .issue(user_id, scopes, TokenKind::Refresh, family)
                .into();
        }
        Reply::json(200, body)
    }

    /// `POST /2/oauth2/revoke`: `token` (and an optional `token_type_hint`) stops working.
    /// An unknown token is answered like a known one (RFC 7009).
    pub(super) fn revoke(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        self.client(ctx, &form)?;
        let token = form
            .get("token")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| oauth_err("invalid_request", "Missing required parameter [token]."))?;
        if let Some(t) = self.tokens.get_mut(token) {
            t.revoked = true;
            ctx.committed = true;
        }
        Ok(Reply::json(200, json!({"revoked": true})))
    }

    pub(super) fn revoke_family(&mut self, family: u64) {
        for t in self.tokens.values_mut().filter(|t| t.family == family) {
            t.revoked = true;
        }
    }

    pub(super) fn issue(
        &mut self,
        user_id: &str,
        scopes: &[String],
        kind: TokenKind,
        family: u64,
    ) -> String {
        let (tag, ttl) = match kind {
            TokenKind::Access => ("at", Some(self.config.access_ttl)),
            TokenKind::Refresh => ("rt", self.config.refresh_ttl),
        };
        let token = match self.canaries.get(&family).cloned() {
            Some(canary) => format!("{canary}{}", self.new_token(tag)),
            None => self.new_token(tag),
        };
        let expires_at = ttl.map(|t| self.now() + t);
        self.tokens.insert(
            token.clone(),
            TokenRec {
                user_id: user_id.to_owned(),
                scopes: scopes.to_vec(),
                expires_at,
                revoked: false,
                used: false,
                kind,
                family,
            },
        );
        token
    }
}
