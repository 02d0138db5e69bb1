//! Routing: which requests are TikTok's, the request log, the `log_id` every answer carries
//! (in the body and as `x-tt-logid`).

use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::{Request, ResponseTemplate};

use super::errors::Fail;
use super::request::{Area, Ctx, area_of};
use super::state::State;
use crate::{Handled, UnmatchedLog};

/// Routes TikTok requests against the shared state, through
/// [`FakeServer::mount_stateful`](crate::FakeServer::mount_stateful) (which applies after-commit
/// faults).
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) unmatched: UnmatchedLog,
}

impl Router {
    pub(super) fn handle(&self, req: &Request) -> Handled {
        let Some(area) = area_of(req.url.path()) else {
            return Handled::NotMine;
        };
        let mut ctx = Ctx::new(req);
        let mut st = self.state.lock().unwrap();
        let line = match req.url.query() {
            Some(q) => format!("{} {}?{q}", ctx.method, req.url.path()),
            None => format!("{} {}", ctx.method, req.url.path()),
        };
        st.requests.push(line);
        let result = match area {
            Area::OAuth => st.oauth(&mut ctx),
            Area::Api => st.api(&mut ctx),
            Area::Upload => st.upload(&mut ctx),
        };
        let mut reply = match result {
            Ok(r) | Err(Fail::Reply(r)) => r,
            Err(Fail::Unmatched) => {
                drop(st);
                return Handled::Answer {
                    response: self.unmatched.record(req),
                    committed: false,
                };
            }
        };
        let log_id = st.log_id();
        drop(st);
        if let Some(body) = reply.body.as_mut() {
            match body.get_mut("error") {
                Some(Value::Object(e)) => {
                    e.insert("log_id".to_owned(), Value::String(log_id.clone()));
                }
                Some(Value::String(_)) => {
                    body["log_id"] = Value::String(log_id.clone());
                }
                _ => {}
            }
        }
        let mut t =
            ResponseTemplate::new(reply.status).insert_header("x-tt-logid", log_id.as_str());
        if let Some(body) = &reply.body {
            t = t.set_body_raw(body.to_string().into_bytes(), "application/json");
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
    fn api(&mut self, ctx: &mut Ctx<'_>) -> super::errors::Answer {
        match (ctx.method.as_str(), ctx.path.as_str()) {
            ("GET", "/v2/user/info/") => self.user_info(ctx),
            ("POST", "/v2/post/publish/creator_info/query/") => self.creator_info(ctx),
            ("POST", "/v2/post/publish/video/init/") => self.video_init(ctx, false),
            ("POST", "/v2/post/publish/inbox/video/init/") => self.video_init(ctx, true),
            ("POST", "/v2/post/publish/content/init/") => self.content_init(ctx),
            ("POST", "/v2/post/publish/status/fetch/") => self.status_fetch(ctx),
            ("POST", "/v2/video/list/") => self.video_list(ctx),
            ("POST", "/v2/video/query/") => self.video_query(ctx),
            _ => Err(Fail::Unmatched),
        }
    }
}
