//! OAuth 2 on `login.mailchimp.com` and the account the API root answers
//! (<https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/>,
//! <https://mailchimp.com/developer/marketing/api/root/>).
//!
//! - `POST /oauth2/token` (form-encoded `grant_type=authorization_code`, `client_id`,
//!   `client_secret`, `redirect_uri`, `code`) answers `{"access_token", "expires_in": 0,
//!   "scope": null}`: the guide says tokens do not expire and there is no refresh token; a
//!   code is single use and bound to its `redirect_uri` (the guide is silent on both; the
//!   fake follows RFC 6749 and answers `invalid_grant`, and `invalid_client` for a wrong
//!   client). Any other grant is `unsupported_grant_type`.
//! - `GET /oauth2/metadata` with `Authorization: OAuth <token>` answers `dc`, `role`,
//!   `accountname`, `user_id`, `login` (`email`, `avatar`, `login_id`, `login_name`,
//!   `login_email`), `login_url` and `api_endpoint`. The guide documents no error: an unknown
//!   or revoked token gets `{"error": "invalid_token"}` with
//!   [`MailchimpFakeConfig::metadata_invalid_status`](super::MailchimpFakeConfig::metadata_invalid_status).
//! - The authorize page is not served: [`MailchimpFake::issue_code`](super::MailchimpFake::issue_code)
//!   stands in for the user's consent.
//! - `GET /3.0/` answers the account: `account_id`, `login_id`, `account_name`, `email`,
//!   `username`, `pricing_plan_type` (`forever_free` on a free plan; the docs list no value
//!   for a paid one, the fake answers `monthly`), `account_timezone` (`UTC`), `total_subscribers`.

use serde_json::json;

use super::errors::{Answer, Fail, Reply, oauth_err};
use super::request::{Ctx, Presented};
use super::state::{CredRec, State};

impl State {
    pub(super) fn oauth(&mut self, ctx: &mut Ctx) -> Answer {
        match (ctx.method.as_str(), ctx.path.as_str()) {
            ("POST", "/oauth2/token") => self.token(ctx),
            ("GET", "/oauth2/metadata") => self.metadata(ctx),
            _ => Err(Fail::Unmatched),
        }
    }

    fn token(&mut self, ctx: &mut Ctx) -> Answer {
        let form = ctx.form();
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        if get("grant_type") != "authorization_code" {
            return Err(oauth_err(
                "unsupported_grant_type",
                "Only the authorization_code grant is supported.",
            ));
        }
        if get("client_id") != self.config.client_id
            || get("client_secret") != self.config.client_secret
        {
            return Err(oauth_err("invalid_client", "Invalid client credentials."));
        }
        let code = get("code").to_owned();
        let redirect = get("redirect_uri").to_owned();
        let rec = match self.codes.get_mut(&code) {
            Some(c) if !c.used && c.redirect_uri == redirect => {
                c.used = true;
                c.clone()
            }
            _ => return Err(oauth_err("invalid_grant", "Invalid authorization code.")),
        };
        let mut token = self.hex_id(32);
        if let Some(canary) = self
            .accounts
            .get(&rec.account)
            .and_then(|a| a.canary.as_ref())
        {
            token = format!("{canary}{token}");
        }
        self.tokens.insert(
            token.clone(),
            CredRec {
                account: rec.account,
                revoked: false,
            },
        );
        ctx.committed = true;
        Ok(Reply::json(
            200,
            json!({"access_token": token, "expires_in": 0, "scope": null}),
        ))
    }

    fn metadata(&mut self, ctx: &mut Ctx) -> Answer {
        let account = match ctx.presented() {
            Some(Presented::Token(t)) => self
                .tokens
                .get(&t)
                .filter(|r| !r.revoked)
                .and_then(|r| self.accounts.get(&r.account))
                .cloned(),
            _ => None,
        };
        let Some(a) = account else {
            return Err(Fail::Reply(Reply::json(
                self.config.metadata_invalid_status,
                json!({"error": "invalid_token"}),
            )));
        };
        let dc = self.config.dc.clone();
        let endpoint = self
            .config
            .api_endpoint
            .clone()
            .unwrap_or_else(|| format!("https://{dc}.api.mailchimp.com"));
        Ok(Reply::json(
            200,
            json!({
                "dc": dc,
                "role": "owner",
                "accountname": a.name,
                "user_id": a.user_id,
                "login": {
                    "email": a.login_email,
                    "avatar": null,
                    "login_id": a.user_id,
                    "login_name": a.login_name,
                    "login_email": a.login_email,
                },
                "login_url": "https://login.mailchimp.com",
                "api_endpoint": endpoint,
            }),
        ))
    }

    pub(super) fn root(&mut self, ctx: &Ctx, account: &str) -> Answer {
        let a = self
            .accounts
            .get(account)
            .cloned()
            .ok_or_else(super::errors::key_invalid)?;
        let total: u64 = self
            .lists
            .values()
            .filter(|l| l.account == account)
            .map(|l| self.member_count(&l.id, "subscribed"))
            .sum();
        Ok(Reply::json(
            200,
            ctx.shape(json!({
                "account_id": a.id,
                "login_id": a.user_id.to_string(),
                "account_name": a.name,
                "email": a.login_email,
                "username": a.login_name,
                "pricing_plan_type": if a.paid { "monthly" } else { "forever_free" },
                "account_timezone": "UTC",
                "total_subscribers": total,
            })),
        ))
    }
}
