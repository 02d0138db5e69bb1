//! Routing: which requests are Mailchimp's, the request log, authentication (API keys by
//! HTTP Basic and their data center, OAuth tokens as bearers), the throttle switch, and the
//! limit of simultaneous connections per key
//! (<https://mailchimp.com/developer/marketing/docs/fundamentals/>: "each user account is
//! permitted up to 10 simultaneous connections"; beyond that `429 Too Many Requests`, with
//! no `Retry-After` and no rate-limit headers, which the docs do not describe).
//!
//! A connection is in flight from the moment the fake reads the request until its answer
//! leaves, [`MailchimpFakeConfig::response_delay`](super::MailchimpFakeConfig::response_delay)
//! later; a refused request holds none. wiremock hands the fake one request at a time, so
//! with no delay nothing ever overlaps.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wiremock::{Request, ResponseTemplate};

use super::errors::{Answer, Fail, key_invalid, key_missing, too_many, wrong_datacenter};
use super::request::{Ctx, Presented};
use super::state::State;
use crate::{Handled, UnmatchedLog};

/// Routes Mailchimp requests against the shared state, through
/// [`FakeServer::mount_stateful`](crate::FakeServer::mount_stateful).
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) unmatched: UnmatchedLog,
}

impl Router {
    pub(super) fn handle(&self, req: &Request) -> Handled {
        let path = req.url.path();
        let api = path == "/3.0" || path.starts_with("/3.0/");
        if !api && !path.starts_with("/oauth2/") {
            return Handled::NotMine;
        }
        let mut ctx = Ctx::new(req);
        let mut st = self.state.lock().unwrap();
        st.requests.push(match req.url.query() {
            Some(q) => format!("{} {path}?{q}", ctx.method),
            None => format!("{} {path}", ctx.method),
        });
        let mut delay = None;
        let result = if api {
            st.api(&mut ctx, &mut delay)
        } else {
            st.oauth(&mut ctx)
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
        drop(st);
        let mut t = ResponseTemplate::new(reply.status);
        let is_type = |k: &str| k.eq_ignore_ascii_case("content-type");
        if let Some(body) = &reply.body {
            let mime = reply
                .headers
                .iter()
                .find(|(k, _)| is_type(k))
                .map_or("application/json; charset=utf-8", |(_, v)| v.as_str());
            t = t.set_body_raw(body.to_string().into_bytes(), mime);
        }
        for (k, v) in reply.headers.iter().filter(|(k, _)| !is_type(k)) {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        if let Some(d) = delay {
            t = t.set_delay(d);
        }
        Handled::Answer {
            response: t,
            committed: ctx.committed,
        }
    }
}

impl State {
    /// An API call: authenticate, throttle, hold a connection, move time on, dispatch.
    fn api(&mut self, ctx: &mut Ctx, delay: &mut Option<std::time::Duration>) -> Answer {
        let presented = ctx.presented().ok_or_else(key_missing)?;
        let account = self.authenticate(&presented)?;
        let cred = presented.secret().to_owned();
        if self.throttled.contains(&cred) {
            return Err(too_many());
        }
        let now = Instant::now();
        let held = self.in_flight.entry(cred.clone()).or_default();
        held.retain(|until| *until > now);
        if held.len() >= self.config.max_connections {
            return Err(too_many());
        }
        let hold = self.config.response_delay;
        if !hold.is_zero() {
            held.push(now + hold);
            *delay = Some(hold);
        }
        let n = held.len().max(1);
        let max = self.max_in_flight.entry(cred).or_insert(0);
        *max = (*max).max(n);
        self.tick();
        self.dispatch(ctx, &account)
    }

    /// The account a live key of this data center, or a live token, belongs to.
    fn authenticate(&self, presented: &Presented) -> Result<String, Fail> {
        let secret = presented.secret();
        if let Some(k) = self.keys.get(secret) {
            let dc = secret.rsplit_once('-').map(|(_, dc)| dc).unwrap_or("");
            if dc != self.config.dc {
                return Err(if self.config.wrong_dc_forbidden {
                    wrong_datacenter(&self.config.dc)
                } else {
                    key_invalid()
                });
            }
            return if k.revoked {
                Err(key_invalid())
            } else {
                Ok(k.account.clone())
            };
        }
        match (presented, self.tokens.get(secret)) {
            (Presented::Token(_), Some(t)) if !t.revoked => Ok(t.account.clone()),
            _ => Err(key_invalid()),
        }
    }

    /// Routes one API call of `account` (an HTTP request or a batch operation).
    pub(super) fn dispatch(&mut self, ctx: &mut Ctx, account: &str) -> Answer {
        let path = ctx.path.clone();
        let segs: Vec<&str> = path
            .trim_start_matches("/3.0")
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let method = ctx.method.clone();
        match (method.as_str(), segs.as_slice()) {
            ("GET", []) => self.root(ctx, account),
            ("GET", ["ping"]) => Ok(super::errors::Reply::json(
                200,
                serde_json::json!({"health_status": "Everything's Chimpy!"}),
            )),
            ("GET", ["lists"]) => self.lists(ctx, account),
            ("GET", ["lists", l]) => self.list(ctx, account, l),
            ("GET", ["lists", l, "segments"]) => self.segments(ctx, account, l),
            ("GET", ["lists", l, "segments", s]) => self.segment(ctx, account, l, s),
            ("GET", ["lists", l, "members"]) => self.members_list(ctx, account, l),
            ("POST", ["lists", l, "members"]) => self.member_add(ctx, account, l),
            ("GET", ["lists", l, "members", h]) => self.member_get(ctx, account, l, h),
            ("PUT", ["lists", l, "members", h]) => self.member_put(ctx, account, l, h),
            ("PATCH", ["lists", l, "members", h]) => self.member_patch(ctx, account, l, h),
            ("DELETE", ["lists", l, "members", h]) => self.member_archive(ctx, account, l, h),
            ("POST", ["lists", l, "members", h, "actions", "delete-permanent"]) => {
                self.member_forget(ctx, account, l, h)
            }
            ("GET", ["lists", l, "members", h, "tags"]) => self.tags_get(ctx, account, l, h),
            ("POST", ["lists", l, "members", h, "tags"]) => self.tags_post(ctx, account, l, h),
            ("GET", ["lists", l, "webhooks"]) => self.webhooks_list(ctx, account, l),
            ("POST", ["lists", l, "webhooks"]) => self.webhook_add(ctx, account, l),
            ("GET", ["lists", l, "webhooks", w]) => self.webhook_get(ctx, account, l, w),
            ("PATCH", ["lists", l, "webhooks", w]) => self.webhook_patch(ctx, account, l, w),
            ("DELETE", ["lists", l, "webhooks", w]) => self.webhook_delete(ctx, account, l, w),
            ("GET", ["campaigns"]) => self.campaigns_list(ctx, account),
            ("POST", ["campaigns"]) => self.campaign_create(ctx, account),
            ("GET", ["campaigns", c]) => self.campaign_get(ctx, account, c),
            ("PATCH", ["campaigns", c]) => self.campaign_patch(ctx, account, c),
            ("DELETE", ["campaigns", c]) => self.campaign_delete(ctx, account, c),
            ("GET", ["campaigns", c, "content"]) => self.content_get(ctx, account, c),
            ("PUT", ["campaigns", c, "content"]) => self.content_put(ctx, account, c),
            ("GET", ["campaigns", c, "send-checklist"]) => self.checklist_get(ctx, account, c),
            ("POST", ["campaigns", c, "actions", action]) => {
                self.campaign_action(ctx, account, c, action)
            }
            ("GET", ["reports", c]) => self.report(ctx, account, c),
            ("GET", ["batches"]) if ctx.authorization.is_some() => self.batches_list(ctx, account),
            ("POST", ["batches"]) if ctx.authorization.is_some() => self.batch_create(ctx, account),
            ("GET", ["batches", b]) if ctx.authorization.is_some() => {
                self.batch_get(ctx, account, b)
            }
            _ => Err(Fail::Unmatched),
        }
    }
}
