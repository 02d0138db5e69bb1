//! Access tokens, issued and checked (expiry, revocation, `appsecret_proof`); Page and Instagram
//! access; business-use-case throttles (<https://developers.facebook.com/docs/graph-api/overview/rate-limiting>).

use chrono::DateTime;

use super::errors::{GraphErr, invalid_token, rate_limit_message};
use super::request::Ctx;
use super::state::State;
use crate::util::{FNV_OFFSET, fnv1a, hmac_hex};

impl State {
    /// A valid user or page token, or the error Meta answers.
    pub(super) fn authenticate(&self, ctx: &Ctx<'_>) -> Result<TokenRec, GraphErr> {
        let Some(token) = ctx.token.as_deref() else {
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            ));
        };
        if token.contains('|') {
            return Err(if self.is_app_token(token) {
                GraphErr::new(200, None, "(#200) Permissions error")
            } else {
                GraphErr::new(190, None, "Invalid OAuth access token signature.")
            });
        }
        let rec = self.tokens.get(token).cloned().ok_or_else(invalid_token)?;
        if let Some(e) = self.token_problem(&rec) {
            return Err(e);
        }
        self.check_proof(ctx, token)?;
        Ok(rec)
    }

    pub(super) fn is_app_token(&self, token: &str) -> bool {
        token == format!("{}|{}", self.config.app_id, self.config.app_secret)
    }

    pub(super) fn token_problem(&self, rec: &TokenRec) -> Option<GraphErr> {
        let now = self.now();
        match rec.status {
            TokenStatus::Revoked => Some(GraphErr::new(
                190,
                Some(460),
                "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
            )),
            TokenStatus::Expired => {
                let at = if rec.expires_at == 0 || rec.expires_at >= now {
                    now - 1
                } else {
                    rec.expires_at
                };
                Some(expired_err(at, now))
            }
            TokenStatus::Valid if rec.expires_at != 0 && rec.expires_at <= now => {
                Some(expired_err(rec.expires_at, now))
            }
            TokenStatus::Valid => None,
        }
    }

    fn check_proof(&self, ctx: &Ctx<'_>, token: &str) -> Result<(), GraphErr> {
        match ctx.p("appsecret_proof") {
            Some(proof) => {
                let want = hmac_hex(self.config.app_secret.as_bytes(), token.as_bytes());
                if proof.eq_ignore_ascii_case(&want) {
                    Ok(())
                } else {
                    Err(GraphErr::new(
                        100,
                        None,
                        "Invalid appsecret_proof provided in the API argument",
                    ))
                }
            }
            None if self.config.require_appsecret_proof => Err(GraphErr::new(
                100,
                None,
                "API calls from the server require an appsecret_proof argument",
            )),
            None => Ok(()),
        }
    }

    /// Marks the business object a call is about (for `X-Business-Use-Case-Usage`)
    /// and fails it when that object is throttled.
    pub(super) fn touch(
        &self,
        ctx: &mut Ctx<'_>,
        id: &str,
        kind: &'static str,
    ) -> Result<(), GraphErr> {
        ctx.buc = Some((id.to_owned(), kind));
        match self.throttles.get(id) {
            Some(th) => Err(GraphErr::new(th.code, None, rate_limit_message(th.code))),
            None => Ok(()),
        }
    }

    pub(super) fn page_access(&self, rec: &TokenRec, page_id: &str) -> Option<PageAccess> {
        let page = self.pages.get(page_id)?;
        match rec.kind {
            TokenKind::Page if rec.page_id.as_deref() == Some(page_id) => {
                Some(PageAccess::PageToken)
            }
            TokenKind::User { .. } if page.owner == rec.user_id => Some(PageAccess::OwnerUser),
            _ => None,
        }
    }

    /// Whether `rec` may act on the Instagram account `ig`: the user who manages
    /// the linked Page, or that Page's token.
    pub(super) fn ig_access(&self, rec: &TokenRec, ig: &str) -> bool {
        self.igs
            .get(ig)
            .is_some_and(|r| self.page_access(rec, &r.page_id).is_some())
    }

    pub(super) fn page_of_post(&self, post_id: &str) -> Option<String> {
        self.posts
            .iter()
            .find(|p| p.post.id == post_id)
            .map(|p| p.page_id.clone())
    }

    pub(super) fn has_scope(&self, user_id: &str, scope: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|u| u.scopes.iter().any(|(s, g)| s == scope && *g))
    }

    pub(super) fn issue_user_token(&mut self, user_id: &str, long_lived: bool) -> (String, i64) {
        let token = self.new_token("u");
        let now = self.now();
        let life = if long_lived { 5_183_944 } else { 5_400 };
        self.tokens.insert(
            token.clone(),
            TokenRec {
                kind: TokenKind::User { long_lived },
                user_id: user_id.to_owned(),
                page_id: None,
                issued_at: now,
                expires_at: now + life,
                status: TokenStatus::Valid,
            },
        );
        (token, life)
    }

    pub(super) fn issue_page_token(
        &mut self,
        user_id: &str,
        page_id: &str,
        expires_at: i64,
    ) -> String {
        let token = self.new_token("p");
        let now = self.now();
        self.tokens.insert(
            token.clone(),
            TokenRec {
                kind: TokenKind::Page,
                user_id: user_id.to_owned(),
                page_id: Some(page_id.to_owned()),
                issued_at: now,
                expires_at,
                status: TokenStatus::Valid,
            },
        );
        token
    }

    fn new_token(&mut self, prefix: &str) -> String {
        let n = self.next();
        let salt = fnv1a(FNV_OFFSET, format!("{prefix}{n}").as_bytes());
        format!("EAAG{prefix}{n}Z{salt:016x}")
    }
}

fn expired_err(at: i64, now: i64) -> GraphErr {
    let fmt = |t: i64| {
        DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%A, %d-%b-%y %H:%M:%S UTC")
            .to_string()
    };
    GraphErr::new(
        190,
        Some(463),
        format!(
            "Error validating access token: Session has expired on {}. The current time is {}.",
            fmt(at),
            fmt(now)
        ),
    )
}

#[derive(Clone, Debug)]
pub(super) struct TokenRec {
    pub(super) kind: TokenKind,
    pub(super) user_id: String,
    pub(super) page_id: Option<String>,
    pub(super) issued_at: i64,
    /// 0: never.
    pub(super) expires_at: i64,
    pub(super) status: TokenStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    User { long_lived: bool },
    Page,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenStatus {
    Valid,
    Expired,
    Revoked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PageAccess {
    PageToken,
    OwnerUser,
}
