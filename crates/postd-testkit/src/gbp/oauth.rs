//! Google's OAuth 2.0 for web server apps: `POST /token` (form-encoded; the
//! `authorization_code` and `refresh_token` grants) and `POST /revoke`, standing in for
//! `https://oauth2.googleapis.com/token` and `https://oauth2.googleapis.com/revoke`
//! (<https://developers.google.com/identity/protocols/oauth2/web-server>,
//! <https://developers.google.com/identity/protocols/oauth2>).
//!
//! - The body is form-encoded (another `Content-Type` is `400 invalid_request`, the fake's
//!   strictness).
//! - The client authenticates with `client_id` and `client_secret` in the body, or with HTTP
//!   Basic; an unknown client is `401 invalid_client` "The OAuth client was not found.", a
//!   wrong secret `401 invalid_client` "Unauthorized".
//! - A code is single use, bound to its `redirect_uri` (`redirect_uri_mismatch`) and, when
//!   the authorization carried a `code_challenge`, to its S256 `code_verifier` ("Invalid code
//!   verifier." / "Missing code verifier."); a verifier sent for a code issued without a
//!   challenge is refused "code_verifier or verifier is not needed.", as users report.
//! - The exchange answers `access_token`, `expires_in`, `refresh_token`, `scope` and
//!   `token_type: "Bearer"` (the consent stands for `access_type=offline`).
//! - A refresh answers a new access token and **no** `refresh_token`: Google does not rotate
//!   refresh tokens, and the one sent keeps working. A revoked or expired one is `400
//!   invalid_grant` "Token has been expired or revoked.".
//! - In Testing mode ([`GbpFakeConfig::testing_mode`](super::GbpFakeConfig::testing_mode))
//!   refresh tokens expire 7 days after they were issued; past
//!   [`GbpFakeConfig::refresh_token_limit`](super::GbpFakeConfig::refresh_token_limit) live
//!   refresh tokens per user, the oldest stops working.
//! - `/revoke` takes `token` in the body or in the query (Google's example puts it in the
//!   query) and revokes the whole grant: "If the token is an access token and it has a
//!   corresponding refresh token, the refresh token will also be revoked." An unknown or
//!   dead token is `400 invalid_token` "Token expired or revoked".

use std::collections::HashMap;

use serde_json::json;

use super::errors::{Answer, Fail, Reply, oauth_err};
use super::request::Ctx;
use super::state::{Challenge, State, TokenKind, TokenRec};

pub use crate::util::s256;

impl State {
    /// Client authentication: body parameters, or HTTP Basic.
    fn client(&self, ctx: &Ctx<'_>, form: &HashMap<String, String>) -> Result<(), Fail> {
        let (id, secret) = match ctx.basic_auth() {
            Some((id, secret)) => (Some(id), Some(secret)),
            None => (
                form.get("client_id").cloned(),
                form.get("client_secret").cloned(),
            ),
        };
        let Some(id) = id.filter(|v| !v.is_empty()) else {
            return Err(oauth_err(
                "invalid_request",
                "Could not determine client ID from request.",
            ));
        };
        if id != self.config.client_id {
            return Err(oauth_err(
                "invalid_client",
                "The OAuth client was not found.",
            ));
        }
        if secret.as_deref() != Some(self.config.client_secret.as_str()) {
            return Err(oauth_err("invalid_client", "Unauthorized"));
        }
        Ok(())
    }

    pub(super) fn token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let ct = ctx.header("content-type").unwrap_or_default();
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(oauth_err(
                "invalid_request",
                "The request body must be application/x-www-form-urlencoded.",
            ));
        }
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let missing = |k: &str| {
            oauth_err(
                "invalid_request",
                &format!("Missing required parameter: {k}"),
            )
        };
        let grant = p("grant_type").ok_or_else(|| missing("grant_type"))?;
        self.client(ctx, &form)?;
        let now = self.now();
        match grant.as_str() {
            "authorization_code" => {
                let code = p("code").ok_or_else(|| missing("code"))?;
                let redirect = p("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let Some(rec) = self.codes.get(&code).cloned() else {
                    return Err(oauth_err("invalid_grant", "Malformed auth code."));
                };
                if rec.used || now - rec.issued_at > self.config.code_ttl {
                    return Err(oauth_err("invalid_grant", "Bad Request"));
                }
                if rec.redirect_uri != redirect {
                    return Err(oauth_err("redirect_uri_mismatch", "Bad Request"));
                }
                let verifier = p("code_verifier");
                match (&rec.challenge, verifier) {
                    (Challenge::S256(_), None) => {
                        return Err(oauth_err("invalid_grant", "Missing code verifier."));
                    }
                    (Challenge::S256(c), Some(v)) if s256(&v) != *c => {
                        return Err(oauth_err("invalid_grant", "Invalid code verifier."));
                    }
                    (Challenge::None, Some(_)) => {
                        return Err(oauth_err(
                            "invalid_grant",
                            "code_verifier or verifier is not needed.",
                        ));
                    }
                    _ => {}
                }
                if let Some(c) = self.codes.get_mut(&code) {
                    c.used = true;
                }
                ctx.committed = true;
                self.grant_seq += 1;
                let grant = self.grant_seq;
                let access = self.issue(&rec.user_id, &rec.scopes, TokenKind::Access, grant);
                let refresh = self.issue(&rec.user_id, &rec.scopes, TokenKind::Refresh, grant);
                Ok(Reply::json(
                    200,
                    json!({
                        "access_token": access,
                        "expires_in": self.config.access_ttl,
                        "refresh_token": refresh,
                        "scope": rec.scopes.join(" "),
                        "token_type": "Bearer",
                    }),
                ))
            }
            "refresh_token" => {
                let refresh = p("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let rec = match self.tokens.get(&refresh) {
                    Some(t) if t.kind == TokenKind::Refresh && t.live(now) => t.clone(),
                    _ => {
                        return Err(oauth_err(
                            "invalid_grant",
                            "Token has been expired or revoked.",
                        ));
                    }
                };
                ctx.committed = true;
                let access = self.issue(&rec.user_id, &rec.scopes, TokenKind::Access, rec.grant);
                Ok(Reply::json(
                    200,
                    json!({
                        "access_token": access,
                        "expires_in": self.config.access_ttl,
                        "scope": rec.scopes.join(" "),
                        "token_type": "Bearer",
                    }),
                ))
            }
            other => Err(oauth_err(
                "unsupported_grant_type",
                &format!("Invalid grant_type: {other}"),
            )),
        }
    }

    /// `POST /revoke`: the grant of `token` (from the body or the query) stops working.
    pub(super) fn revoke(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let token = form
            .get("token")
            .cloned()
            .or_else(|| ctx.raw_query().get("token").cloned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| oauth_err("invalid_request", "Missing required parameter: token"))?;
        let now = self.now();
        let Some(grant) = self
            .tokens
            .get(&token)
            .filter(|t| t.live(now))
            .map(|t| t.grant)
        else {
            return Err(oauth_err("invalid_token", "Token expired or revoked"));
        };
        self.revoke_grant(grant);
        ctx.committed = true;
        Ok(Reply::json(200, json!({})))
    }

    pub(super) fn revoke_grant(&mut self, grant: u64) {
        for t in self.tokens.values_mut().filter(|t| t.grant == grant) {
            t.revoked = true;
        }
    }

    /// Issues a token of `kind` in `grant`.
    pub(super) fn issue(
        &mut self,
        user_id: &str,
        scopes: &[String],
        kind: TokenKind,
        grant: u64,
    ) -> String {
        let now = self.now();
        let (prefix, ttl) = match kind {
            TokenKind::Access => ("ya29.a0", Some(self.config.access_ttl)),
            TokenKind::Refresh => (
                "1//0g",
                self.config
                    .testing_mode
                    .then_some(self.config.testing_refresh_ttl),
            ),
        };
        let body = self.opaque(prefix, 64);
        let token = match self.canaries.get(&grant) {
            Some(canary) => format!("{canary}{body}"),
            None => body,
        };
        self.tokens.insert(
            token.clone(),
            TokenRec {
                user_id: user_id.to_owned(),
                scopes: scopes.to_vec(),
                kind,
                grant,
                issued_at: now,
                expires_at: ttl.map(|t| now + t),
                revoked: false,
            },
        );
        if kind == TokenKind::Refresh {
            self.enforce_refresh_limit(user_id);
        }
        token
    }

    /// Past the per-user limit of live refresh tokens, the oldest stops working.
    fn enforce_refresh_limit(&mut self, user_id: &str) {
        let Some(limit) = self.config.refresh_token_limit else {
            return;
        };
        let now = self.now();
        let mut live: Vec<(i64, u64, String)> = self
            .tokens
            .iter()
            .filter(|(_, t)| t.kind == TokenKind::Refresh && t.user_id == user_id && t.live(now))
            .map(|(k, t)| (t.issued_at, t.grant, k.clone()))
            .collect();
        if live.len() <= limit {
            return;
        }
        live.sort();
        for (_, _, k) in live.iter().take(live.len() - limit) {
            if let Some(t) = self.tokens.get_mut(k) {
                t.revoked = true;
            }
        }
    }
}
