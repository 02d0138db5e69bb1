//! Request parsing: query parameters as Google's transcoder binds them (each dotted segment
//! by its JSON name or its proto name: `pageSize` or `page_size`), form and JSON bodies, and
//! the bearer token.

use std::collections::HashMap;

use serde_json::Value;
use wiremock::Request;

use super::errors::{Fail, bind_error};

/// Query parameters every Google API accepts (the "system parameters").
const SYSTEM_PARAMS: &[&str] = &[
    "$.xgafv",
    "accessToken",
    "alt",
    "callback",
    "key",
    "oauthToken",
    "prettyPrint",
    "quotaUser",
    "uploadProtocol",
    "uploadType",
];

pub(super) struct Ctx<'a> {
    pub(super) req: &'a Request,
    pub(super) method: String,
    pub(super) path: String,
    /// Decoded query pairs with JSON-name keys, in order.
    query: Vec<(String, String)>,
    pub(super) committed: bool,
}

/// `page_size` → `pageSize`, `daily_range.start_date.year` → `dailyRange.startDate.year`.
pub(super) fn json_name(key: &str) -> String {
    key.split('.')
        .map(|seg| {
            let mut out = String::with_capacity(seg.len());
            let mut upper = false;
            for (i, c) in seg.chars().enumerate() {
                if c == '_' && i > 0 {
                    upper = true;
                } else if upper {
                    out.extend(c.to_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl<'a> Ctx<'a> {
    pub(super) fn new(req: &'a Request) -> Ctx<'a> {
        Ctx {
            req,
            method: req.method.as_str().to_ascii_uppercase(),
            path: req.url.path().to_owned(),
            query: req
                .url
                .query_pairs()
                .map(|(k, v)| (json_name(&k), v.into_owned()))
                .collect(),
            committed: false,
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        crate::util::header(self.req, name)
    }

    /// A query parameter (by its JSON name), when present and non-empty.
    pub(super) fn q(&self, key: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }

    /// Every value of a repeated query parameter, in order.
    pub(super) fn q_all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the query names `key` at all.
    pub(super) fn has_q(&self, key: &str) -> bool {
        self.query.iter().any(|(k, _)| k == key)
    }

    /// `400` for a query parameter the method does not bind (system parameters aside), as
    /// the transcoder answers it. `fields` (partial responses) is not modelled: a request
    /// naming it is unmatched.
    pub(super) fn only_params(&self, known: &[&str]) -> Result<(), Fail> {
        if self.has_q("fields") {
            return Err(Fail::Unmatched);
        }
        for (k, _) in &self.query {
            if !known.contains(&k.as_str()) && !SYSTEM_PARAMS.contains(&k.as_str()) {
                return Err(bind_error(&format!(
                    "Invalid JSON payload received. Unknown name \"{k}\": Cannot bind query \
                     parameter. Field '{k}' could not be found in request message."
                )));
            }
        }
        Ok(())
    }

    pub(super) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The raw query pairs (not renamed), for the OAuth endpoints.
    pub(super) fn raw_query(&self) -> HashMap<String, String> {
        self.req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The JSON body of a write.
    pub(super) fn json_body(&self) -> Result<Value, Fail> {
        if self.req.body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.req.body).map_err(|e| {
            bind_error(&format!(
                "Invalid JSON payload received. Unexpected token at line {} column {}.",
                e.line(),
                e.column()
            ))
        })
    }

    /// `(client_id, client_secret)` of an `Authorization: Basic` header, when present.
    pub(super) fn basic_auth(&self) -> Option<(String, String)> {
        let h = self.header("authorization")?;
        let (scheme, rest) = h.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = crate::util::base64_decode(rest.trim())?;
        let s = String::from_utf8(decoded).ok()?;
        let (id, secret) = s.split_once(':')?;
        Some((crate::util::pct_decode(id), crate::util::pct_decode(secret)))
    }

    /// The access token: `Authorization: Bearer`, or the `access_token` query parameter
    /// Google also accepts. `Some("")` for an `Authorization` header of another scheme.
    pub(super) fn bearer(&self) -> Option<String> {
        if let Some(h) = self.header("authorization") {
            let (scheme, rest) = h.split_once(' ').unwrap_or((h.as_str(), ""));
            return Some(if scheme.eq_ignore_ascii_case("bearer") {
                rest.trim().to_owned()
            } else {
                String::new()
            });
        }
        self.q("accessToken")
    }
}

#[cfg(test)]
mod tests {
    use super::json_name;

    #[test]
    fn proto_names_bind_as_json_names() {
        assert_eq!(json_name("page_size"), "pageSize");
        assert_eq!(json_name("pageSize"), "pageSize");
        assert_eq!(
            json_name("daily_range.start_date.year"),
            "dailyRange.startDate.year"
        );
        assert_eq!(
            json_name("dailyRange.start_date.day"),
            "dailyRange.startDate.day"
        );
        assert_eq!(json_name("$.xgafv"), "$.xgafv");
    }
}
