//! OAuth 2.0 (`www.linkedin.com/oauth/v2`): `accessToken` (codes, refresh tokens),
//! `introspectToken` and the tokens they issue (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>).

use serde_json::json;

use super::auth::TokenRec;
use super::errors::{Answer, Fail, Reply, oauth_err};
use super::request::Ctx;
use super::state::State;

impl State {
    pub(super) fn oauth(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let segs: Vec<&str> = ctx.segs.iter().map(String::as_str).collect();
        match (ctx.method.as_str(), segs.as_slice()) {
            ("POST", ["accessToken"]) => self.access_token(ctx),
            ("POST", ["introspectToken"]) => self.introspect(ctx),
            _ => Err(Fail::Unmatched),
        }
    }

    fn access_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let missing = |k: &str| {
            oauth_err(
                400,
                "invalid_request",
                &format!("A required parameter \"{k}\" is missing"),
            )
        };
        let grant = p("grant_type").ok_or_else(|| missing("grant_type"))?;
        match grant.as_str() {
            "authorization_code" => {
                let code = p("code").ok_or_else(|| missing("code"))?;
                let redirect = p("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let client_id = p("client_id").ok_or_else(|| missing("client_id"))?;
                let secret = p("client_secret").ok_or_else(|| missing("client_secret"))?;
                self.check_client(&client_id, &secret)?;
                let now = self.now();
                let Some(rec) = self.codes.get(&code).cloned() else {
                    return Err(oauth_err(
                        401,
                        "invalid_request",
                        "Unable to retrieve access token: authorization code not found",
                    ));
                };
                if rec.used {
                    return Err(oauth_err(400, "invalid_request", MSG_BAD_GRANT));
                }
                if rec.client_id != client_id
                    || rec.redirect_uri != redirect
                    || now - rec.issued_at > CODE_TTL
                {
                    return Err(oauth_err(400, "invalid_redirect_uri", MSG_BAD_REDIRECT));
                }
                if let Some(c) = self.codes.get_mut(&code) {
                    c.used = true;
                }
                // "If you request a different scope than the previously granted
                // scope, all the previous access tokens are invalidated."
                let mut granted = self.member(&rec.sub).scopes.clone();
                let mut wanted = rec.scopes.clone();
                granted.sort();
                wanted.sort();
                if !granted.is_empty() && granted != wanted {
                    for t in self.tokens.values_mut() {
                        if t.sub == rec.sub && t.client_id == client_id && !t.refresh {
                            t.revoked = true;
                        }
                    }
                }
                self.member(&rec.sub).scopes = rec.scopes.clone();
                let (access, expires_in) =
                    self.issue_access(&rec.sub, &client_id, &rec.scopes, rec.issued_at, None);
                let mut body = json!({
                    "access_token": access,
                    "expires_in": expires_in,
                    "scope": rec.scopes.join(","),
                    "token_type": "Bearer",
                });
                if self.config.refresh_tokens {
                    let refresh =
                        self.issue_refresh(&rec.sub, &client_id, &rec.scopes, rec.issued_at);
                    body["refresh_token"] = json!(refresh);
                    body["refresh_token_expires_in"] = json!(REFRESH_TTL);
                }
                if rec.scopes.iter().any(|s| s == "openid") {
                    body["id_token"] = json!(self.id_token(&rec.sub, &client_id, &rec.scopes));
                }
                Ok(Reply::json(200, body))
            }
            "refresh_token" => {
                let refresh = p("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let client_id = p("client_id").ok_or_else(|| missing("client_id"))?;
                let secret = p("client_secret").ok_or_else(|| missing("client_secret"))?;
                self.check_client(&client_id, &secret)?;
                let now = self.now();
                let rec = match self.tokens.get(&refresh) {
                    Some(t)
                        if t.refresh
                            && !t.revoked
                            && t.expires_at > now
                            && t.client_id == client_id
                            && self.config.refresh_tokens =>
                    {
                        t.clone()
                    }
                    _ => return Err(oauth_err(400, "invalid_request", MSG_BAD_GRANT)),
                };
                let (access, expires_in) = self.issue_access(
                    &rec.sub,
                    &client_id,
                    &rec.scopes,
                    rec.authorized_at,
                    Some(rec.expires_at),
                );
                Ok(Reply::json(
                    200,
                    json!({
                        "access_token": access,
                        "expires_in": expires_in,
                        "refresh_token": refresh,
                        "refresh_token_expires_in": rec.expires_at - now,
                        "scope": rec.scopes.join(","),
                        "token_type": "Bearer",
                    }),
                ))
            }
            "client_credentials" => Err(oauth_err(
                400,
                "access_denied",
                "This application is not allowed to create application tokens",
            )),
            other => Err(oauth_err(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            )),
        }
    }

    fn check_client(&self, client_id: &str, secret: &str) -> Result<(), Fail> {
        match self.apps.get(client_id) {
            Some(s) if s == secret => Ok(()),
            _ => Err(oauth_err(
                401,
                "invalid_client",
                "Client authentication failed",
            )),
        }
    }

    pub(super) fn issue_access(
        &mut self,
        sub: &str,
        client_id: &str,
        scopes: &[String],
        authorized_at: i64,
        cap: Option<i64>,
    ) -> (String, i64) {
        let token = self.new_token("AQV");
        let now = self.now();
        let expires_at = cap.map_or(now + ACCESS_TTL, |c| c.min(now + ACCESS_TTL));
        self.tokens.insert(
            token.clone(),
            TokenRec {
                sub: sub.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                created_at: now,
                authorized_at,
                expires_at,
                revoked: false,
                refresh: false,
            },
        );
        (token, expires_at - now)
    }

    pub(super) fn new_token(&mut self, prefix: &str) -> String {
        let a = self.salt(prefix);
        let b = self.salt(prefix);
        let c = self.salt(prefix);
        format!("{prefix}{a:016x}{b:016x}_{c:016x}-fakeLinkedInToken")
    }

    pub(super) fn issue_refresh(
        &mut self,
        sub: &str,
        client_id: &str,
        scopes: &[String],
        at: i64,
    ) -> String {
        let token = self.new_token("AQX");
        let now = self.now();
        self.tokens.insert(
            token.clone(),
            TokenRec {
                sub: sub.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                created_at: now,
                authorized_at: at,
                expires_at: now + REFRESH_TTL,
                revoked: false,
                refresh: true,
            },
        );
        token
    }

    /// An OpenID Connect `id_token` shaped like LinkedIn's (RS256 header), but
    /// with a fake signature: it is not verifiable against any JWKS.
    fn id_token(&self, sub: &str, client_id: &str, scopes: &[String]) -> String {
        let now = self.now();
        let m = self.members.get(sub);
        let mut claims = json!({
            "iss": "https://www.linkedin.com/oauth",
            "aud": client_id,
            "iat": now,
            "exp": now + 3600,
            "sub": sub,
        });
        if let Some(m) = m {
            if scopes.iter().any(|s| s == "profile") {
                claims["name"] = json!(m.name);
            }
            if scopes.iter().any(|s| s == "email") {
                claims["email"] = json!(m.email);
                claims["email_verified"] = json!(true);
            }
        }
        let header = json!({"typ": "JWT", "kid": "postd-testkit", "alg": "RS256"});
        format!(
            "{}.{}.{}",
            crate::util::base64url(header.to_string().as_bytes()),
            crate::util::base64url(claims.to_string().as_bytes()),
            crate::util::base64url(b"postd-testkit-fake-signature")
        )
    }

    fn introspect(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let (Some(client_id), Some(token)) = (p("client_id"), p("token")) else {
            return Err(oauth_err(
                400,
                "invalid_request",
                "A required parameter \"client_id\" or \"token\" is missing",
            ));
        };
        let Some(secret) = self.apps.get(&client_id).cloned() else {
            return Err(oauth_err(400, "invalid_request", "Invalid client id"));
        };
        if p("client_secret").as_deref() != Some(secret.as_str()) {
            return Err(oauth_err(
                401,
                "invalid_client",
                "Client authentication failed",
            ));
        }
        let Some(t) = self.tokens.get(&token).cloned() else {
            return Err(oauth_err(400, "invalid_request", "Invalid token"));
        };
        if t.client_id != client_id {
            return Ok(Reply::json(200, json!({"active": false})));
        }
        let status = if t.revoked {
            "revoked"
        } else if t.expires_at <= self.now() {
            "expired"
        } else {
            "active"
        };
        Ok(Reply::json(
            200,
            json!({
                "active": status == "active",
                "client_id": t.client_id,
                "authorized_at": t.authorized_at,
                "created_at": t.created_at,
                "status": status,
                "expires_at": t.expires_at,
                "scope": t.scopes.join(","),
                "auth_type": "3L",
            }),
        ))
    }
}

const ACCESS_TTL: i64 = 5_184_000;

const REFRESH_TTL: i64 = 31_536_000;

const CODE_TTL: i64 = 1_800;

const MSG_BAD_GRANT: &str =
    "The provided authorization grant or refresh token is invalid, expired or revoked";

const MSG_BAD_REDIRECT: &str = "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists";

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) sub: String,
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) issued_at: i64,
    pub(super) used: bool,
}
