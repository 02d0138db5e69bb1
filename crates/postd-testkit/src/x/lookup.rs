//! Post lookup: `GET /2/tweets/:id` and `GET /2/tweets?ids=`, per
//! <https://docs.x.com/x-api/posts/lookup/introduction> and
//! <https://docs.x.com/x-api/posts/lookup/integrate>, with the metrics of
//! <https://docs.x.com/x-api/fundamentals/metrics>.
//!
//! - `ids` takes 1 to 100 comma-separated Post ids; an id is `^[0-9]{1,19}$`. `tweet.fields`
//!   values outside X's list are refused `400`; of the known ones the fake answers `id`,
//!   `text`, `edit_history_tweet_ids` (always), `created_at`, `author_id`,
//!   `conversation_id`, `reply_settings`, `attachments`, `public_metrics`,
//!   `non_public_metrics` and `organic_metrics`, and omits the others.
//! - A missing or deleted Post is a partial error: `200` with an `errors` entry of type
//!   `resource-not-found` (`"Could not find tweet with ids: [1]."`), the found Posts in
//!   `data`; the single-id form answers the same `200` with `errors` and no `data`
//!   ([`XFakeConfig::single_lookup_not_found_status`](super::XFakeConfig::single_lookup_not_found_status)
//!   picks another status).
//! - A protected author's Post read by another user is a `not-authorized-for-resource`
//!   entry.
//! - `non_public_metrics`, `organic_metrics` and `promoted_metrics` need user context and
//!   are only available for the authenticated user's own Posts created in the last 30
//!   days. For any other Post X answers `200` without that Post in `data` and one
//!   `not-authorized-for-field` problem ("Field Authorization Error", `section: "data"`) per
//!   sub-field (`non_public_metrics.impression_count`, ...), as the timelines guide puts
//!   it: "only Posts that are authored by the authenticated user will be returned, all
//!   other Posts will receive an error message"
//!   (<https://docs.x.com/x-api/posts/timelines/integrate>; the problem's fields are those
//!   of X's OpenAPI `FieldUnauthorizedProblem` and of the answers users report). The docs
//!   do not say what a lookup of an own Post older than 30 days answers; the fake answers
//!   the same field errors. No Post of the fake is promoted: `promoted_metrics` is never
//!   in `data`.

use serde_json::{Value, json};

use super::errors::{Answer, Fail, PROBLEMS, Reply, invalid};
use super::posts::post_json;
use super::request::Ctx;
use super::state::{PostRec, State, TokenRec};

/// Non-public, organic and promoted metrics cover Posts of the last 30 days.
pub(super) const PRIVATE_METRICS_SECS: i64 = 30 * 86_400;

/// Most ids one `GET /2/tweets` takes.
const MAX_IDS: usize = 100;

/// The private metrics fields and the sub-fields X names in a field authorization error.
const PRIVATE_FIELDS: &[(&str, &[&str])] = &[
    (
        "non_public_metrics",
        &["impression_count", "url_link_clicks", "user_profile_clicks"],
    ),
    (
        "organic_metrics",
        &[
            "impression_count",
            "like_count",
            "reply_count",
            "retweet_count",
            "url_link_clicks",
            "user_profile_clicks",
        ],
    ),
    (
        "promoted_metrics",
        &[
            "impression_count",
            "like_count",
            "reply_count",
            "retweet_count",
            "url_link_clicks",
            "user_profile_clicks",
        ],
    ),
];

/// The `tweet.fields` values X's API reference lists.
const TWEET_FIELDS: &[&str] = &[
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "text",
    "withheld",
];

pub(super) fn is_private_field(field: &str) -> bool {
    PRIVATE_FIELDS.iter().any(|(f, _)| *f == field)
}

/// The `not-authorized-for-field` problems a request for `fields` on `p` by `user` earns:
/// none when no private field is asked for, or `p` is `user`'s own and under 30 days old.
pub(super) fn private_field_errors(
    p: &PostRec,
    user: &str,
    fields: &[&str],
    parameter: Option<&str>,
    now: i64,
) -> Vec<Value> {
    if p.author_id == user && now - p.created_at < PRIVATE_METRICS_SECS {
        return Vec::new();
    }
    let id = p.id.to_string();
    let mut out = Vec::new();
    for (field, subs) in PRIVATE_FIELDS {
        if !fields.contains(field) {
            continue;
        }
        for sub in *subs {
            let name = format!("{field}.{sub}");
            let mut e = json!({
                "resource_type": "tweet",
                "field": name,
                "resource_id": id,
                "title": "Field Authorization Error",
                "section": "data",
                "detail": format!(
                    "Sorry, you are not authorized to access '{name}' on the Tweet with id : [{id}]."
                ),
                "value": id,
                "type": format!("{PROBLEMS}not-authorized-for-field"),
            });
            if let Some(param) = parameter {
                e["parameter"] = param.into();
            }
            out.push(e);
        }
    }
    out
}

fn not_found(id: &str, parameter: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find tweet with {parameter}: [{id}]."),
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": parameter,
        "resource_id": id,
        "type": format!("{PROBLEMS}resource-not-found"),
    })
}

fn not_authorized(id: &str, parameter: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Sorry, you are not authorized to see the Tweet with {parameter}: [{id}]."),
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": parameter,
        "resource_id": id,
        "section": "data",
        "type": format!("{PROBLEMS}not-authorized-for-resource"),
    })
}

fn valid_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// What one id answers: the Post, or the errors standing in for it.
enum Looked {
    Found(Value),
    Missing(Value),
    Denied(Vec<Value>),
}

impl State {
    /// `tweet.fields`, each value one of X's.
    fn tweet_fields(ctx: &Ctx<'_>) -> Result<Vec<String>, Fail> {
        let Some(q) = ctx.q("tweet.fields") else {
            return Ok(Vec::new());
        };
        let fields: Vec<String> = q.split(',').map(|f| f.trim().to_owned()).collect();
        if let Some(bad) = fields.iter().find(|f| !TWEET_FIELDS.contains(&f.as_str())) {
            return Err(invalid(
                "tweet.fields",
                bad,
                format!(
                    "The `tweet.fields` query parameter value [{bad}] is not one of [{}]",
                    TWEET_FIELDS.join(",")
                ),
            ));
        }
        Ok(fields)
    }

    fn look_up(&self, tok: &TokenRec, id: &str, fields: &[&str], parameter: &str) -> Looked {
        let Some(p) = self
            .posts
            .iter()
            .find(|p| !p.deleted && p.id.to_string() == id)
        else {
            return Looked::Missing(not_found(id, parameter));
        };
        if p.author_id != tok.user_id && self.users.get(&p.author_id).is_some_and(|u| u.protected) {
            return Looked::Denied(vec![not_authorized(id, parameter)]);
        }
        let denied = private_field_errors(p, &tok.user_id, fields, Some(parameter), self.now());
        if denied.is_empty() {
            Looked::Found(post_json(p, fields))
        } else {
            Looked::Denied(denied)
        }
    }

    /// `GET /2/tweets/:id`.
    pub(super) fn lookup_one(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, id: &str) -> Answer {
        if !valid_id(id) {
            return Err(invalid(
                "id",
                id,
                format!("The `id` query parameter value [{id}] does not match ^[0-9]{{1,19}}$"),
            ));
        }
        let fields = Self::tweet_fields(ctx)?;
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        Ok(match self.look_up(tok, id, &fields, "id") {
            Looked::Found(post) => Reply::json(200, json!({"data": post})),
            Looked::Missing(e) => Reply::json(
                self.config.single_lookup_not_found_status.unwrap_or(200),
                json!({"errors": [e]}),
            ),
            Looked::Denied(errors) => Reply::json(200, json!({"errors": errors})),
        })
    }

    /// `GET /2/tweets?ids=`: the found Posts in `data`, in the order asked, and an `errors`
    /// entry for each of the others.
    pub(super) fn lookup_many(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        let Some(ids_q) = ctx.q("ids") else {
            return Err(invalid(
                "ids",
                "",
                "The `ids` query parameter can not be empty",
            ));
        };
        let ids: Vec<&str> = ids_q.split(',').collect();
        if ids.len() > MAX_IDS {
            return Err(invalid(
                "ids",
                &ids_q,
                format!(
                    "The number of values in the `ids` query parameter list [{}] is not between 1 and {MAX_IDS}",
                    ids.len()
                ),
            ));
        }
        if let Some(bad) = ids.iter().find(|id| !valid_id(id)) {
            return Err(invalid(
                "ids",
                bad,
                format!("The `ids` query parameter value [{bad}] does not match ^[0-9]{{1,19}}$"),
            ));
        }
        let fields = Self::tweet_fields(ctx)?;
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let mut data = Vec::new();
        let mut errors = Vec::new();
        for id in ids {
            match self.look_up(tok, id, &fields, "ids") {
                Looked::Found(post) => data.push(post),
                Looked::Missing(e) => errors.push(e),
                Looked::Denied(es) => errors.extend(es),
            }
        }
        let mut body = json!({});
        if !data.is_empty() {
            body["data"] = data.into();
        }
        if !errors.is_empty() {
            body["errors"] = errors.into();
        }
        Ok(Reply::json(200, body))
    }
}
