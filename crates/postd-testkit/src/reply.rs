//! What a stateful fake's route answers: a status, an optional JSON body and
//! extra headers, or "no such route" (the loud `421` of an unmatched
//! request). Each fake's router turns a [`Reply`] into a wiremock response,
//! adding what its platform puts on every answer.

use serde_json::Value;

/// An answer to one request.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// An answer without a body.
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    /// The same answer with one more header.
    pub(crate) fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
}

/// A route that did not answer with success.
pub(crate) enum Fail {
    /// The platform's error answer.
    Reply(Reply),
    /// The platform has no such route (or the fake does not model it): the loud 421.
    Unmatched,
}

/// What a route returns.
pub(crate) type Answer = Result<Reply, Fail>;
