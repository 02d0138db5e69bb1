//! Routing: which requests are LinkedIn's, the request log, and the response headers every
//! answer carries.

use std::sync::{Arc, Mutex};

use wiremock::{Request, ResponseTemplate};

use super::errors::Fail;
use super::request::{Area, Ctx, area_of};
use super::state::State;
use crate::{Handled, UnmatchedLog};

/// Routes LinkedIn requests against the shared state, through
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
        let mut ctx = Ctx::new(req, area);
        let mut st = self.state.lock().unwrap();
        let line = match req.url.query() {
            Some(q) => format!("{} {}?{q}", ctx.method, req.url.path()),
            None => format!("{} {}", ctx.method, req.url.path()),
        };
        st.requests.push(line);
        if ctx.q_raw("oauth2_access_token").is_some() || ctx.q_raw("access_token").is_some() {
            st.tokens_in_query += 1;
        }
        let result = match area {
            Area::OAuth => st.oauth(&mut ctx),
            Area::V2 => st.v2(&mut ctx),
            Area::Rest => st.rest(&mut ctx),
            Area::Upload => st.upload(&mut ctx),
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
        let uuid = format!("{:016x}{:08x}", st.salt("uuid"), st.seq);
        drop(st);
        let mut t = ResponseTemplate::new(reply.status);
        if let Some(body) = &reply.body {
            t = t.set_body_raw(body.to_string().into_bytes(), "application/json");
        }
        t = t.insert_header("x-li-uuid", uuid.as_str());
        if matches!(area, Area::Rest | Area::V2) {
            t = t.insert_header("x-restli-protocol-version", "2.0.0");
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
