//! The v4 API's local posts: `create`, `get`, `list`, `patch` and `delete` under
//! `/v4/accounts/{a}/locations/{l}/localPosts`
//! (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts>,
//! <https://developers.google.com/my-business/content/posts-data>).
//!
//! A body is bound as Google's transcoder binds it (an unknown field, a wrong JSON type or an
//! unknown enum value is `400 INVALID_ARGUMENT` with a `BadRequest`), then validated against
//! the reference's rules (a `ValidationError` of `ErrorDetail`s):
//!
//! - `topicType` is required (`STANDARD`, `EVENT`, `OFFER`, `ALERT`); a `STANDARD` post needs
//!   a `summary` or a photo ("Standard local post must have summary or photo.", the message
//!   users report); `summary` is at most
//!   [`GbpFakeConfig::summary_max_chars`](super::GbpFakeConfig::summary_max_chars).
//! - `callToAction.actionType` is required and not `GET_OFFER` (deprecated: "Use OFFER in
//!   LocalPostTopicType"); `url` is a required absolute http(s) URL, and "should be left unset
//!   for Call CTA"; the call to action of an `OFFER` is ignored (dropped), as the reference
//!   says.
//! - `event` is "Required for topic types EVENT and OFFER", with a `title` and a `schedule`
//!   holding valid `startDate` and `endDate`; the times are both set or both left out (the
//!   reference's `TimeInterval` says "It must contain all fields to be valid", but Google's
//!   own UI makes all-day events; the fake accepts dates alone); the end is not before the
//!   start (`INVERTED_RANGE`) nor in the past (`EXPIRED_VALUE`).
//! - `offer` "should only be set when the topicType is OFFER"; `alertType` only for `ALERT`,
//!   where it is required and the post carries only a summary and a call to action ("Covid
//!   posts only support a summary field and a call to action field").
//! - `media[]` items need `mediaFormat` (`PHOTO` or `VIDEO`) and `sourceUrl` ("sourceUrl is the
//!   only supported data field for a LocalPost MediaItem"; `dataRef` is refused); a URL marked
//!   with [`GbpFake::fail_photo_fetch`](super::GbpFake::fail_photo_fetch) is
//!   `PHOTO_FETCH_FAILED`.
//! - `scheduledTime` ("If set, determines when a post will be published") in the future makes
//!   the post `SCHEDULED` until then; one not in the future publishes now (the reference says
//!   nothing of a past time).
//!
//! A new post is `PROCESSING` for [`GbpFakeConfig::processing_secs`](super::GbpFakeConfig::processing_secs)
//! of fake time, then `LIVE` (with `searchUrl`) or `REJECTED`
//! ([`GbpFake::reject_next_post`](super::GbpFake::reject_next_post), or a phone number in the
//! summary); a patch starts the review again. Writes need the location's
//! `canOperateLocalPost` and `hasVoiceOfMerchant` (otherwise `400 FAILED_PRECONDITION`
//! "Precondition check failed.", as users report) and count against the per-location edit
//! limit. `list` answers the posts newest first (the order is undocumented), `pageSize` 1–100,
//! default 20.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value, json};

use super::accounts::page;
use super::errors::{
    Answer, ErrorCode, Fail, Reply, Violation, bind_error, fail, invalid_field, not_found,
    permission_denied, validation_failed,
};
use super::request::Ctx;
use super::routing::prune;
use super::state::{PostRec, State};

/// A JSON type as the transcoder binds it.
#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    Int,
    Ts,
    Enum(&'static str, &'static [&'static str]),
    Obj(&'static str, &'static [(&'static str, Ty)]),
    Arr(&'static Ty),
    /// A message the fake does not look inside.
    Any,
}

const DATE: Ty = Ty::Obj(
    "google.type.Date",
    &[("year", Ty::Int), ("month", Ty::Int), ("day", Ty::Int)],
);
const TIME: Ty = Ty::Obj(
    "google.type.TimeOfDay",
    &[
        ("hours", Ty::Int),
        ("minutes", Ty::Int),
        ("seconds", Ty::Int),
        ("nanos", Ty::Int),
    ],
);
const MEDIA_ITEM: Ty = Ty::Obj(
    "google.mybusiness.v4.MediaItem",
    &[
        ("name", Ty::Str),
        (
            "mediaFormat",
            Ty::Enum(
                "google.mybusiness.v4.MediaItem.MediaFormat",
                &["MEDIA_FORMAT_UNSPECIFIED", "PHOTO", "VIDEO"],
            ),
        ),
        ("locationAssociation", Ty::Any),
        ("googleUrl", Ty::Str),
        ("thumbnailUrl", Ty::Str),
        ("createTime", Ty::Ts),
        ("dimensions", Ty::Any),
        ("insights", Ty::Any),
        ("attribution", Ty::Any),
        ("description", Ty::Str),
        ("sourceUrl", Ty::Str),
        ("dataRef", Ty::Any),
    ],
);
const LOCAL_POST: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("languageCode", Ty::Str),
    ("summary", Ty::Str),
    (
        "callToAction",
        Ty::Obj(
            "google.mybusiness.v4.CallToAction",
            &[
                (
                    "actionType",
                    Ty::Enum(
                        "google.mybusiness.v4.CallToAction.ActionType",
                        &[
                            "ACTION_TYPE_UNSPECIFIED",
                            "BOOK",
                            "ORDER",
                            "SHOP",
                            "LEARN_MORE",
                            "SIGN_UP",
                            "GET_OFFER",
                            "CALL",
                        ],
                    ),
                ),
                ("url", Ty::Str),
            ],
        ),
    ),
    ("createTime", Ty::Ts),
    ("updateTime", Ty::Ts),
    ("scheduledTime", Ty::Ts),
    ("recurringInstanceTime", Ty::Ts),
    (
        "event",
        Ty::Obj(
            "google.mybusiness.v4.LocalPostEvent",
            &[
                ("title", Ty::Str),
                (
                    "schedule",
                    Ty::Obj(
                        "google.mybusiness.v4.TimeInterval",
                        &[
                            ("startDate", DATE),
                            ("startTime", TIME),
                            ("endDate", DATE),
                            ("endTime", TIME),
                        ],
                    ),
                ),
                ("recurrenceInfo", Ty::Any),
                ("recurringInstanceTime", Ty::Ts),
            ],
        ),
    ),
    (
        "state",
        Ty::Enum(
            "google.mybusiness.v4.LocalPost.LocalPostState",
            &[
                "LOCAL_POST_STATE_UNSPECIFIED",
                "REJECTED",
                "LIVE",
                "PROCESSING",
                "SCHEDULED",
                "RECURRING",
            ],
        ),
    ),
    ("media", Ty::Arr(&MEDIA_ITEM)),
    ("searchUrl", Ty::Str),
    (
        "topicType",
        Ty::Enum(
            "google.mybusiness.v4.LocalPostTopicType",
            &[
                "LOCAL_POST_TOPIC_TYPE_UNSPECIFIED",
                "STANDARD",
                "EVENT",
                "OFFER",
                "ALERT",
            ],
        ),
    ),
    (
        "alertType",
        Ty::Enum(
            "google.mybusiness.v4.AlertType",
            &["ALERT_TYPE_UNSPECIFIED", "COVID_19"],
        ),
    ),
    (
        "offer",
        Ty::Obj(
            "google.mybusiness.v4.LocalPostOffer",
            &[
                ("couponCode", Ty::Str),
                ("redeemOnlineUrl", Ty::Str),
                ("termsConditions", Ty::Str),
            ],
        ),
    ),
];

/// The fields a client sets (the rest are output only).
const SETTABLE: &[&str] = &[
    "languageCode",
    "summary",
    "callToAction",
    "event",
    "media",
    "topicType",
    "alertType",
    "offer",
    "scheduledTime",
];

/// `callToAction` → `call_to_action`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Binds `v` to `ty` at `path` (proto names), as the transcoder does.
fn bind(v: &Value, ty: Ty, path: &str) -> Result<(), Fail> {
    let bad = |type_name: &str| {
        let description = format!("Invalid value at '{path}' ({type_name}), {v}");
        Err(super::errors::invalid_argument(
            &description,
            path,
            &description,
        ))
    };
    if v.is_null() {
        return Ok(());
    }
    match ty {
        Ty::Any => Ok(()),
        Ty::Str if v.is_string() => Ok(()),
        Ty::Str => bad("TYPE_STRING"),
        Ty::Int if int_of(v).is_some_and(|n| i32::try_from(n).is_ok()) => Ok(()),
        Ty::Int => bad("TYPE_INT32"),
        Ty::Ts => match v.as_str().map(DateTime::parse_from_rfc3339) {
            Some(Ok(_)) => Ok(()),
            _ => bad("type.googleapis.com/google.protobuf.Timestamp"),
        },
        Ty::Enum(name, values) => match v.as_str() {
            Some(s) if values.contains(&s) => Ok(()),
            _ => bad(&format!("type.googleapis.com/{name}")),
        },
        Ty::Arr(item) => {
            let Some(items) = v.as_array() else {
                return bad("TYPE_MESSAGE");
            };
            for (i, it) in items.iter().enumerate() {
                bind(it, *item, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        Ty::Obj(name, fields) => {
            let Some(obj) = v.as_object() else {
                return bad(&format!("type.googleapis.com/{name}"));
            };
            for (k, fv) in obj {
                let Some((_, fty)) = fields
                    .iter()
                    .find(|(f, _)| *f == k.as_str() || snake(f) == *k)
                else {
                    return Err(bind_error(&format!(
                        "Invalid JSON payload received. Unknown name \"{k}\" at '{path}': \
                         Cannot find field."
                    )));
                };
                bind(fv, *fty, &format!("{path}.{}", snake(k)))?;
            }
            Ok(())
        }
    }
}

/// Binds a `LocalPost` body and answers it with JSON names only (proto names renamed).
fn bind_local_post(body: &Value) -> Result<Map<String, Value>, Fail> {
    let Some(obj) = body.as_object() else {
        return Err(bind_error(&format!(
            "Invalid JSON payload received. Expected an object for 'local_post', got {body}."
        )));
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some((name, ty)) = LOCAL_POST
            .iter()
            .find(|(f, _)| *f == k.as_str() || snake(f) == *k)
        else {
            return Err(bind_error(&format!(
                "Invalid JSON payload received. Unknown name \"{k}\": Cannot find field."
            )));
        };
        bind(v, *ty, &format!("local_post.{}", snake(name)))?;
        if !v.is_null() {
            out.insert((*name).to_owned(), camel_keys(v));
        }
    }
    Ok(out)
}

/// `v` with every object key in its JSON (camelCase) name.
fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (super::request::json_name(k), camel_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

fn web_url(s: &str) -> bool {
    url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

/// An integer as proto3 JSON takes it: a number, or a string of one.
fn int_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A `google.type.Date` as a calendar day, when it is a full, valid one.
fn date_of(v: &Value) -> Option<NaiveDate> {
    let n = |k: &str| v.get(k).and_then(int_of).unwrap_or(0);
    let (y, m, d) = (n("year"), n("month"), n("day"));
    if !(1..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        i32::try_from(y).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(d).ok()?,
    )
}

/// A `google.type.TimeOfDay` as seconds into the day, when valid (24:00 is refused).
fn time_of(v: &Value) -> Option<i64> {
    let n = |k: &str| v.get(k).and_then(int_of).unwrap_or(0);
    let (h, m, s, ns) = (n("hours"), n("minutes"), n("seconds"), n("nanos"));
    ((0..=23).contains(&h)
        && (0..=59).contains(&m)
        && (0..=59).contains(&s)
        && (0..=999_999_999).contains(&ns))
    .then_some(h * 3600 + m * 60 + s)
}

/// Whether `text` holds something dialable: a run of digits and separators (spaces, `-`,
/// `.`, `(`, `)`, a leading `+`) with 7 to 15 digits that starts with `+` or `(`, has 10
/// digits or more, or is grouped `ddd-dddd`. Dates (`2026-04-01`) and prices are not.
pub(super) fn has_phone_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() || matches!(chars[i], '+' | '(');
        if !starts {
            i += 1;
            continue;
        }
        let begin = i;
        let mut groups: Vec<usize> = Vec::new();
        let mut current = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_digit() {
                current += 1;
            } else if matches!(c, ' ' | '-' | '.' | '(' | ')') || (c == '+' && i == begin) {
                if current > 0 {
                    groups.push(current);
                    current = 0;
                }
            } else {
                break;
            }
            i += 1;
        }
        if current > 0 {
            groups.push(current);
        }
        let digits: usize = groups.iter().sum();
        let lead = matches!(chars[begin], '+' | '(');
        if (7..=15).contains(&digits) && (lead || digits >= 10 || groups == [3, 4]) {
            return true;
        }
        i = i.max(begin + 1);
    }
    false
}

impl State {
    /// Checks a bound post against the reference's rules; `Ok` holds what Google keeps.
    fn validate_post(
        &self,
        mut post: Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<Violation>> {
        use ErrorCode::*;
        post.retain(|k, _| SETTABLE.contains(&k.as_str()));
        let mut v = Vec::new();
        let topic = str_of(&post, "topicType").unwrap_or("LOCAL_POST_TOPIC_TYPE_UNSPECIFIED");
        let topic = topic.to_owned();
        if topic == "LOCAL_POST_TOPIC_TYPE_UNSPECIFIED" {
            v.push(Violation::new(
                MissingValue,
                "topic_type",
                "The topic type of the post is required.",
            ));
        }
        if let Some(lang) = str_of(&post, "languageCode") {
            let ok = !lang.is_empty()
                && lang.split('-').all(|s| {
                    (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if !ok {
                v.push(
                    Violation::new(InvalidValue, "language_code", "Invalid language code.")
                        .value(lang),
                );
            }
        }
        let summary = str_of(&post, "summary").unwrap_or("").to_owned();
        let max = self.config.summary_max_chars;
        if summary.chars().count() > max {
            v.push(Violation::new(
                InvalidValue,
                "summary",
                format!("The summary is too long: at most {max} characters."),
            ));
        }
        let media_count = post
            .get("media")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if topic == "STANDARD" && summary.is_empty() && media_count == 0 {
            v.push(Violation::new(
                MissingValue,
                "summary",
                "Standard local post must have summary or photo.",
            ));
        }
        if topic == "OFFER" {
            post.remove("callToAction");
        }
        if let Some(cta) = post.get("callToAction") {
            let action = cta
                .get("actionType")
                .and_then(Value::as_str)
                .unwrap_or("ACTION_TYPE_UNSPECIFIED");
            let url = cta.get("url").and_then(Value::as_str);
            match action {
                "ACTION_TYPE_UNSPECIFIED" => v.push(Violation::new(
                    MissingValue,
                    "call_to_action.action_type",
                    "The call to action needs an action type.",
                )),
                "GET_OFFER" => v.push(
                    Violation::new(
                        UnsupportedValue,
                        "call_to_action.action_type",
                        "GET_OFFER is deprecated: use topic type OFFER.",
                    )
                    .value(action),
                ),
                "CALL" if url.is_some() => v.push(Violation::new(
                    InvalidValue,
                    "call_to_action.url",
                    "A CALL call to action takes no url: Google uses the business phone.",
                )),
                "CALL" => {}
                _ => match url {
                    None | Some("") => v.push(Violation::new(
                        MissingValue,
                        "call_to_action.url",
                        "The call to action needs a url.",
                    )),
                    Some(u) if !web_url(u) => v.push(
                        Violation::new(InvalidValue, "call_to_action.url", "Invalid url.").value(u),
                    ),
                    Some(_) => {}
                },
            }
        }
        match post.get("event") {
            None if matches!(topic.as_str(), "EVENT" | "OFFER") => v.push(Violation::new(
                MissingValue,
                "event",
                format!("A local post of topic type {topic} needs an event."),
            )),
            None => {}
            Some(event) => self.validate_event(event, &topic, &mut v),
        }
        if let Some(offer) = post.get("offer") {
            if topic != "OFFER" {
                v.push(Violation::new(
                    InvalidValue,
                    "offer",
                    "Offer data is only for posts of topic type OFFER.",
                ));
            }
            if let Some(u) = offer.get("redeemOnlineUrl").and_then(Value::as_str)
                && !web_url(u)
            {
                v.push(
                    Violation::new(InvalidValue, "offer.redeem_online_url", "Invalid url.")
                        .value(u),
                );
            }
        }
        let alert = str_of(&post, "alertType").filter(|a| *a != "ALERT_TYPE_UNSPECIFIED");
        match (topic.as_str(), alert) {
            ("ALERT", None) => v.push(Violation::new(
                MissingValue,
                "alert_type",
                "An ALERT post needs an alert type.",
            )),
            ("ALERT", Some(_)) => {
                for k in ["media", "event", "offer"] {
                    if post.contains_key(k) {
                        v.push(Violation::new(
                            InvalidValue,
                            &snake(k),
                            "Alert posts only support a summary and a call to action.",
                        ));
                    }
                }
            }
            (_, Some(a)) => v.push(
                Violation::new(
                    InvalidValue,
                    "alert_type",
                    "The alert type only applies to posts of topic type ALERT.",
                )
                .value(a),
            ),
            _ => {}
        }
        if let Some(items) = post.get("media").and_then(Value::as_array) {
            for (i, item) in items.iter().enumerate() {
                let format = item
                    .get("mediaFormat")
                    .and_then(Value::as_str)
                    .unwrap_or("MEDIA_FORMAT_UNSPECIFIED");
                if format == "MEDIA_FORMAT_UNSPECIFIED" {
                    v.push(
                        Violation::new(
                            MissingValue,
                            "media.media_format",
                            "The media format is required.",
                        )
                        .index(i),
                    );
                }
                if item.get("dataRef").is_some() {
                    v.push(
                        Violation::new(
                            UnsupportedValue,
                            "media.data_ref",
                            "sourceUrl is the only supported data field for a LocalPost MediaItem.",
                        )
                        .index(i),
                    );
                }
                match item.get("sourceUrl").and_then(Value::as_str) {
                    None | Some("") => v.push(
                        Violation::new(
                            MissingValue,
                            "media.source_url",
                            "The media item needs a source url.",
                        )
                        .index(i),
                    ),
                    Some(u) if !web_url(u) => v.push(
                        Violation::new(InvalidValue, "media.source_url", "Invalid url.")
                            .value(u)
                            .index(i),
                    ),
                    Some(u) if self.unfetchable.contains(u) => v.push(
                        Violation::new(
                            PhotoFetchFailed,
                            "media.source_url",
                            "Fetch photo from the specified URL failed.",
                        )
                        .value(u)
                        .index(i),
                    ),
                    Some(_) => {}
                }
            }
        }
        if !v.is_empty() {
            return Err(v);
        }
        // Timestamps are answered Z-normalized.
        if let Some(at) = scheduled_at(&post).and_then(|t| DateTime::from_timestamp(t, 0)) {
            post.insert(
                "scheduledTime".to_owned(),
                at.format("%Y-%m-%dT%H:%M:%SZ").to_string().into(),
            );
        }
        Ok(post)
    }

    fn validate_event(&self, event: &Value, topic: &str, v: &mut Vec<Violation>) {
        use ErrorCode::*;
        if !matches!(topic, "EVENT" | "OFFER") {
            return;
        }
        if event
            .get("title")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            v.push(Violation::new(
                MissingValue,
                "event.title",
                "The event needs a title.",
            ));
        }
        let Some(schedule) = event.get("schedule") else {
            v.push(Violation::new(
                MissingValue,
                "event.schedule",
                "The event needs a schedule.",
            ));
            return;
        };
        let mut day = |k: &str| match schedule.get(k) {
            None => {
                v.push(Violation::new(
                    MissingValue,
                    &format!("event.schedule.{}", snake(k)),
                    "The schedule needs a start and an end date.",
                ));
                None
            }
            Some(d) => {
                let parsed = date_of(d);
                if parsed.is_none() {
                    v.push(Violation::new(
                        InvalidValue,
                        &format!("event.schedule.{}", snake(k)),
                        "Invalid date.",
                    ));
                }
                parsed
            }
        };
        let (start, end) = (day("startDate"), day("endDate"));
        let (st, et) = (schedule.get("startTime"), schedule.get("endTime"));
        let times = match (st, et) {
            (None, None) => Some((0, 86_399)),
            (Some(a), Some(b)) => match (time_of(a), time_of(b)) {
                (Some(a), Some(b)) => Some((a, b)),
                (a, _) => {
                    let k = if a.is_none() {
                        "start_time"
                    } else {
                        "end_time"
                    };
                    v.push(Violation::new(
                        InvalidValue,
                        &format!("event.schedule.{k}"),
                        "Invalid time of day.",
                    ));
                    None
                }
            },
            (None, Some(_)) | (Some(_), None) => {
                v.push(Violation::new(
                    MissingValue,
                    if st.is_none() {
                        "event.schedule.start_time"
                    } else {
                        "event.schedule.end_time"
                    },
                    "Set both times of the schedule, or neither.",
                ));
                None
            }
        };
        let (Some(start), Some(end), Some((ts, te))) = (start, end, times) else {
            return;
        };
        let at = |d: NaiveDate, secs: i64| {
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp() + secs)
        };
        let (from, to) = (at(start, ts), at(end, te));
        if to < from {
            v.push(Violation::new(
                InvertedRange,
                "event.schedule",
                "The schedule ends before it starts.",
            ));
        } else if to < self.now() {
            v.push(Violation::new(
                ExpiredValue,
                "event.schedule.end_date",
                "The schedule has already ended.",
            ));
        }
    }

    /// `404` unless `account` and its `location` exist, `403` unless `user` manages the
    /// account.
    fn post_location(&self, user: &str, account: &str, location: &str) -> Result<(), Fail> {
        if self.account(account).is_none() {
            return Err(not_found());
        }
        if !self.user_has_account(user, account) {
            return Err(permission_denied());
        }
        match self.location(location) {
            Some(l) if l.accounts.iter().any(|a| a == account) => Ok(()),
            _ => Err(not_found()),
        }
    }

    /// `400 FAILED_PRECONDITION` unless the location can take local posts.
    fn can_post(&self, location: &str) -> Result<(), Fail> {
        match self.location(location) {
            Some(l) if l.metadata.can_operate_local_post && l.metadata.has_voice_of_merchant => {
                Ok(())
            }
            _ => Err(fail(
                "FAILED_PRECONDITION",
                "Precondition check failed.",
                Vec::new(),
            )),
        }
    }

    /// Counts one local-post write of `location`; `429` past the per-location limit.
    fn count_edit(&mut self, location: &str) -> Result<(), Fail> {
        let limit = self.config.edits_per_minute_per_location;
        let now = self.now_ms();
        let window = self.edits.entry(location.to_owned()).or_default();
        prune(window, now);
        if window.len() >= limit as usize {
            return Err(self.quota_exceeded(
                super::MY_BUSINESS,
                "Edits per minute per Business Profile",
                "EditsPerMinutePerLocation",
                &format!("{}/location_edits", super::MY_BUSINESS),
                limit,
            ));
        }
        window.push_back(now);
        Ok(())
    }

    fn bind_and_validate(&self, post: Map<String, Value>) -> Result<Map<String, Value>, Fail> {
        self.validate_post(post)
            .map_err(|v| validation_failed(&v, self.config.v4_bad_request_details))
    }

    /// The review verdict of a post's content: a phone number, when the knob says so.
    fn content_rejection(&self, post: &Map<String, Value>) -> Option<String> {
        (self.config.reject_phone_numbers && str_of(post, "summary").is_some_and(has_phone_number))
            .then(|| "The summary contains a phone number.".to_owned())
    }

    pub(super) fn create_post(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
        location: &str,
    ) -> Answer {
        ctx.only_params(&[])?;
        self.post_location(user, account, location)?;
        let body = ctx.json_body()?;
        let bound = bind_local_post(&body)?;
        if bound
            .get("event")
            .is_some_and(|e| e.get("recurrenceInfo").is_some())
        {
            // Recurring posts are not modelled: loudly unmatched.
            return Err(Fail::Unmatched);
        }
        self.can_post(location)?;
        let fields = self.bind_and_validate(bound)?;
        self.count_edit(location)?;
        let now = self.now();
        let now_ms = self.now_ms();
        let scheduled_at = scheduled_at(&fields).filter(|t| *t > now);
        let rejection = self
            .reject_next
            .take()
            .or_else(|| self.content_rejection(&fields));
        let n = self.next();
        self.post_seq += 1 + n % 7;
        let id = self.post_seq.to_string();
        let review_from = scheduled_at.unwrap_or(now);
        self.posts.push(PostRec {
            id,
            account: account.to_owned(),
            location: location.to_owned(),
            fields,
            request: body,
            create_ms: now_ms,
            update_ms: now_ms,
            scheduled_at,
            review_ends: review_from + self.config.processing_secs,
            gets: 0,
            rejection,
            deleted: false,
        });
        ctx.committed = true;
        let i = self.posts.len() - 1;
        Ok(Reply::json(200, self.post_json(i)))
    }

    fn find_post(&self, account: &str, location: &str, post: &str) -> Result<usize, Fail> {
        self.posts
            .iter()
            .position(|p| {
                !p.deleted && p.account == account && p.location == location && p.id == post
            })
            .ok_or_else(not_found)
    }

    pub(super) fn get_post(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
        location: &str,
        post: &str,
    ) -> Answer {
        ctx.only_params(&[])?;
        self.post_location(user, account, location)?;
        let i = self.find_post(account, location, post)?;
        let answer = self.post_json(i);
        if let (Some(n), "PROCESSING") = (self.config.processing_gets, self.state_of(i)) {
            let now = self.now();
            let p = &mut self.posts[i];
            p.gets += 1;
            if p.gets >= n {
                p.review_ends = p.review_ends.min(now);
            }
            ctx.committed = true;
        }
        Ok(Reply::json(200, answer))
    }

    pub(super) fn list_posts(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
        location: &str,
    ) -> Answer {
        ctx.only_params(&["pageSize", "pageToken"])?;
        self.post_location(user, account, location)?;
        let mut mine: Vec<usize> = (0..self.posts.len())
            .filter(|i| {
                let p = &self.posts[*i];
                !p.deleted && p.account == account && p.location == location
            })
            .collect();
        mine.sort_by_key(|i| std::cmp::Reverse((self.posts[*i].create_ms, *i)));
        let (start, end, next) = page(
            ctx,
            &format!("localPosts:{account}/{location}"),
            mine.len(),
            20,
            100,
        )?;
        let posts: Vec<Value> = mine[start..end]
            .iter()
            .map(|i| self.post_json(*i))
            .collect();
        let mut body = json!({});
        if !posts.is_empty() {
            body["localPosts"] = Value::Array(posts);
        }
        if let Some(next) = next {
            body["nextPageToken"] = next.into();
        }
        Ok(Reply::json(200, body))
    }

    pub(super) fn patch_post(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
        location: &str,
        post: &str,
    ) -> Answer {
        ctx.only_params(&["updateMask"])?;
        self.post_location(user, account, location)?;
        let i = self.find_post(account, location, post)?;
        let Some(mask) = ctx.q("updateMask") else {
            return Err(invalid_field("update_mask", "Field is required"));
        };
        let body = ctx.json_body()?;
        let bound = bind_local_post(&body)?;
        let mut merged = self.posts[i].fields.clone();
        for path in mask.split(',').map(str::trim) {
            let name = super::request::json_name(path);
            let segs: Vec<&str> = name.split('.').collect();
            if segs.iter().any(|s| s.is_empty()) || !SETTABLE.contains(&segs[0]) {
                return Err(invalid_field("update_mask", "Invalid field mask provided"));
            }
            set_path(&mut merged, &segs, lookup(&bound, &segs));
        }
        if merged
            .get("event")
            .is_some_and(|e| e.get("recurrenceInfo").is_some())
        {
            return Err(Fail::Unmatched);
        }
        self.can_post(location)?;
        let fields = self.bind_and_validate(merged)?;
        self.count_edit(location)?;
        let now = self.now();
        let now_ms = self.now_ms();
        let scheduled_at = scheduled_at(&fields).filter(|t| *t > now);
        let rejection = self.content_rejection(&fields);
        let processing = self.config.processing_secs;
        let p = &mut self.posts[i];
        p.fields = fields;
        p.update_ms = now_ms;
        p.scheduled_at = scheduled_at;
        p.review_ends = scheduled_at.unwrap_or(now) + processing;
        p.gets = 0;
        p.rejection = rejection;
        ctx.committed = true;
        Ok(Reply::json(200, self.post_json(i)))
    }

    pub(super) fn delete_post(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
        location: &str,
        post: &str,
    ) -> Answer {
        ctx.only_params(&[])?;
        self.post_location(user, account, location)?;
        let i = self.find_post(account, location, post)?;
        self.count_edit(location)?;
        self.posts[i].deleted = true;
        ctx.committed = true;
        Ok(Reply::json(200, json!({})))
    }

    /// The `state` of post `i` now.
    pub(super) fn state_of(&self, i: usize) -> &'static str {
        let p = &self.posts[i];
        let now = self.now();
        if p.scheduled_at.is_some_and(|t| now < t) {
            "SCHEDULED"
        } else if now < p.review_ends {
            "PROCESSING"
        } else if p.rejection.is_some() {
            "REJECTED"
        } else {
            "LIVE"
        }
    }

    /// Post `i` as the API answers it now.
    pub(super) fn post_json(&self, i: usize) -> Value {
        let p = &self.posts[i];
        let state = self.state_of(i);
        let name = format!(
            "accounts/{}/locations/{}/localPosts/{}",
            p.account, p.location, p.id
        );
        let mut out = Map::new();
        out.insert("name".to_owned(), name.clone().into());
        for (k, v) in &p.fields {
            if k == "media" {
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
        if let Some(items) = p.fields.get("media").and_then(Value::as_array) {
            let media: Vec<Value> = items
                .iter()
                .enumerate()
                .map(|(n, item)| {
                    let key = crate::util::base64url(
                        &crate::util::fnv1a(
                            crate::util::FNV_OFFSET,
                            format!("{name}/{n}").as_bytes(),
                        )
                        .to_be_bytes(),
                    );
                    let mut m = json!({
                        "name": format!(
                            "accounts/{}/locations/{}/media/localPosts/AF1Qip{key}",
                            p.account, p.location
                        ),
                        "mediaFormat": item.get("mediaFormat").cloned().unwrap_or(Value::Null),
                        "googleUrl": format!("https://lh3.googleusercontent.com/p/AF1Qip{key}"),
                    });
                    if let Some(u) = item.get("sourceUrl") {
                        m["sourceUrl"] = u.clone();
                    }
                    m
                })
                .collect();
            out.insert("media".to_owned(), Value::Array(media));
        }
        out.insert("createTime".to_owned(), rfc3339_ms(p.create_ms).into());
        out.insert("updateTime".to_owned(), rfc3339_ms(p.update_ms).into());
        out.insert("state".to_owned(), state.into());
        if state == "LIVE" {
            let place = self
                .location(&p.location)
                .map_or("", |l| l.place_id.as_str());
            out.insert(
                "searchUrl".to_owned(),
                format!(
                    "https://local.google.com/place?id={place}&use=posts&lpsid=CIHM0ogKEICAgI{}",
                    p.id
                )
                .into(),
            );
        }
        Value::Object(out)
    }
}

/// The due time of a stored `scheduledTime`, unix seconds.
fn scheduled_at(fields: &Map<String, Value>) -> Option<i64> {
    str_of(fields, "scheduledTime")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
}

fn lookup(m: &Map<String, Value>, path: &[&str]) -> Option<Value> {
    let (first, rest) = path.split_first()?;
    let mut v = m.get(*first)?;
    for seg in rest {
        v = v.get(*seg)?;
    }
    Some(v.clone())
}

/// Sets (or, with `None`, clears) the value at `path`.
fn set_path(m: &mut Map<String, Value>, path: &[&str], value: Option<Value>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match value {
            Some(v) => {
                m.insert((*first).to_owned(), v);
            }
            None => {
                m.remove(*first);
            }
        }
        return;
    }
    let child = m
        .entry((*first).to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = child {
        set_path(inner, rest, value);
    }
}

/// RFC 3339 UTC with milliseconds, as Google answers timestamps.
pub(super) fn rfc3339_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_found_but_dates_and_prices_are_not() {
        for t in [
            "Call us at (555) 123-4567!",
            "Ring +44 20 7946 0958 today",
            "555-1234",
            "Phone 0201234567",
            "Tel. 030.1234.5678",
        ] {
            assert!(has_phone_number(t), "{t}");
        }
        for t in [
            "Open 2026-04-01 to 2026-04-03",
            "Everything $1,000 off",
            "Since 1998, 24/7",
            "Room 101 and 202",
            "Order #12345",
        ] {
            assert!(!has_phone_number(t), "{t}");
        }
    }

    #[test]
    fn bodies_bind_proto_or_json_names_and_refuse_unknown_ones() {
        let ok = bind_local_post(
            &json!({"topic_type": "STANDARD", "callToAction": {"action_type": "CALL"}}),
        )
        .ok()
        .unwrap();
        assert_eq!(ok["topicType"], "STANDARD");
        assert_eq!(ok["callToAction"]["actionType"], "CALL");
        assert!(bind_local_post(&json!({"sumary": "x"})).is_err());
        assert!(bind_local_post(&json!({"callToAction": {"link": "x"}})).is_err());
        assert!(bind_local_post(&json!({"topicType": "PRODUCT"})).is_err());
        assert!(bind_local_post(&json!({"summary": 7})).is_err());
        assert!(bind_local_post(&json!({"scheduledTime": "tomorrow"})).is_err());
    }
}
