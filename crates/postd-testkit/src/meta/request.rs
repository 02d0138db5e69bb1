//! Request parsing: parameters from the query string or a form, JSON or multipart body, and the
//! access token wherever it travelled (<https://developers.facebook.com/docs/graph-api/guides/versioning>).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use wiremock::Request;

use super::fields::{FieldSel, parse_fields};
use super::records::TokenVia;

pub(super) struct Ctx<'a> {
    pub(super) req: &'a Request,
    pub(super) method: String,
    pub(super) version: String,
    params: HashMap<String, String>,
    pub(super) attached_media: Vec<String>,
    /// Multipart file parts: (field name, bytes).
    pub(super) files: Vec<(String, usize)>,
    pub(super) token: Option<String>,
    pub(super) via: TokenVia,
    pub(super) in_query: bool,
    pub(super) committed: bool,
    pub(super) buc: Option<(String, &'static str)>,
}

impl Ctx<'_> {
    pub(super) fn p(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        crate::util::header(self.req, name)
    }

    pub(super) fn flag(&self, name: &str) -> Option<bool> {
        self.p(name)
            .map(|v| matches!(v, "true" | "1" | "True" | "TRUE"))
    }

    pub(super) fn fields(&self) -> Option<Vec<FieldSel>> {
        self.p("fields").map(parse_fields)
    }

    pub(super) fn wants_field(&self, name: &str) -> bool {
        self.fields()
            .is_some_and(|f| f.iter().any(|s| s.name == name))
    }
}

pub(super) fn build_ctx<'a>(req: &'a Request, version: &str, parse_body: bool) -> Ctx<'a> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut attached: BTreeMap<String, String> = BTreeMap::new();
    let mut attached_list: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut in_query = false;
    let mut query_token = None;
    for (k, v) in req.url.query_pairs() {
        if k == "access_token" {
            in_query = true;
            query_token = Some(v.to_string());
        }
        params.insert(k.into_owned(), v.into_owned());
    }
    let mut body_token = None;
    if parse_body && !req.body.is_empty() {
        let ct = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut body_params: Vec<(String, String)> = Vec::new();
        if ct.starts_with("application/json") {
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&req.body) {
                for (k, v) in o {
                    match (k.as_str(), &v) {
                        ("attached_media", Value::Array(items)) => {
                            for item in items {
                                let fbid = match item {
                                    Value::Object(m) => m.get("media_fbid").map(json_scalar),
                                    Value::String(s) => media_fbid_of(s),
                                    _ => None,
                                };
                                attached_list.extend(fbid);
                            }
                        }
                        ("children", Value::Array(items)) => {
                            let ids: Vec<String> = items.iter().map(json_scalar).collect();
                            body_params.push((k.clone(), ids.join(",")));
                        }
                        _ => body_params.push((k.clone(), json_scalar(&v))),
                    }
                }
            }
        } else if ct.starts_with("multipart/form-data") {
            // The boundary is case-sensitive: read it from the original header.
            let raw_ct = req
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let boundary = raw_ct.split(';').find_map(|p| {
                let p = p.trim();
                p.get(..9)
                    .filter(|h| h.eq_ignore_ascii_case("boundary="))
                    .map(|_| p[9..].trim_matches('"').to_owned())
            });
            if let Some(b) = boundary {
                for part in parse_multipart(&req.body, &b) {
                    match (part.filename, part.text) {
                        (None, Some(text)) if part.name != "source" => {
                            body_params.push((part.name, text));
                        }
                        _ => files.push((part.name, part.data_len)),
                    }
                }
            }
        } else if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
            for (k, v) in url::form_urlencoded::parse(&req.body) {
                body_params.push((k.into_owned(), v.into_owned()));
            }
        }
        for (k, v) in body_params {
            if k == "access_token" {
                body_token = Some(v.clone());
            }
            params.insert(k, v);
        }
    }
    // attached_media[0]={"media_fbid":..} (form or query) and attached_media=[..] (a JSON string)
    for (k, v) in &params {
        if let Some(idx) = k
            .strip_prefix("attached_media[")
            .and_then(|r| r.strip_suffix(']'))
        {
            if let Some(id) = media_fbid_of(v) {
                attached.insert(format!("{idx:0>6}"), id);
            }
        } else if k == "attached_media"
            && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(v)
        {
            for item in items {
                let fbid = match &item {
                    Value::Object(m) => m.get("media_fbid").map(json_scalar),
                    Value::String(s) => media_fbid_of(s),
                    _ => None,
                };
                attached_list.extend(fbid);
            }
        }
    }
    attached_list.extend(attached.into_values());

    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned());
    let (token, via) = match auth.as_deref().and_then(|a| a.split_once(' ')) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => {
            (Some(t.trim().to_owned()), TokenVia::BearerHeader)
        }
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("oauth") => {
            (Some(t.trim().to_owned()), TokenVia::OAuthHeader)
        }
        _ => match (query_token, body_token) {
            (Some(t), _) => (Some(t), TokenVia::Query),
            (None, Some(t)) => (Some(t), TokenVia::Body),
            (None, None) => (None, TokenVia::None),
        },
    };
    Ctx {
        req,
        method: req.method.as_str().to_ascii_uppercase(),
        version: version.to_owned(),
        params,
        attached_media: attached_list,
        files,
        token: token.filter(|t| !t.is_empty()),
        via,
        in_query,
        committed: false,
        buc: None,
    }
}

pub(super) fn json_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn media_fbid_of(v: &str) -> Option<String> {
    match serde_json::from_str::<Value>(v) {
        Ok(Value::Object(o)) => o.get("media_fbid").map(json_scalar),
        Ok(Value::String(s)) => Some(s),
        Ok(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    let Some(mut pos) = find(body, delim.as_bytes(), 0) else {
        return parts;
    };
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        }
        let Some(hdr_end) = find(body, b"\r\n\r\n", pos) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[pos..hdr_end]).into_owned();
        let start = hdr_end + 4;
        let Some(end) = find(body, next_delim.as_bytes(), start) else {
            break;
        };
        let mut name = String::new();
        let mut filename = None;
        for line in headers.lines() {
            if line.to_ascii_lowercase().starts_with("content-disposition") {
                for attr in line.split(';') {
                    let attr = attr.trim();
                    if let Some(v) = attr.strip_prefix("name=") {
                        name = v.trim_matches('"').to_owned();
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        let data = &body[start..end];
        let text = if filename.is_none() {
            Some(String::from_utf8_lossy(data).into_owned())
        } else {
            None
        };
        parts.push(Part {
            name,
            filename,
            data_len: data.len(),
            text,
        });
        pos = end + 2;
    }
    parts
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

struct Part {
    name: String,
    filename: Option<String>,
    data_len: usize,
    text: Option<String>,
}
