//! Routing: which requests are X's, the request log, bearer authentication, scopes, the
//! credits and usage-cap switches, and the per-user, per-endpoint fixed windows behind the
//! `x-rate-limit-limit`, `x-rate-limit-remaining` and `x-rate-limit-reset` headers
//! (<https://docs.x.com/x-api/fundamentals/rate-limits>; X sends no `Retry-After`).

use std::sync::{Arc, Mutex};

use wiremock::{Request, ResponseTemplate};

use super::errors::{Answer, Fail, fail, forbidden, unauthorized};
use super::request::Ctx;
use super::state::{State, TokenKind, TokenRec};
use crate::{Handled, UnmatchedLog};

/// Routes X requests against the shared state, through
/// [`FakeServer::mount_stateful`](crate::FakeServer::mount_stateful).
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) unmatched: UnmatchedLog,
}

/// The endpoints the fake serves, with their rate-limit labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Token,
    Revoke,
    Me,
    CreatePost,
    DeletePost(String),
    Timeline(String),
    LookupOne(String),
    LookupMany,
    MediaInit,
    MediaAppend(String),
    MediaFinalize(String),
    MediaStatus,
}

impl Route {
    fn of(method: &str, path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        Some(match (method, segs.as_slice()) {
            ("POST", ["2", "oauth2", "token"]) => Route::Token,
            ("POST", ["2", "oauth2", "revoke"]) => Route::Revoke,
            ("GET", ["2", "users", "me"]) => Route::Me,
            ("POST", ["2", "tweets"]) => Route::CreatePost,
            ("DELETE", ["2", "tweets", id]) => Route::DeletePost((*id).to_owned()),
            ("GET", ["2", "users", id, "tweets"]) => Route::Timeline((*id).to_owned()),
            ("GET", ["2", "tweets"]) => Route::LookupMany,
            ("GET", ["2", "tweets", id]) => Route::LookupOne((*id).to_owned()),
            ("POST", ["2", "media", "upload", "initialize"]) => Route::MediaInit,
            ("POST", ["2", "media", "upload", id, "append"]) => {
                Route::MediaAppend((*id).to_owned())
            }
            ("POST", ["2", "media", "upload", id, "finalize"]) => {
                Route::MediaFinalize((*id).to_owned())
            }
            ("GET", ["2", "media", "upload"]) => Route::MediaStatus,
            _ => return None,
        })
    }

    /// The rate-limit label (`None` for the OAuth endpoints, which document no limit).
    fn endpoint(&self) -> Option<&'static str> {
        Some(match self {
            Route::Token | Route::Revoke => return None,
            Route::Me => "GET /2/users/me",
            Route::CreatePost => "POST /2/tweets",
            Route::DeletePost(_) => "DELETE /2/tweets/:id",
            Route::Timeline(_) => "GET /2/users/:id/tweets",
            Route::LookupOne(_) => "GET /2/tweets/:id",
            Route::LookupMany => "GET /2/tweets",
            Route::MediaInit => "POST /2/media/upload/initialize",
            Route::MediaAppend(_) => "POST /2/media/upload/:id/append",
            Route::MediaFinalize(_) => "POST /2/media/upload/:id/finalize",
            Route::MediaStatus => "GET /2/media/upload",
        })
    }

    /// The scopes the endpoint needs, per its API reference.
    fn scopes(&self) -> &'static [&'static str] {
        match self {
            Route::Token | Route::Revoke => &[],
            Route::Me | Route::Timeline(_) | Route::LookupOne(_) | Route::LookupMany => {
                &["tweet.read", "users.read"]
            }
            Route::CreatePost | Route::DeletePost(_) => {
                &["tweet.read", "tweet.write", "users.read"]
            }
            Route::MediaInit
            | Route::MediaAppend(_)
            | Route::MediaFinalize(_)
            | Route::MediaStatus => &["media.write"],
        }
    }
}

impl Router {
    pub(super) fn handle(&self, req: &Request) -> Handled {
        if !req.url.path().starts_with("/2/") {
            return Handled::NotMine;
        }
        let mut ctx = Ctx::new(req);
        let mut st = self.state.lock().unwrap();
        let line = match req.url.query() {
            Some(q) => format!("{} {}?{q}", ctx.method, req.url.path()),
            None => format!("{} {}", ctx.method, req.url.path()),
        };
        st.requests.push(line);
        let result = match Route::of(&ctx.method, &ctx.path) {
            Some(route) => st.dispatch(&mut ctx, route),
            None => Err(Fail::Unmatched),
        };
        let reply = match result {
            Ok(r) | Err(Fail::Reply(r)) => r,
            Err(Fail::Unmatched) => {
                drop(st);
                return Handled::Answer {
                    response: self.unmatched.record(req),
                    committed: false,
                };
            }
        };
        if ctx.rate.is_none()
            && let Some(endpoint) = ctx.endpoint
        {
            let limit = st.limits.get(endpoint).copied().unwrap_or(0);
            ctx.rate = Some((limit, limit, st.now() + st.config.rate_window_secs));
        }
        drop(st);
        let mut t = ResponseTemplate::new(reply.status);
        if let Some(body) = &reply.body {
            t = t.set_body_raw(body.to_string().into_bytes(), "application/json");
        }
        if let Some((limit, remaining, reset)) = ctx.rate {
            t = t
                .insert_header("x-rate-limit-limit", limit.to_string().as_str())
                .insert_header("x-rate-limit-remaining", remaining.to_string().as_str())
                .insert_header("x-rate-limit-reset", reset.to_string().as_str());
        }
        for (k, v) in &reply.headers {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        Handled::Answer {
            response: t,
            committed: ctx.committed,
        }
    }
}

impl State {
    fn dispatch(&mut self, ctx: &mut Ctx<'_>, route: Route) -> Answer {
        match &route {
            Route::Token => return self.token(ctx),
            Route::Revoke => return self.revoke(ctx),
            _ => {}
        }
        ctx.endpoint = route.endpoint();
        let tok = self.authenticate(ctx)?;
        if let Some(endpoint) = ctx.endpoint {
            self.rate_limit(ctx, endpoint, &tok.user_id)?;
        }
        if self.credits_depleted {
            return Err(fail(
                402,
                "https://api.x.com/2/problems/credits",
                "CreditsDepleted",
                "Your enrolled account does not have any credits to fulfill this request.",
            ));
        }
        if self.usage_capped
            && matches!(
                route,
                Route::Timeline(_) | Route::LookupOne(_) | Route::LookupMany
            )
        {
            let mut f = fail(
                429,
                "usage-capped",
                "UsageCapExceeded",
                "Usage cap exceeded: Monthly product cap",
            );
            if let Fail::Reply(r) = &mut f
                && let Some(b) = r.body.as_mut()
            {
                b["period"] = "Monthly".into();
                b["scope"] = "Product".into();
            }
            return Err(f);
        }
        let missing: Vec<&str> = route
            .scopes()
            .iter()
            .copied()
            .filter(|s| !tok.scopes.iter().any(|g| g == s))
            .collect();
        if !missing.is_empty() {
            return Err(forbidden(&format!(
                "The access token is missing the scopes this endpoint requires: {}.",
                missing.join(" ")
            )));
        }
        match route {
            Route::Me => self.me(ctx, &tok),
            Route::CreatePost => self.create_post(ctx, &tok),
            Route::DeletePost(id) => self.delete_post(ctx, &tok, &id),
            Route::Timeline(id) => self.timeline(ctx, &tok, &id),
            Route::LookupOne(id) => self.lookup_one(ctx, &tok, &id),
            Route::LookupMany => self.lookup_many(ctx, &tok),
            Route::MediaInit => self.media_init(ctx, &tok),
            Route::MediaAppend(id) => self.media_append(ctx, &tok, &id),
            Route::MediaFinalize(id) => self.media_finalize(ctx, &tok, &id),
            Route::MediaStatus => self.media_status(ctx, &tok),
            Route::Token | Route::Revoke => Err(Fail::Unmatched),
        }
    }

    /// The live user access token of the request, or `401`.
    fn authenticate(&self, ctx: &Ctx<'_>) -> Result<TokenRec, Fail> {
        let token = ctx.bearer().ok_or_else(unauthorized)?;
        match self.tokens.get(&token) {
            Some(t) if t.kind == TokenKind::Access && t.live(self.now()) => Ok(t.clone()),
            _ => Err(unauthorized()),
        }
    }

    /// Counts one request of `user` to `endpoint` in its fixed window; `429` when full.
    fn rate_limit(
        &mut self,
        ctx: &mut Ctx<'_>,
        endpoint: &'static str,
        user: &str,
    ) -> Result<(), Fail> {
        let limit = self.limits.get(endpoint).copied().unwrap_or(u32::MAX);
        let now = self.now();
        let span = self.config.rate_window_secs;
        let w = self
            .windows
            .entry((endpoint, user.to_owned()))
            .or_insert((now, 0));
        if now >= w.0 + span {
            *w = (now, 0);
        }
        let reset = w.0 + span;
        if self.throttled.contains(user) {
            // Throttled: every window reads full, and resets a whole window from now.
            ctx.rate = Some((limit, 0, now + span));
            return Err(fail(
                429,
                "about:blank",
                "Too Many Requests",
                "Too Many Requests",
            ));
        }
        if w.1 >= limit {
            ctx.rate = Some((limit, 0, reset));
            return Err(fail(
                429,
                "about:blank",
                "Too Many Requests",
                "Too Many Requests",
            ));
        }
        w.1 += 1;
        ctx.rate = Some((limit, limit - w.1, reset));
        Ok(())
    }
}
