//! Routing: which host and method a path is, the HTML 404 of a malformed resource name, the
//! request log, and the gate every API call passes in order: bearer authentication (`401
//! UNAUTHENTICATED`), the API being enabled for the project (`403 PERMISSION_DENIED`,
//! `SERVICE_DISABLED`), the `business.manage` scope (`403 PERMISSION_DENIED`,
//! `ACCESS_TOKEN_SCOPE_INSUFFICIENT`) and the per-minute project quota of the API (`429
//! RESOURCE_EXHAUSTED`, `RATE_LIMIT_EXCEEDED`, no `Retry-After`;
//! <https://developers.google.com/my-business/content/limits>).
//!
//! The one server plays every host; each path belongs to one:
//!
//! | path | host |
//! |---|---|
//! | `POST /token`, `POST /revoke` | `oauth2.googleapis.com` |
//! | `GET /oauth2/v3/certs` | `www.googleapis.com` (the JWK set of push tokens, no gate) |
//! | `GET /v1/accounts` | `mybusinessaccountmanagement.googleapis.com` |
//! | `GET /v1/accounts/{a}/locations` | `mybusinessbusinessinformation.googleapis.com` |
//! | `/v4/accounts/{a}/locations/{l}/localPosts[/{p}]` | `mybusiness.googleapis.com` |
//! | `GET /v1/locations/{l}:fetchMultiDailyMetricsTimeSeries` | `businessprofileperformance.googleapis.com` |

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::json;
use wiremock::{Request, ResponseTemplate};

use super::errors::{
    Answer, Fail, LEGACY_SCOPE, SCOPE, error_info, fail, not_found_html, status_error,
};
use super::request::Ctx;
use super::state::{APIS, State, TokenKind, TokenRec};
use crate::{Handled, UnmatchedLog};

/// Routes Google requests against the shared state, through
/// [`FakeServer::mount_stateful`](crate::FakeServer::mount_stateful) (which applies
/// after-commit faults).
pub(super) struct Router {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) unmatched: UnmatchedLog,
}

/// The methods the fake serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Route {
    Token,
    Revoke,
    Jwks,
    ListAccounts,
    ListLocations(String),
    CreatePost(String, String),
    ListPosts(String, String),
    GetPost(String, String, String),
    PatchPost(String, String, String),
    DeletePost(String, String, String),
    FetchMetrics(String),
}

/// What a path is.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    Route(Route),
    /// A path under a served collection whose resource name is malformed: Google's front end
    /// answers its HTML 404.
    Html404,
    /// A Google path the fake does not model: the loud 421.
    NotModelled,
    NotMine,
}

const METRICS_VERB: &str = "fetchMultiDailyMetricsTimeSeries";

/// A resource id segment: non-empty, no `:`.
fn id(s: &str) -> bool {
    !s.is_empty() && !s.contains(':')
}

fn resolve(method: &str, path: &str) -> Resolved {
    match path {
        "/token" => {
            return if method == "POST" {
                Resolved::Route(Route::Token)
            } else {
                Resolved::NotModelled
            };
        }
        "/revoke" => {
            return if method == "POST" {
                Resolved::Route(Route::Revoke)
            } else {
                Resolved::NotModelled
            };
        }
        super::JWKS_PATH => {
            return if method == "GET" {
                Resolved::Route(Route::Jwks)
            } else {
                Resolved::NotModelled
            };
        }
        _ => {}
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Resolved::NotMine;
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let own = |a: &str| a.to_owned();
    match segs.first().copied() {
        Some("v4") => {
            if !segs.contains(&"localPosts") {
                return Resolved::NotModelled;
            }
            match (method, segs.as_slice()) {
                (_, ["v4", "accounts", a, "locations", l, "localPosts", rest @ ..])
                    if id(a) && id(l) && rest.len() <= 1 && rest.iter().all(|p| id(p)) =>
                {
                    let (a, l) = (own(a), own(l));
                    match (method, rest) {
                        ("POST", []) => Resolved::Route(Route::CreatePost(a, l)),
                        ("GET", []) => Resolved::Route(Route::ListPosts(a, l)),
                        ("GET", [p]) => Resolved::Route(Route::GetPost(a, l, own(p))),
                        ("PATCH", [p]) => Resolved::Route(Route::PatchPost(a, l, own(p))),
                        ("DELETE", [p]) => Resolved::Route(Route::DeletePost(a, l, own(p))),
                        _ => Resolved::NotModelled,
                    }
                }
                _ => Resolved::Html404,
            }
        }
        Some("v1") => {
            if path.contains(&format!(":{METRICS_VERB}")) {
                return match segs.as_slice() {
                    ["v1", "locations", last] => match last.split_once(':') {
                        Some((l, METRICS_VERB)) if id(l) => {
                            if method == "GET" {
                                Resolved::Route(Route::FetchMetrics(own(l)))
                            } else {
                                Resolved::NotModelled
                            }
                        }
                        _ => Resolved::Html404,
                    },
                    _ => Resolved::Html404,
                };
            }
            match (method, segs.as_slice()) {
                ("GET", ["v1", "accounts"]) => Resolved::Route(Route::ListAccounts),
                ("GET", ["v1", "accounts", a, "locations"]) if id(a) => {
                    Resolved::Route(Route::ListLocations(own(a)))
                }
                // v1 names a location `locations/{l}`, never under an account.
                (_, ["v1", "accounts", _, "locations", ..]) => Resolved::Html404,
                (_, ["v1", "accounts", a, ..]) if !id(a) => Resolved::Html404,
                _ => Resolved::NotModelled,
            }
        }
        _ => Resolved::NotMine,
    }
}

impl Route {
    /// The service the method belongs to (`None` for OAuth and the JWK set).
    fn service(&self) -> Option<&'static str> {
        Some(match self {
            Route::Token | Route::Revoke | Route::Jwks => return None,
            Route::ListAccounts => super::ACCOUNT_MANAGEMENT,
            Route::ListLocations(_) => super::BUSINESS_INFORMATION,
            Route::CreatePost(..)
            | Route::ListPosts(..)
            | Route::GetPost(..)
            | Route::PatchPost(..)
            | Route::DeletePost(..) => super::MY_BUSINESS,
            Route::FetchMetrics(_) => super::PERFORMANCE,
        })
    }

    /// The location id the call is about, for the throttle knob.
    fn location(&self) -> Option<&str> {
        match self {
            Route::CreatePost(_, l)
            | Route::ListPosts(_, l)
            | Route::GetPost(_, l, _)
            | Route::PatchPost(_, l, _)
            | Route::DeletePost(_, l, _)
            | Route::FetchMetrics(l) => Some(l),
            _ => None,
        }
    }

    /// The scopes any one of which the method accepts.
    fn scopes(&self) -> &'static [&'static str] {
        match self.service() {
            Some(super::MY_BUSINESS) => &[SCOPE, LEGACY_SCOPE],
            _ => &[SCOPE],
        }
    }
}

impl Router {
    pub(super) fn handle(&self, req: &Request) -> Handled {
        let mut ctx = Ctx::new(req);
        let resolved = resolve(&ctx.method, &ctx.path);
        if resolved == Resolved::NotMine {
            return Handled::NotMine;
        }
        let mut st = self.state.lock().unwrap();
        let line = match req.url.query() {
            Some(q) => format!("{} {}?{q}", ctx.method, req.url.path()),
            None => format!("{} {}", ctx.method, req.url.path()),
        };
        st.requests.push(line);
        let result = match resolved {
            Resolved::Route(route) => st.dispatch(&mut ctx, route),
            Resolved::Html404 => {
                drop(st);
                return Handled::Answer {
                    response: ResponseTemplate::new(404).set_body_raw(
                        not_found_html(req.url.path()).into_bytes(),
                        "text/html; charset=UTF-8",
                    ),
                    committed: false,
                };
            }
            Resolved::NotModelled | Resolved::NotMine => Err(Fail::Unmatched),
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
        if let Some(body) = &reply.body {
            t = t.set_body_raw(
                body.to_string().into_bytes(),
                "application/json; charset=UTF-8",
            );
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
        let Some(service) = route.service() else {
            return match route {
                Route::Token => self.token(ctx),
                Route::Jwks => self.serve_jwks(),
                _ => self.revoke(ctx),
            };
        };
        let tok = self.authenticate(ctx, service)?;
        if self.disabled.contains(service) {
            return Err(self.service_disabled(service));
        }
        if !route
            .scopes()
            .iter()
            .any(|s| tok.scopes.iter().any(|g| g == s))
        {
            return Err(scope_insufficient(service));
        }
        self.quota(service, route.location())?;
        let user = tok.user_id.clone();
        match route {
            Route::ListAccounts => self.list_accounts(ctx, &user),
            Route::ListLocations(a) => self.list_locations(ctx, &user, &a),
            Route::CreatePost(a, l) => self.create_post(ctx, &user, &a, &l),
            Route::ListPosts(a, l) => self.list_posts(ctx, &user, &a, &l),
            Route::GetPost(a, l, p) => self.get_post(ctx, &user, &a, &l, &p),
            Route::PatchPost(a, l, p) => self.patch_post(ctx, &user, &a, &l, &p),
            Route::DeletePost(a, l, p) => self.delete_post(ctx, &user, &a, &l, &p),
            Route::FetchMetrics(l) => self.fetch_metrics(ctx, &user, &l),
            Route::Token | Route::Revoke | Route::Jwks => Err(Fail::Unmatched),
        }
    }

    /// The live access token of the request, or `401 UNAUTHENTICATED` with the
    /// `WWW-Authenticate` challenge Google sends.
    fn authenticate(&self, ctx: &Ctx<'_>, service: &str) -> Result<TokenRec, Fail> {
        let unauthenticated = |message: &str, reason: &str| {
            let body = status_error(
                "UNAUTHENTICATED",
                message,
                vec![error_info(
                    reason,
                    "googleapis.com",
                    json!({"service": service}),
                )],
            );
            let reply = super::errors::Reply::json(401, body).header(
                "www-authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
            );
            Fail::Reply(reply)
        };
        let Some(token) = ctx.bearer() else {
            return Err(unauthenticated(
                "Request is missing required authentication credential. Expected OAuth 2 \
                 access token, login cookie or other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
                "CREDENTIALS_MISSING",
            ));
        };
        let invalid = "Request had invalid authentication credentials. Expected OAuth 2 access \
                       token, login cookie or other valid authentication credential. See \
                       https://developers.google.com/identity/sign-in/web/devconsole-project.";
        match self.tokens.get(&token) {
            Some(t) if t.kind == TokenKind::Access && t.live(self.now()) => Ok(t.clone()),
            Some(t) if t.kind == TokenKind::Access => {
                Err(unauthenticated(invalid, "ACCESS_TOKEN_EXPIRED"))
            }
            _ => Err(unauthenticated(invalid, "ACCESS_TOKEN_TYPE_UNSUPPORTED")),
        }
    }

    /// `403 PERMISSION_DENIED` with `SERVICE_DISABLED` and the activation URL, as Google
    /// answers a call to an API the project has not enabled.
    fn service_disabled(&self, service: &str) -> Fail {
        let title = APIS
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(service, |(_, t)| t);
        let project = &self.config.project_number;
        let url = format!(
            "https://console.developers.google.com/apis/api/{service}/overview?project={project}"
        );
        let message = format!(
            "{title} has not been used in project {project} before or it is disabled. Enable \
             it by visiting {url} then retry. If you enabled this API recently, wait a few \
             minutes for the action to propagate to our systems and retry."
        );
        fail(
            "PERMISSION_DENIED",
            &message,
            vec![
                error_info(
                    "SERVICE_DISABLED",
                    "googleapis.com",
                    json!({
                        "service": service,
                        "serviceTitle": title,
                        "consumer": format!("projects/{project}"),
                        "containerInfo": project,
                        "activationUrl": url,
                    }),
                ),
                json!({
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": message,
                }),
                json!({
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{"description": "Google developers console API activation", "url": url}],
                }),
            ],
        )
    }

    /// Counts one call to `service` in its sliding minute; `429` when the project's quota
    /// (or a throttled location) refuses it.
    fn quota(&mut self, service: &'static str, location: Option<&str>) -> Result<(), Fail> {
        let limit = self
            .quotas
            .get(service)
            .copied()
            .unwrap_or(self.config.quota_per_minute);
        let throttled = location.is_some_and(|l| self.throttled.contains(l));
        let now = self.now_ms();
        let window = self.windows.entry(service).or_default();
        prune(window, now);
        if throttled || window.len() >= limit as usize {
            return Err(self.quota_exceeded(
                service,
                "Requests per minute",
                "DefaultRequestsPerMinutePerProject",
                &format!("{service}/default_requests"),
                limit,
            ));
        }
        window.push_back(now);
        Ok(())
    }

    /// `429 RESOURCE_EXHAUSTED` with `RATE_LIMIT_EXCEEDED` and the quota's metadata.
    pub(super) fn quota_exceeded(
        &self,
        service: &str,
        limit_name: &str,
        limit_id: &str,
        metric: &str,
        limit: u32,
    ) -> Fail {
        let project = &self.config.project_number;
        fail(
            "RESOURCE_EXHAUSTED",
            &format!(
                "Quota exceeded for quota metric 'Requests' and limit '{limit_name}' of service \
                 '{service}' for consumer 'project_number:{project}'."
            ),
            vec![
                error_info(
                    "RATE_LIMIT_EXCEEDED",
                    "googleapis.com",
                    json!({
                        "service": service,
                        "consumer": format!("projects/{project}"),
                        "quota_metric": metric,
                        "quota_limit": limit_id,
                        "quota_limit_value": limit.to_string(),
                        "quota_location": "global",
                    }),
                ),
                json!({
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [{
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }],
                }),
            ],
        )
    }
}

/// Drops the entries of a sliding window older than a minute.
pub(super) fn prune(window: &mut VecDeque<i64>, now_ms: i64) {
    while window.front().is_some_and(|t| *t <= now_ms - 60_000) {
        window.pop_front();
    }
}

/// `403 PERMISSION_DENIED` "Request had insufficient authentication scopes." with the
/// `WWW-Authenticate` challenge naming the scope.
fn scope_insufficient(service: &str) -> Fail {
    let body = status_error(
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
        vec![error_info(
            "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "googleapis.com",
            json!({"service": service}),
        )],
    );
    Fail::Reply(super::errors::Reply::json(403, body).header(
        "www-authenticate",
        &format!(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", \
             scope=\"{SCOPE}\""
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_their_host_or_to_the_html_404() {
        let r = |m: &str, p: &str| resolve(m, p);
        assert_eq!(r("POST", "/token"), Resolved::Route(Route::Token));
        assert_eq!(r("GET", "/oauth2/v3/certs"), Resolved::Route(Route::Jwks));
        assert_eq!(r("POST", "/oauth2/v3/certs"), Resolved::NotModelled);
        assert_eq!(
            r("GET", "/v1/accounts"),
            Resolved::Route(Route::ListAccounts)
        );
        assert_eq!(
            r("GET", "/v1/accounts/1/locations"),
            Resolved::Route(Route::ListLocations("1".into()))
        );
        assert_eq!(
            r("POST", "/v4/accounts/1/locations/2/localPosts"),
            Resolved::Route(Route::CreatePost("1".into(), "2".into()))
        );
        assert_eq!(
            r("PATCH", "/v4/accounts/1/locations/2/localPosts/3"),
            Resolved::Route(Route::PatchPost("1".into(), "2".into(), "3".into()))
        );
        assert_eq!(
            r("GET", "/v1/locations/2:fetchMultiDailyMetricsTimeSeries"),
            Resolved::Route(Route::FetchMetrics("2".into()))
        );
        // Malformed names under served collections.
        for p in [
            "/v4/locations/2/localPosts",
            "/v4/accounts//locations/2/localPosts",
            "/v4/accounts/1/locations/2/localPosts/3/4",
            "/v4/accounts/1/localPosts",
            "/v1/accounts/1/locations/2:fetchMultiDailyMetricsTimeSeries",
            "/v1/locations/:fetchMultiDailyMetricsTimeSeries",
            "/v1/accounts/1/locations/2",
            "/v1/accounts//locations",
        ] {
            assert_eq!(r("GET", p), Resolved::Html404, "{p}");
        }
        // Google paths the fake does not model.
        for p in [
            "/v1/accounts/1",
            "/v4/accounts/1/locations/2/reviews",
            "/v1/locations/2",
        ] {
            assert_eq!(r("GET", p), Resolved::NotModelled, "{p}");
        }
        assert_eq!(r("GET", "/other"), Resolved::NotMine);
    }
}
