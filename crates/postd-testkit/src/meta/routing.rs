//! Routing: which requests are Meta's, the per-request bookkeeping and usage headers, and the
//! dispatch to each endpoint (<https://developers.facebook.com/docs/graph-api/guides/versioning>).

use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use super::errors::{Answer, Fail};
use super::records::TokenUse;
use super::request::{Ctx, build_ctx};
use super::state::State;
use crate::util::pct_decode;
use crate::{Handled, UnmatchedLog};

/// Routes Meta requests against the shared state, through
/// [`FakeServer::mount_stateful`](crate::FakeServer::mount_stateful) (which applies after-commit
/// faults).
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) unmatched: UnmatchedLog,
}

impl Router {
    pub(super) fn handle(&self, req: &Request) -> Handled {
        if !is_meta_path(req.url.path()) {
            return Handled::NotMine;
        }
        let unmatched = |req: &Request| Handled::Answer {
            response: self.unmatched.record(req),
            committed: false,
        };
        let segs: Vec<String> = req
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(pct_decode)
            .collect();
        let (version, rest, rupload) = match segs.first().map(String::as_str) {
            Some("ig-api-upload") => {
                let (v, rest) = match segs.get(1) {
                    Some(v) if is_version(v) => (v.clone(), segs[2..].to_vec()),
                    _ => (String::new(), segs[1..].to_vec()),
                };
                (v, rest, true)
            }
            Some(v) if is_version(v) => (v.to_owned(), segs[1..].to_vec(), false),
            _ => return unmatched(req),
        };
        let is_upload = rupload || rest.first().is_some_and(|s| s.starts_with("upload:"));
        let mut ctx = build_ctx(req, &version, !is_upload);
        let mut st = self.state.lock().unwrap();
        st.requests
            .push(format!("{} {}", ctx.method, req.url.path()));
        let result = if rupload {
            st.rupload(&mut ctx, &rest)
        } else {
            st.dispatch(&mut ctx, &rest)
        };
        st.token_uses.push(TokenUse {
            method: ctx.method.clone(),
            path: req.url.path().to_owned(),
            via: ctx.via,
            in_query: ctx.in_query,
        });
        let (status, body) = match result {
            Ok(v) => (200, v),
            Err(Fail::Graph(e)) => (e.status, e.body()),
            Err(Fail::Rupload {
                status,
                kind,
                message,
            }) => (
                status,
                json!({"debug_info": {"retriable": false, "type": kind, "message": message}}),
            ),
            Err(Fail::Unmatched) => {
                drop(st);
                return unmatched(req);
            }
        };
        let mut t = ResponseTemplate::new(status)
            .set_body_raw(body.to_string().into_bytes(), "application/json");
        let (cc, tt, tc) = st.app_usage;
        t = t.insert_header(
            "x-app-usage",
            json!({"call_count": cc, "total_time": tt, "total_cputime": tc})
                .to_string()
                .as_str(),
        );
        if let Some((id, kind)) = &ctx.buc {
            let (cc, tt, tc) = st.business_usage.get(id).copied().unwrap_or((0, 0, 0));
            let (cc, tt, tc, eta) = match st.throttles.get(id) {
                Some(th) => (100.max(cc), tt.max(100), tc.max(100), th.minutes),
                None => (cc, tt, tc, 0),
            };
            let buc = json!({ id.as_str(): [{
                "type": kind,
                "call_count": cc,
                "total_cputime": tc,
                "total_time": tt,
                "estimated_time_to_regain_access": eta,
            }]});
            t = t.insert_header("x-business-use-case-usage", buc.to_string().as_str());
        }
        drop(st);
        Handled::Answer {
            response: t,
            committed: ctx.committed,
        }
    }
}

impl State {
    fn dispatch(&mut self, ctx: &mut Ctx<'_>, segs: &[String]) -> Answer {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = ctx.method.clone();
        match (method.as_str(), s.as_slice()) {
            ("GET" | "POST", ["oauth", "access_token"]) => self.oauth_access_token(ctx),
            ("GET", ["debug_token"]) => self.debug_token(ctx),
            ("GET", ["me"]) => self.me(ctx),
            ("GET", ["me", "permissions"]) => self.me_permissions(ctx),
            ("GET", ["me", "accounts"]) => self.me_accounts(ctx),
            ("POST", [app, "uploads"]) => self.start_upload(ctx, app),
            ("GET" | "POST", [session]) if session.starts_with("upload:") => {
                self.upload_chunk(ctx, session)
            }
            ("GET", [id]) => self.node(ctx, id),
            (_, [id, edge]) => self.edge(ctx, id, edge),
            _ => Err(Fail::Unmatched),
        }
    }
}

/// Paths the fake answers: versioned Graph paths and the rupload host.
fn is_meta_path(path: &str) -> bool {
    let mut segs = path.trim_start_matches('/').split('/');
    match segs.next() {
        Some("ig-api-upload") => true,
        Some(first) => is_version(first),
        None => false,
    }
}

fn is_version(seg: &str) -> bool {
    let Some(rest) = seg.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty()
        && !b.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
}
