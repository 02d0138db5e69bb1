//! OAuth v2 (`/v2/oauth/token/` and `/v2/oauth/revoke/`): one-time authorization codes bound
//! to their `redirect_uri` and, when PKCE was used, to an S256 `code_challenge`; refresh
//! tokens that rotate; revocation; client access tokens.
//!
//! - <https://developers.tiktok.com/doc/oauth-user-access-token-management> (token endpoint,
//!   `code_verifier` "Required for mobile and desktop app only")
//! - <https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token> ("the fetched
//!   access_token expires within 2 hours", "Refresh tokens are rotated ... The previous
//!   refresh token stops working once a new one is issued")
//! - <https://developers.tiktok.com/doc/oauth-error-handling> (the error body and categories)

use serde_json::json;

use super::errors::{Answer, Fail, Reply, oauth_err};
use super::request::Ctx;
use super::state::{State, TokenKind, TokenRec};

pub use crate::util::s256;

impl State {
    pub(super) fn oauth(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        match (ctx.method.as_str(), ctx.path.as_str()) {
            ("POST", "/v2/oauth/token/") => self.token(ctx),
            ("POST", "/v2/oauth/revoke/") => self.revoke(ctx),
            _ => Err(Fail::Unmatched),
        }
    }

    fn client(&self, form: &std::collections::HashMap<String, String>) -> Result<String, Fail> {
        let key = form.get("client_key").filter(|v| !v.is_empty());
        let secret = form.get("client_secret").filter(|v| !v.is_empty());
        let (Some(key), Some(secret)) = (key, secret) else {
            return Err(oauth_err(
                "invalid_request",
                "The request is missing client_key or client_secret.",
            ));
        };
        if *key != self.config.client_key || *secret != self.config.client_secret {
            return Err(oauth_err("invalid_client", "Client authentication failed."));
        }
        Ok(key.clone())
    }

    fn token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let ct = ctx.header("content-type").unwrap_or_default();
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(oauth_err(
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded.",
            ));
        }
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let missing = |k: &str| {
            oauth_err(
                "invalid_request",
                &format!("The request is missing the required parameter {k}."),
            )
        };
        let grant = p("grant_type").ok_or_else(|| missing("grant_type"))?;
        let client_key = self.client(&form)?;
        let now = self.now();
        match grant.as_str() {
            "authorization_code" => {
                let code = p("code").ok_or_else(|| missing("code"))?;
                let redirect = p("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let bad =
                    || oauth_err("invalid_grant", "Authorization code is expired or invalid.");
                let rec = self.codes.get(&code).cloned().ok_or_else(bad)?;
                if rec.used
                    || rec.client_key != client_key
                    || now - rec.issued_at > self.config.code_ttl
                {
                    return Err(bad());
                }
                if rec.redirect_uri != redirect {
                    return Err(oauth_err(
                        "invalid_grant",
                        "The redirect_uri does not match the one used in the authorization request.",
                    ));
                }
                if let Some(challenge) = &rec.code_challenge {
                    let verifier = p("code_verifier").ok_or_else(|| missing("code_verifier"))?;
                    if s256(&verifier) != *challenge {
                        return Err(oauth_err(
                            "invalid_grant",
                            "Code verifier or code challenge is invalid.",
                        ));
                    }
                }
                if let Some(c) = self.codes.get_mut(&code) {
                    c.used = true;
                }
                ctx.committed = true;
                let access = self.issue(&rec.open_id, &client_key, &rec.scopes, TokenKind::Access);
                let refresh =
                    self.issue(&rec.open_id, &client_key, &rec.scopes, TokenKind::Refresh);
                Ok(self.token_body(&access, &refresh))
            }
            "refresh_token" => {
                let refresh = p("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let rec = match self.tokens.get(&refresh) {
                    Some(t)
                        if t.kind == TokenKind::Refresh
                            && !t.revoked
                            && t.expires_at > now
                            && t.client_key == client_key =>
                    {
                        t.clone()
                    }
                    _ => {
                        return Err(oauth_err(
                            "invalid_grant",
                            "Refresh token is invalid or expired.",
                        ));
                    }
                };
                ctx.committed = true;
                let access = self.issue(&rec.open_id, &client_key, &rec.scopes, TokenKind::Access);
                let refresh = if self.config.rotate_refresh_tokens {
                    if let Some(old) = self.tokens.get_mut(&refresh) {
                        old.revoked = true;
                    }
                    self.issue(&rec.open_id, &client_key, &rec.scopes, TokenKind::Refresh)
                } else {
                    refresh
                };
                Ok(self.token_body(&access, &refresh))
            }
            "client_credentials" => {
                ctx.committed = true;
                let token = self.new_token("clt.");
                self.tokens.insert(
                    token.clone(),
                    TokenRec {
                        open_id: String::new(),
                        client_key,
                        scopes: Vec::new(),
                        expires_at: now + 7_200,
                        revoked: false,
                        kind: TokenKind::Client,
                    },
                );
                Ok(Reply::json(
                    200,
                    json!({"access_token": token, "expires_in": 7_200, "token_type": "Bearer"}),
                ))
            }
            other => Err(oauth_err(
                "unsupported_grant_type",
                &format!("The grant type {other} is not supported."),
            )),
        }
    }

    fn token_body(&self, access: &str, refresh: &str) -> Reply {
        let now = self.now();
        let a = &self.tokens[access];
        let r = &self.tokens[refresh];
        Reply::json(
            200,
            json!({
                "access_token": access,
                "expires_in": a.expires_at - now,
                "open_id": a.open_id,
                "refresh_expires_in": r.expires_at - now,
                "refresh_token": refresh,
                "scope": a.scopes.join(","),
                "token_type": "Bearer",
            }),
        )
    }

    /// Revokes the user's authorization of the app: every token of the grant stops working.
    fn revoke(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let client_key = self.client(&form)?;
        let token = form.get("token").filter(|v| !v.is_empty()).ok_or_else(|| {
            oauth_err(
                "invalid_request",
                "The request is missing the required parameter token.",
            )
        })?;
        let Some(open_id) = self
            .tokens
            .get(token)
            .filter(|t| t.client_key == client_key && t.kind != TokenKind::Client)
            .map(|t| t.open_id.clone())
        else {
            return Err(oauth_err("invalid_request", "The token is invalid."));
        };
        self.revoke_grant(&open_id);
        ctx.committed = true;
        Ok(Reply::json(200, json!({})))
    }

    pub(super) fn revoke_grant(&mut self, open_id: &str) {
        for t in self.tokens.values_mut() {
            if t.open_id == open_id {
                t.revoked = true;
            }
        }
    }

    /// Issues a token of `kind` with the configured lifetime.
    pub(super) fn issue(
        &mut self,
        open_id: &str,
        client_key: &str,
        scopes: &[String],
        kind: TokenKind,
    ) -> String {
        let (prefix, ttl) = match kind {
            TokenKind::Access => ("act.", self.config.access_ttl),
            TokenKind::Refresh => ("rft.", self.config.refresh_ttl),
            TokenKind::Client => ("clt.", 7_200),
        };
        let token = self.new_token(prefix);
        let expires_at = self.now() + ttl;
        self.tokens.insert(
            token.clone(),
            TokenRec {
                open_id: open_id.to_owned(),
                client_key: client_key.to_owned(),
                scopes: scopes.to_vec(),
                expires_at,
                revoked: false,
                kind,
            },
        );
        token
    }
}
