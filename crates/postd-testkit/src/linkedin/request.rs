//! Request parsing: which host a request is for, its raw path segments and query, its body, and
//! the version its permission labels name.

use std::collections::HashMap;

use serde_json::Value;
use wiremock::Request;

use super::errors::{Fail, illegal};
use super::restli::{Rv, parse_restli};
use crate::util::pct_decode;

pub(super) struct Ctx<'a> {
    pub(super) req: &'a Request,
    pub(super) method: String,
    /// Raw (still percent-encoded) path segments after the host prefix.
    pub(super) segs: Vec<String>,
    /// (decoded key, raw value).
    query: Vec<(String, String)>,
    /// The version as LinkedIn names it in permission labels and messages.
    pub(super) version: String,
    pub(super) committed: bool,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(req: &'a Request, area: Area) -> Ctx<'a> {
        let skip = match area {
            Area::OAuth => 2,
            Area::V2 | Area::Rest | Area::Upload => 1,
        };
        let segs = req
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .skip(skip)
            .map(str::to_owned)
            .collect();
        let query = req
            .url
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (pct_decode(&k.replace('+', " ")), v.to_owned())
            })
            .collect();
        Ctx {
            req,
            method: req.method.as_str().to_ascii_uppercase(),
            segs,
            query,
            version: "NO_VERSION".to_owned(),
            committed: false,
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        crate::util::header(self.req, name)
    }

    pub(super) fn q_raw(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A plain (form-decoded) query parameter, when present and non-empty.
    pub(super) fn q(&self, key: &str) -> Option<String> {
        self.q_raw(key)
            .map(|v| pct_decode(&v.replace('+', " ")))
            .filter(|v| !v.is_empty())
    }

    /// A Rest.li-structured query parameter.
    pub(super) fn q_restli(&self, key: &str) -> Result<Option<Rv>, Fail> {
        match self.q_raw(key) {
            None | Some("") => Ok(None),
            Some(raw) => parse_restli(raw).map(Some).map_err(|e| {
                illegal(format!(
                    "Invalid value for query parameter {key}: {e} (Rest.li 2.0 encodes values, not the List()/(k:v) structure)"
                ))
            }),
        }
    }

    pub(super) fn count_param(&self, default: usize, max: usize) -> Result<(usize, usize), Fail> {
        let parse = |k: &str, d: usize| -> Result<usize, Fail> {
            match self.q(k) {
                None => Ok(d),
                Some(v) => v
                    .parse::<usize>()
                    .map_err(|_| illegal(format!("Invalid value for query parameter {k}: {v}"))),
            }
        };
        let start = parse("start", 0)?;
        let count = parse("count", default)?.min(max);
        Ok((start, count))
    }

    pub(super) fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub(super) fn json_body(&self) -> Result<Value, Fail> {
        if self.req.body.is_empty() {
            return Err(illegal("Request body is empty"));
        }
        serde_json::from_slice(&self.req.body)
            .map_err(|e| illegal(format!("Could not parse the request body as JSON: {e}")))
    }

    pub(super) fn label(&self, resource: &str, method: &str) -> String {
        format!("{resource}.{method}.{}", self.version)
    }

    /// A path key: percent-decoded, or a `400` when it holds a raw `:`.
    pub(super) fn key(&self, raw: &str, strict: bool) -> Result<String, Fail> {
        if strict && raw.contains(':') {
            return Err(illegal(format!(
                "Syntax exception in path variables: the key {raw} must be URL-encoded (Rest.li 2.0)"
            )));
        }
        Ok(pct_decode(raw))
    }
}

pub(super) fn area_of(path: &str) -> Option<Area> {
    if path.starts_with("/oauth/v2/") {
        Some(Area::OAuth)
    } else if path.starts_with("/v2/") {
        Some(Area::V2)
    } else if path.starts_with("/rest/") {
        Some(Area::Rest)
    } else if path.starts_with("/dms-uploads/") {
        Some(Area::Upload)
    } else {
        None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Area {
    OAuth,
    V2,
    Rest,
    Upload,
}
