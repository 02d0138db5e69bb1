//! Request parsing: routes, query, form, JSON and multipart bodies, and the base64 codecs
//! HTTP Basic, PKCE and the webhook signatures need.

use std::collections::HashMap;

use serde_json::Value;
use wiremock::Request;

use super::errors::{Fail, invalid};

pub(super) struct Ctx<'a> {
    pub(super) req: &'a Request,
    pub(super) method: String,
    pub(super) path: String,
    query: Vec<(String, String)>,
    pub(super) committed: bool,
    /// The rate-limited endpoint the request is for, once routed.
    pub(super) endpoint: Option<&'static str>,
    /// `(limit, remaining, reset)` for the `x-rate-limit-*` headers.
    pub(super) rate: Option<(u32, u32, i64)>,
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
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            committed: false,
            endpoint: None,
            rate: None,
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        crate::util::header(self.req, name)
    }

    /// A query parameter, when present and non-empty.
    pub(super) fn q(&self, key: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// A JSON body (`Content-Type: application/json`).
    pub(super) fn json_body(&self) -> Result<Value, Fail> {
        let ct = self.content_type();
        if !ct.starts_with("application/json") {
            return Err(invalid(
                "body",
                &ct,
                "The request body must be JSON (Content-Type: application/json).",
            ));
        }
        serde_json::from_slice(&self.req.body).map_err(|e| {
            invalid(
                "body",
                "",
                format!("The request body is not valid JSON: {e}"),
            )
        })
    }

    pub(super) fn is_multipart(&self) -> bool {
        self.content_type().starts_with("multipart/form-data")
    }

    /// The parts of a `multipart/form-data` body, by field name.
    pub(super) fn multipart(&self) -> Result<HashMap<String, Vec<u8>>, Fail> {
        let ct = self.header("content-type").unwrap_or_default();
        let boundary = ct
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .map(|b| b.trim_matches('"').to_owned())
            .ok_or_else(|| invalid("body", "", "The multipart body has no boundary."))?;
        parse_multipart(&self.req.body, &boundary)
            .ok_or_else(|| invalid("body", "", "The multipart body is malformed."))
    }

    /// `(client_id, client_secret)` from an `Authorization: Basic` header, when present.
    pub(super) fn basic_auth(&self) -> Option<Option<(String, String)>> {
        let h = self.header("authorization")?;
        let (scheme, rest) = h.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded =
            crate::util::base64_decode(rest.trim()).and_then(|b| String::from_utf8(b).ok());
        Some(decoded.and_then(|s| {
            s.split_once(':')
                .map(|(id, secret)| (crate::util::pct_decode(id), crate::util::pct_decode(secret)))
        }))
    }

    /// The bearer token of the request, when present.
    pub(super) fn bearer(&self) -> Option<String> {
        let h = self.header("authorization")?;
        let (scheme, rest) = h.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_owned())
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

fn parse_multipart(body: &[u8], boundary: &str) -> Option<HashMap<String, Vec<u8>>> {
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = HashMap::new();
    let mut at = find(body, &delim, 0)? + delim.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        // Skip the CRLF after the delimiter.
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(body.get(head_start..head_end)?).into_owned();
        let content_start = head_end + 4;
        let next = find(body, &delim, content_start)?;
        let content_end = next.checked_sub(2)?.max(content_start);
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .and_then(|l| {
                l.split(';')
                    .filter_map(|p| p.trim().strip_prefix("name="))
                    .next()
                    .map(|n| n.trim_matches('"').to_owned())
            })?;
        parts.insert(name, body.get(content_start..content_end)?.to_vec());
        at = next + delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_found_by_name() {
        let body = b"--XX\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n3\r\n--XX\r\nContent-Disposition: form-data; name=\"media\"; filename=\"b\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n\x02\r\n--XX--\r\n";
        let parts = parse_multipart(body, "XX").unwrap();
        assert_eq!(parts["segment_index"], b"3");
        assert_eq!(parts["media"], b"\x00\x01\r\n\x02");
    }
}
