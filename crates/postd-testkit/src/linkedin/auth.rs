//! Authentication (bearer tokens, the 656xx errors), the daily throttles, and who may write,
//! read and see what (scopes, page roles) (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>).

use serde_json::json;

use super::errors::{Fail, api_error, fail, throttled};
use super::request::Ctx;
use super::state::{State, org_id_of, person_urn};

impl State {
    pub(super) fn authenticate(&self, ctx: &Ctx<'_>) -> Result<TokenRec, Fail> {
        let empty = || {
            fail(
                401,
                json!({"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}),
            )
        };
        let token = match ctx.header("authorization") {
            Some(h) => {
                let (scheme, rest) = h.split_once(' ').unwrap_or((h.as_str(), ""));
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return Err(fail(
                        401,
                        json!({"message": "Unknown authentication scheme", "serviceErrorCode": 401, "status": 401}),
                    ));
                }
                let t = rest.trim();
                if t.is_empty() {
                    return Err(empty());
                }
                t.to_owned()
            }
            None => ctx.q("oauth2_access_token").ok_or_else(empty)?,
        };
        let invalid = || {
            fail(
                401,
                api_error(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
            )
        };
        let rec = match self.tokens.get(&token) {
            Some(t) if !t.refresh => t,
            _ => return Err(invalid()),
        };
        if rec.revoked {
            return Err(fail(
                401,
                api_error(
                    401,
                    65601,
                    "REVOKED_ACCESS_TOKEN",
                    "The token used in the request has been revoked by the user",
                ),
            ));
        }
        if rec.expires_at <= self.now() {
            return Err(fail(
                401,
                api_error(
                    401,
                    65602,
                    "EXPIRED_ACCESS_TOKEN",
                    "The token used in the request has expired",
                ),
            ));
        }
        Ok(rec.clone())
    }

    pub(super) fn throttle(&mut self, tok: &TokenRec, resource: &str) -> Result<(), Fail> {
        let day = self.now().div_euclid(86_400);
        if day != self.usage_day {
            self.usage.clear();
            self.usage_day = day;
        }
        let mk = format!("m|{}|{}|{resource}", tok.client_id, tok.sub);
        let ak = format!("a|{}|{resource}", tok.client_id);
        let m = self.usage.get(&mk).copied().unwrap_or(0);
        let a = self.usage.get(&ak).copied().unwrap_or(0);
        if m >= self.member_limit || a >= self.app_limit {
            return Err(throttled());
        }
        self.usage.insert(mk, m + 1);
        self.usage.insert(ak, a + 1);
        Ok(())
    }

    /// May `tok` write (post, upload, delete) as `author`?
    pub(super) fn may_write_as(&self, tok: &TokenRec, author: &str) -> bool {
        if author == person_urn(&tok.sub) {
            return has(tok, "w_member_social");
        }
        match org_id_of(author) {
            Some(org) => has(tok, "w_organization_social") && self.role_in(&tok.sub, org).is_some(),
            None => false,
        }
    }

    /// May `tok` read `author`'s posts?
    pub(super) fn may_read_as(&self, tok: &TokenRec, author: &str) -> bool {
        if author == person_urn(&tok.sub) {
            return has(tok, "r_member_social");
        }
        match org_id_of(author) {
            Some(org) => has(tok, "r_organization_social") && self.role_in(&tok.sub, org).is_some(),
            None => false,
        }
    }

    /// May `tok` see an asset owned by `owner`?
    pub(super) fn may_see_asset(&self, tok: &TokenRec, owner: &str) -> bool {
        if owner == person_urn(&tok.sub) {
            return true;
        }
        org_id_of(owner).is_some_and(|org| self.role_in(&tok.sub, org).is_some())
    }

    fn role_in(&self, sub: &str, org: &str) -> Option<&str> {
        self.acls
            .iter()
            .find(|a| {
                a.sub == sub
                    && a.org == org
                    && a.state == "APPROVED"
                    && POSTING_ROLES.contains(&a.role.as_str())
            })
            .map(|a| a.role.as_str())
    }

    pub(super) fn is_admin(&self, sub: &str, org: &str) -> bool {
        self.acls.iter().any(|a| {
            a.sub == sub && a.org == org && a.state == "APPROVED" && a.role == "ADMINISTRATOR"
        })
    }
}

pub(super) fn has(tok: &TokenRec, scope: &str) -> bool {
    tok.scopes.iter().any(|s| s == scope)
}

/// Company page roles that may post, read and delete as the organization.
const POSTING_ROLES: &[&str] = &[
    "ADMINISTRATOR",
    "DIRECT_SPONSORED_CONTENT_POSTER",
    "CONTENT_ADMINISTRATOR",
    "CONTENT_ADMIN",
];

#[derive(Clone, Debug)]
pub(super) struct TokenRec {
    pub(super) sub: String,
    pub(super) client_id: String,
    pub(super) scopes: Vec<String>,
    pub(super) created_at: i64,
    pub(super) authorized_at: i64,
    pub(super) expires_at: i64,
    pub(super) revoked: bool,
    pub(super) refresh: bool,
}
