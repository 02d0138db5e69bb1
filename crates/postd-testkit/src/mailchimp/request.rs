//! Request parsing: an owned request context (so a batch operation can be dispatched like an
//! HTTP request), query parameters, JSON and form bodies, the credentials of the
//! `Authorization` header, and the `fields` / `exclude_fields` partial responses
//! (<https://mailchimp.com/developer/marketing/docs/methods-parameters/#partial-responses>).

use std::collections::HashMap;

use serde_json::{Map, Value};
use wiremock::Request;

use super::errors::{Fail, fail};

/// One request, as a route sees it.
pub(super) struct Ctx {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    pub(super) authorization: Option<String>,
    pub(super) committed: bool,
}

/// The credential a request presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Presented {
    /// `Authorization: Basic base64(any:key)` (or a bearer that is a key).
    Key(String),
    /// `Authorization: Bearer <token>` / `OAuth <token>`.
    Token(String),
}

impl Presented {
    pub(super) fn secret(&self) -> &str {
        match self {
            Presented::Key(s) | Presented::Token(s) => s,
        }
    }
}

impl Ctx {
    pub(super) fn new(req: &Request) -> Ctx {
        Ctx {
            method: req.method.as_str().to_ascii_uppercase(),
            path: req.url.path().to_owned(),
            query: req
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            body: req.body.clone(),
            authorization: crate::util::header(req, "authorization"),
            committed: false,
        }
    }

    /// A batch operation: `method` on `path` (below `/3.0`), `params` as its query.
    pub(super) fn operation(method: &str, path: &str, params: &Value, body: Vec<u8>) -> Ctx {
        let query = params
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ctx {
            method: method.to_ascii_uppercase(),
            path: format!("/3.0/{}", path.trim_start_matches('/')),
            query,
            body,
            authorization: None,
            committed: false,
        }
    }

    /// A query parameter, when present and non-empty.
    pub(super) fn q(&self, key: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }

    /// `count` and `offset` (default 10 and 0, `count` at most 1,000).
    pub(super) fn page(&self) -> Result<(usize, usize), Fail> {
        let count = match self.q("count") {
            None => 10,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| super::errors::invalid(&[("count", "Must be an integer.")]))?,
        };
        if count > 1000 {
            return Err(super::errors::invalid(&[(
                "count",
                "Must be less than or equal to 1000.",
            )]));
        }
        let offset = match self.q("offset") {
            None => 0,
            Some(o) => o
                .parse::<usize>()
                .map_err(|_| super::errors::invalid(&[("offset", "Must be an integer.")]))?,
        };
        Ok((count, offset))
    }

    /// The JSON body; an empty body reads as `{}`.
    pub(super) fn json(&self) -> Result<Value, Fail> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            fail(
                400,
                "JSON Parse Exception",
                &format!("We encountered an unspecified JSON parsing error: {e}"),
            )
        })
    }

    /// The form body.
    pub(super) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The credential of the `Authorization` header.
    pub(super) fn presented(&self) -> Option<Presented> {
        let h = self.authorization.as_deref()?;
        let (scheme, rest) = h.split_once(' ')?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded =
                crate::util::base64_decode(rest).and_then(|b| String::from_utf8(b).ok())?;
            let (_user, key) = decoded.split_once(':')?;
            return Some(Presented::Key(key.to_owned()));
        }
        if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
            return Some(Presented::Token(rest.to_owned()));
        }
        None
    }

    /// `value` cut down by the request's `fields` and `exclude_fields`.
    pub(super) fn shape(&self, value: Value) -> Value {
        let mut value = value;
        if let Some(fields) = self.q("fields") {
            let paths: Vec<Vec<&str>> = fields
                .split(',')
                .map(|p| p.trim().split('.').collect())
                .collect();
            value = keep(&value, &paths);
        }
        if let Some(fields) = self.q("exclude_fields") {
            for p in fields.split(',') {
                drop_path(&mut value, &p.trim().split('.').collect::<Vec<_>>());
            }
        }
        value
    }
}

/// The parts of `v` named by `paths` (dotted, through arrays).
fn keep(v: &Value, paths: &[Vec<&str>]) -> Value {
    if paths.iter().any(Vec::is_empty) {
        return v.clone();
    }
    match v {
        Value::Array(items) => Value::Array(items.iter().map(|i| keep(i, paths)).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, child) in map {
                let sub: Vec<Vec<&str>> = paths
                    .iter()
                    .filter(|p| p.first() == Some(&k.as_str()))
                    .map(|p| p[1..].to_vec())
                    .collect();
                if !sub.is_empty() {
                    out.insert(k.clone(), keep(child, &sub));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn drop_path(v: &mut Value, path: &[&str]) {
    match (v, path) {
        (Value::Array(items), _) => items.iter_mut().for_each(|i| drop_path(i, path)),
        (Value::Object(map), [last]) => {
            map.remove(*last);
        }
        (Value::Object(map), [first, rest @ ..]) => {
            if let Some(child) = map.get_mut(*first) {
                drop_path(child, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_dotted_paths_through_arrays() {
        let v = json!({"campaigns": [{"id": "a", "status": "save", "settings": {"title": "t", "x": 1}}], "total_items": 1});
        let paths = vec![
            vec!["campaigns", "id"],
            vec!["campaigns", "settings", "title"],
            vec!["total_items"],
        ];
        assert_eq!(
            keep(&v, &paths),
            json!({"campaigns": [{"id": "a", "settings": {"title": "t"}}], "total_items": 1})
        );
        let mut w = v.clone();
        drop_path(&mut w, &["campaigns", "settings"]);
        assert_eq!(w["campaigns"][0].get("settings"), None);
    }
}
