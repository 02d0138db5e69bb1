//! Bearer authentication (`401 access_token_invalid` for a missing, unknown, expired or
//! revoked token), scope checks (`401 scope_not_authorized`) and the one-minute sliding
//! windows of the rate limits (`429 rate_limit_exceeded`, no `Retry-After`), per
//! <https://developers.tiktok.com/doc/tiktok-api-v2-error-handling> and
//! <https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit>.

use super::errors::{Fail, api_err, rate_limited, token_invalid};
use super::request::Ctx;
use super::state::{State, TokenKind, TokenRec};

/// The Display API endpoints, whose 600/min the Rate Limits page states without saying per
/// token: the fake counts them per app (the stricter reading).
const APP_WIDE: &[&str] = &["/v2/user/info/", "/v2/video/list/", "/v2/video/query/"];

impl State {
    /// The user access token of the request.
    pub(super) fn authenticate(&self, ctx: &Ctx<'_>) -> Result<(String, TokenRec), Fail> {
        let header = ctx.header("authorization").ok_or_else(token_invalid)?;
        let (scheme, rest) = header.split_once(' ').unwrap_or((header.as_str(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(token_invalid());
        }
        let token = rest.trim();
        match self.tokens.get(token) {
            Some(t) if t.kind == TokenKind::Access && !t.revoked && t.expires_at > self.now() => {
                Ok((token.to_owned(), t.clone()))
            }
            _ => Err(token_invalid()),
        }
    }

    /// `401 scope_not_authorized` unless the token holds one of `scopes`.
    pub(super) fn require_scope(tok: &TokenRec, scopes: &[&str]) -> Result<(), Fail> {
        if scopes.iter().any(|s| tok.scopes.iter().any(|g| g == s)) {
            return Ok(());
        }
        Err(api_err(
            "scope_not_authorized",
            format!(
                "The user did not authorize the scope required for completing this request ({}).",
                scopes.join(" or ")
            ),
        ))
    }

    /// Counts one request of `token` to `endpoint` in the sliding window and answers 429
    /// when the window is full (or the user is throttled by the knob).
    pub(super) fn rate_limit(
        &mut self,
        token: &str,
        tok: &TokenRec,
        endpoint: &'static str,
    ) -> Result<(), Fail> {
        if self.throttled.contains(&tok.open_id) {
            return Err(rate_limited());
        }
        let Some(&limit) = self.limits.get(endpoint) else {
            return Ok(());
        };
        let key = if APP_WIDE.contains(&endpoint) {
            format!("app|{}|{endpoint}", tok.client_key)
        } else {
            format!("token|{token}|{endpoint}")
        };
        let now = self.now_ms();
        let window = self.windows.entry(key).or_default();
        while window.front().is_some_and(|t| *t <= now - 60_000) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return Err(rate_limited());
        }
        window.push_back(now);
        Ok(())
    }
}
