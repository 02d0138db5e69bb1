//! Graph API errors in Meta's exact body shape ([`graph_error`]), the constructors the
//! endpoints share, and what a route answers (<https://developers.facebook.com/docs/graph-api/guides/error-handling>).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

/// The exact error body Meta answers with:
/// `{"error":{"message","type":"OAuthException","code","error_subcode"(when given),"is_transient","fbtrace_id"}}`.
pub fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    GraphErr::new(code, subcode, message).body()
}

#[derive(Clone, Debug)]
pub(super) struct GraphErr {
    pub(super) status: u16,
    code: i64,
    pub(super) subcode: Option<i64>,
    pub(super) message: String,
    user_title: Option<String>,
    user_msg: Option<String>,
}

impl GraphErr {
    pub(super) fn new(code: i64, subcode: Option<i64>, message: impl Into<String>) -> Self {
        let status = match code {
            1 | 2 => 500,
            10 | 200..=299 => 403,
            _ => 400,
        };
        GraphErr {
            status,
            code,
            subcode,
            message: message.into(),
            user_title: None,
            user_msg: None,
        }
    }

    pub(super) fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub(super) fn user(mut self, title: &str, msg: &str) -> Self {
        self.user_title = Some(title.to_owned());
        self.user_msg = Some(msg.to_owned());
        self
    }

    pub(super) fn body(&self) -> Value {
        let mut e = Map::new();
        e.insert("message".into(), json!(self.message));
        e.insert("type".into(), json!("OAuthException"));
        e.insert("code".into(), json!(self.code));
        if let Some(s) = self.subcode {
            e.insert("error_subcode".into(), json!(s));
        }
        e.insert("is_transient".into(), json!(default_transient(self.code)));
        if let Some(t) = &self.user_title {
            e.insert("error_user_title".into(), json!(t));
        }
        if let Some(m) = &self.user_msg {
            e.insert("error_user_msg".into(), json!(m));
        }
        e.insert("fbtrace_id".into(), json!(fbtrace_id()));
        json!({ "error": Value::Object(e) })
    }
}

fn default_transient(code: i64) -> bool {
    matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 613) || (80000..=80014).contains(&code)
}

static TRACE: AtomicU64 = AtomicU64::new(1);

fn fbtrace_id() -> String {
    let n = TRACE.fetch_add(1, Ordering::Relaxed);
    format!("AfakeTrace{n:08}")
}

pub(super) enum Fail {
    Graph(GraphErr),
    /// The platform has no such route: the loud 421.
    Unmatched,
    /// An error from the rupload host, in its own `debug_info` shape.
    Rupload {
        status: u16,
        kind: &'static str,
        message: String,
    },
}

impl From<GraphErr> for Fail {
    fn from(e: GraphErr) -> Self {
        Fail::Graph(e)
    }
}

pub(super) type Answer = Result<Value, Fail>;

pub(super) fn no_object(id: &str, method: &str) -> GraphErr {
    let verb = if method.eq_ignore_ascii_case("POST") {
        "post"
    } else {
        "get"
    };
    GraphErr::new(
        100,
        Some(33),
        format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
}

pub(super) fn missing_param(name: &str) -> GraphErr {
    GraphErr::new(
        100,
        None,
        format!("(#100) The parameter {name} is required"),
    )
}

pub(super) fn invalid_param(msg: &str) -> GraphErr {
    GraphErr::new(100, None, format!("(#100) {msg}"))
}

pub(super) fn invalid_token() -> GraphErr {
    GraphErr::new(
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

pub(super) fn nonexisting_field(field: &str, node: &str) -> GraphErr {
    GraphErr::new(
        100,
        None,
        format!("(#100) Tried accessing nonexisting field ({field}) on node type ({node})"),
    )
}

pub(super) const PAGE_POST_PERMISSION: &str = "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission";

pub(super) fn rate_limit_message(code: i64) -> String {
    match code {
        4 => "(#4) Application request limit reached".to_owned(),
        17 => "(#17) User request limit reached".to_owned(),
        32 => "(#32) Page request limit reached".to_owned(),
        613 => "(#613) Calls to this api have exceeded the rate limit.".to_owned(),
        80001 => "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.".to_owned(),
        80002 => "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.".to_owned(),
        c => format!("(#{c}) Rate limit reached"),
    }
}
