//! Request parsing: which part of the fake a request is for, its query, form and JSON bodies.

use std::collections::HashMap;

use serde_json::Value;
use wiremock::Request;

use super::errors::{Fail, invalid_param};

pub(super) struct Ctx<'a> {
    pub(super) req: &'a Request,
    pub(super) method: String,
    pub(super) path: String,
    /// Decoded query pairs, in order.
    query: Vec<(String, String)>,
    pub(super) committed: bool,
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

    /// The JSON body of a posting call (`Content-Type: application/json; charset=UTF-8`).
    pub(super) fn json_body(&self) -> Result<Value, Fail> {
        let ct = self.header("content-type").unwrap_or_default();
        if !ct.to_ascii_lowercase().starts_with("application/json") {
            return Err(invalid_param(format!(
                "Content-Type must be application/json; charset=UTF-8, got {ct:?}"
            )));
        }
        serde_json::from_slice(&self.req.body)
            .map_err(|e| invalid_param(format!("The request body is not valid JSON: {e}")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Area {
    /// `/v2/oauth/*`.
    OAuth,
    /// Every other `/v2/*`.
    Api,
    /// `/video/?upload_id=...`: the upload URLs the inits hand out.
    Upload,
}

pub(super) fn area_of(path: &str) -> Option<Area> {
    if path.starts_with("/v2/oauth/") {
        Some(Area::OAuth)
    } else if path.starts_with("/v2/") {
        Some(Area::Api)
    } else if path == "/video/" {
        Some(Area::Upload)
    } else {
        None
    }
}
