//! Local posts: what `validate` checks, the `LocalPost` body, the create,
//! Google's review states, and reconciliation by `localPosts.list`
//! (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts>,
//! <https://developers.google.com/my-business/content/posts-data>).
//!
//! - **Body**: `topicType` STANDARD, EVENT (title and schedule), OFFER (the
//!   schedule plus coupon, redeem URL and terms; Google ignores a
//!   call-to-action on an offer, so one is refused rather than dropped) or
//!   ALERT (legacy, opt-in); a call-to-action from a closed set (`CALL`
//!   without a URL: Google dials the business's number); one photo by a
//!   public `https` URL Google fetches (local posts take no uploaded bytes).
//!   `Post.link` without a call-to-action becomes `LEARN_MORE`.
//! - **Scheduling**: a post with `schedule_at` is handed to Google's own
//!   scheduler (`scheduledTime`), so the engine and Google never both
//!   schedule it: the engine passes `schedule_at` only inside
//!   [`SCHEDULE_WINDOW`], and holds the post itself otherwise.
//! - **States**: a create answers `PROCESSING` (review under way) or
//!   `SCHEDULED`: both are [`PublishOutcome::Pending`] until `LIVE`
//!   (published, with `searchUrl`) or `REJECTED` (a failure: Google gives no
//!   reason in the API, so the message says what usually causes it and where
//!   to look). A review still under way [`GbpConfig::review_horizon`](crate::GbpConfig::review_horizon)
//!   after the create (or after the scheduled time) is given up on.
//! - **Exactly once**: the create is sent once (5xx, resets, timeouts and a
//!   2xx that is not a `LocalPost` are unknown outcomes); `find_published`
//!   lists the location's posts (up to [`MAX_LIST_PAGES`] pages of 100) and
//!   matches the summary and creation time, and answers "absent" only after
//!   reading the list to its end.

use chrono::{DateTime, Datelike, Timelike, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::{
    Capabilities, Error, ErrorKind, Fingerprint, GbpOptions, GbpTopic, MediaKind, MediaSource,
    Platform, Post, PublishHandle, PublishOutcome, PublishStatus, PublishedPost, Result, Retry,
    ScheduleWindow, Target, TokenSet,
};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::api::{Api, Host};
use crate::error::REJECTED;
use crate::names::{LocalPostName, LocationName};

/// The longest summary, in characters (Unicode scalar values). The v4
/// reference gives no number; 1,500 is the Business Profile Help Center's.
pub const SUMMARY_MAX_CHARS: usize = 1500;

/// When a post may be handed to Google's scheduler: 10 minutes to a year
/// ahead. Google documents no window for `scheduledTime`; these bounds are
/// POSTD's, so a post is never due before Google has it.
pub const SCHEDULE_WINDOW: ScheduleWindow = ScheduleWindow::new(
    std::time::Duration::from_secs(10 * 60),
    std::time::Duration::from_secs(365 * 24 * 3600),
);

/// The call-to-action types Google takes (`ACTION_TYPE_UNSPECIFIED` and the
/// deprecated `GET_OFFER` are refused).
pub const ACTION_TYPES: &[&str] = &["BOOK", "ORDER", "SHOP", "LEARN_MORE", "SIGN_UP", "CALL"];

/// The most pages of 100 posts `find_published` reads.
pub const MAX_LIST_PAGES: usize = 5;

/// The handle kind of a post under Google's review (or scheduled).
pub(crate) const HANDLE_KIND: &str = "gbp_local_post";

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid_content(message)
        .with_platform(Platform::Gbp)
        .with_operation("validate")
}

fn unsupported(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unsupported, message.into())
        .with_platform(Platform::Gbp)
        .with_operation("validate")
}

/// The location a target names, or an `InvalidContent` error.
pub(crate) fn location_of(target: &Target) -> Result<LocationName> {
    target.id.parse::<LocationName>().map_err(|e| {
        let message = format!(
            "{} (a Business Profile target's id is the v4 location name)",
            e.message()
        );
        e.with_message(message).with_operation("validate")
    })
}

/// A syntactically valid BCP 47 tag: a 2-8 letter language, then subtags of
/// 1-8 letters or digits.
fn bcp47(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=8).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

/// A URL Google is asked to fetch: `https`, no credentials, and not a
/// loopback, private or link-local address (a URL handed to a fetcher is
/// checked as one).
fn fetchable(url: &Url) -> std::result::Result<(), &'static str> {
    use std::net::IpAddr;
    if url.scheme() != "https" {
        return Err("must be an https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let internal_v4 = |v4: std::net::Ipv4Addr| {
        let [a, b, ..] = v4.octets();
        v4.is_loopback()
            || v4.is_private()
            || v4.is_link_local()
            || v4.is_unspecified()
            || v4.is_broadcast()
            || a == 0
            // 100.64.0.0/10, carrier-grade NAT.
            || (a == 100 && (64..128).contains(&b))
    };
    let internal = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(internal_v4)
        }
    };
    match url.host() {
        Some(url::Host::Domain(d)) if localhost(d) => Err("must not point at this machine"),
        Some(url::Host::Ipv4(ip)) if internal(IpAddr::V4(ip)) => {
            Err("must not point at an internal address")
        }
        Some(url::Host::Ipv6(ip)) if internal(IpAddr::V6(ip)) => {
            Err("must not point at an internal address")
        }
        None => Err("has no host"),
        _ => Ok(()),
    }
}

/// `localhost`, a name under it, with or without the root's dot.
fn localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// The post's call-to-action: the explicit one, or `LEARN_MORE` to the link.
fn call_to_action(post: &Post, options: &GbpOptions) -> Option<(String, Option<Url>)> {
    match (&options.call_to_action, &post.link) {
        (Some(cta), _) => Some((cta.action_type.clone(), cta.url.clone())),
        (None, Some(link)) => Some(("LEARN_MORE".to_owned(), Some(link.clone()))),
        (None, None) => None,
    }
}

/// Everything `validate` checks, without I/O. `now` is the caller's clock.
pub(crate) fn validate(
    api: &Api,
    caps: &Capabilities,
    target: &Target,
    post: &Post,
    now: DateTime<Utc>,
) -> Result<()> {
    location_of(target)?;
    if target.can_publish == Some(false) {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{} cannot take local posts (Google lists it without canOperateLocalPost or without Voice of Merchant: unverified, suspended or a duplicate); verify it in Google's Business Profile manager",
                target.id
            ),
        )
        .with_platform(Platform::Gbp)
        .with_operation("validate"));
    }
    caps.check_common(post)?;
    let default_options = GbpOptions::default();
    let options = post.options.gbp.as_ref().unwrap_or(&default_options);
    let summary = post.text.as_deref().map(str::trim).unwrap_or("");
    match options.topic {
        GbpTopic::Standard | GbpTopic::Alert if summary.is_empty() => {
            return Err(invalid(
                "a STANDARD or ALERT local post needs a summary (the post's text)",
            ));
        }
        GbpTopic::Alert if !api.cfg.allow_alert_posts => {
            return Err(unsupported(
                "ALERT posts are a legacy COVID-19 type Google may no longer take; enable them with GBP_ALLOW_ALERT_POSTS",
            ));
        }
        _ => {}
    }
    if let Some(tag) = &options.language_code
        && !bcp47(tag)
    {
        return Err(invalid(format!(
            "language code {:?} is not a BCP 47 tag",
            tag.chars().take(40).collect::<String>()
        )));
    }
    match (options.topic, &options.event) {
        (GbpTopic::Event | GbpTopic::Offer, None) => {
            return Err(invalid(
                "an EVENT or OFFER local post needs an event: its title and schedule",
            ));
        }
        (GbpTopic::Standard | GbpTopic::Alert, Some(_)) => {
            return Err(invalid("only EVENT and OFFER local posts carry an event"));
        }
        (_, Some(event)) => {
            if event.title.trim().is_empty() {
                return Err(invalid("the event needs a title"));
            }
            if event.end < event.start {
                return Err(invalid("the event ends before it starts"));
            }
            if event.end <= now {
                return Err(invalid("the event has already ended"));
            }
        }
        _ => {}
    }
    if options.offer.is_some() && options.topic != GbpTopic::Offer {
        return Err(invalid("only OFFER local posts carry offer details"));
    }
    if let Some(offer) = &options.offer
        && let Some(u) = &offer.redeem_online_url
        && !web_url(u)
    {
        return Err(invalid("the offer's redeem URL must be an http(s) URL"));
    }
    if options.topic == GbpTopic::Offer && options.call_to_action.is_some() {
        return Err(invalid(
            "Google ignores a call-to-action on an OFFER post; remove it (the offer's redeem URL takes its place)",
        ));
    }
    if let (Some(cta), Some(link)) = (&options.call_to_action, &post.link)
        && cta.url.as_ref() != Some(link)
    {
        return Err(invalid(
            "the post has a link and a call-to-action with a different URL; a local post carries one",
        ));
    }
    if options.topic != GbpTopic::Offer
        && let Some((action, url)) = call_to_action(post, options)
    {
        if action == "GET_OFFER" {
            return Err(unsupported(
                "the GET_OFFER call-to-action is deprecated; make the post an OFFER instead",
            ));
        }
        if !ACTION_TYPES.contains(&action.as_str()) {
            return Err(invalid(format!(
                "call-to-action {:?} is not one of {}",
                action.chars().take(40).collect::<String>(),
                ACTION_TYPES.join(", ")
            )));
        }
        match (action.as_str(), url) {
            ("CALL", Some(_)) => {
                return Err(invalid(
                    "a CALL call-to-action takes no URL (Google dials the business's phone number)",
                ));
            }
            ("CALL", None) => {}
            (_, None) => {
                return Err(invalid(format!("the {action} call-to-action needs a URL")));
            }
            (_, Some(u)) if !web_url(&u) => {
                return Err(invalid("the call-to-action URL must be an http(s) URL"));
            }
            _ => {}
        }
    }
    if let Some(m) = post.media.first() {
        if m.kind != MediaKind::Image {
            return Err(unsupported(
                "a local post takes one photo; Google takes no video in posts through the API",
            ));
        }
        match &m.source {
            MediaSource::Url(u) => fetchable(u).map_err(|why| {
                invalid(format!(
                    "the photo URL {why}: Google fetches it from the public web"
                ))
            })?,
            _ => {
                return Err(unsupported(
                    "Google takes a local post's photo only from a public URL it fetches, not from a file or bytes: upload the photo somewhere public and pass its https URL",
                ));
            }
        }
    }
    if let Some(at) = post.schedule_at {
        let ahead = at.signed_duration_since(now);
        let min = chrono::TimeDelta::from_std(SCHEDULE_WINDOW.min_ahead).unwrap_or_default();
        let max = chrono::TimeDelta::from_std(SCHEDULE_WINDOW.max_ahead).unwrap_or_default();
        if ahead < min || ahead > max {
            return Err(invalid(format!(
                "a post handed to Google's scheduler must be due 10 minutes to 365 days ahead; {at} is not (without schedule_at the queue holds it instead)"
            )));
        }
    }
    Ok(())
}

/// What a user should know before sending `post`, though Google would take
/// it: phone numbers in the summary (posts carrying one are often rejected
/// by Google's review; a CALL button is the way to offer a call).
pub(crate) fn warnings(post: &Post) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(text) = &post.text
        && has_phone_number(text)
    {
        out.push(
            "the summary holds what looks like a phone number: Google often rejects such posts; use a CALL call-to-action instead"
                .to_owned(),
        );
    }
    out
}

/// A run of 7 to 15 digits, separated only by spaces, dots, dashes, slashes
/// or parentheses, optionally after a `+`.
pub(crate) fn has_phone_number(text: &str) -> bool {
    let mut digits = 0usize;
    let mut in_run = false;
    let mut seps = 0usize;
    let end = |d: usize| (7..=15).contains(&d);
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
            in_run = true;
            seps = 0;
        } else if in_run && matches!(c, ' ' | '.' | '-' | '/' | '(' | ')') && seps == 0 {
            seps += 1;
        } else if !in_run && matches!(c, '+' | '(') {
            // may open a number
        } else {
            if end(digits) {
                return true;
            }
            digits = 0;
            in_run = false;
            seps = 0;
        }
    }
    end(digits)
}

fn date(at: DateTime<Utc>) -> Value {
    json!({"year": at.year(), "month": at.month(), "day": at.day()})
}

fn time_of_day(at: DateTime<Utc>) -> Value {
    json!({"hours": at.hour(), "minutes": at.minute(), "seconds": at.second(), "nanos": 0})
}

/// The `LocalPost` body of `post`.
pub(crate) fn body(post: &Post) -> Value {
    let default_options = GbpOptions::default();
    let options = post.options.gbp.as_ref().unwrap_or(&default_options);
    let mut b = serde_json::Map::new();
    let topic = match options.topic {
        GbpTopic::Event => "EVENT",
        GbpTopic::Offer => "OFFER",
        GbpTopic::Alert => "ALERT",
        _ => "STANDARD",
    };
    b.insert(
        "languageCode".into(),
        json!(options.language_code.as_deref().unwrap_or("en-US")),
    );
    if let Some(text) = post.text.as_deref().filter(|t| !t.trim().is_empty()) {
        b.insert("summary".into(), json!(text));
    }
    b.insert("topicType".into(), json!(topic));
    if options.topic != GbpTopic::Offer
        && let Some((action, url)) = call_to_action(post, options)
    {
        let mut cta = json!({"actionType": action});
        if let (Some(u), false) = (url, action == "CALL") {
            cta["url"] = json!(u.as_str());
        }
        b.insert("callToAction".into(), cta);
    }
    if let Some(m) = post.media.first()
        && let MediaSource::Url(u) = &m.source
    {
        b.insert(
            "media".into(),
            json!([{"mediaFormat": "PHOTO", "sourceUrl": u.as_str()}]),
        );
    }
    if let Some(event) = &options.event {
        b.insert(
            "event".into(),
            json!({
                "title": event.title,
                "schedule": {
                    "startDate": date(event.start),
                    "startTime": time_of_day(event.start),
                    "endDate": date(event.end),
                    "endTime": time_of_day(event.end),
                }
            }),
        );
    }
    if let Some(offer) = &options.offer {
        let mut o = serde_json::Map::new();
        if let Some(c) = &offer.coupon_code {
            o.insert("couponCode".into(), json!(c));
        }
        if let Some(u) = &offer.redeem_online_url {
            o.insert("redeemOnlineUrl".into(), json!(u.as_str()));
        }
        if let Some(t) = &offer.terms_conditions {
            o.insert("termsConditions".into(), json!(t));
        }
        b.insert("offer".into(), Value::Object(o));
    }
    if options.topic == GbpTopic::Alert {
        b.insert("alertType".into(), json!("COVID_19"));
    }
    if let Some(at) = post.schedule_at {
        b.insert(
            "scheduledTime".into(),
            json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
    }
    Value::Object(b)
}

/// The part of a `LocalPost` POSTD reads.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocalPost {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) state: Option<String>,
    #[serde(default)]
    pub(crate) summary: Option<String>,
    #[serde(default)]
    pub(crate) search_url: Option<String>,
    #[serde(default)]
    pub(crate) create_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(crate) scheduled_time: Option<DateTime<Utc>>,
}

fn published(post: &LocalPost) -> PublishedPost {
    let url = post
        .search_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"));
    let mut p = PublishedPost::new(post.name.clone()).with_url(url);
    if let Some(at) = post.scheduled_time {
        p = p.with_scheduled_for(at);
    }
    p
}

/// What a state means, as Google documents them (`LOCAL_POST_STATE_UNSPECIFIED`,
/// `PROCESSING`, `SCHEDULED`, `LIVE`, `REJECTED`, and `RECURRING` for a
/// recurring post).
enum Reading {
    Live,
    UnderWay(String),
    Rejected,
}

fn read_state(state: Option<&str>) -> Reading {
    match state {
        Some("LIVE" | "RECURRING") => Reading::Live,
        Some("REJECTED") => Reading::Rejected,
        Some(other) => Reading::UnderWay(other.chars().take(40).collect()),
        None => Reading::UnderWay("LOCAL_POST_STATE_UNSPECIFIED".to_owned()),
    }
}

fn rejected(name: &str) -> Error {
    Error::new(
        ErrorKind::InvalidContent,
        format!(
            "Google's review rejected local post {name}. The API gives no reason: the usual causes are a phone number or content against Google's posts policy in the summary, or a photo Google will not show; open the post in the Business Profile manager to see why"
        ),
    )
    .with_platform(Platform::Gbp)
    .with_code(REJECTED)
}

/// The handle of a post under review: its name. Its scheduled time, if any,
/// is read again from Google with each question.
fn handle_for(target: &Target, post: &LocalPost, started_at: DateTime<Utc>) -> PublishHandle {
    let mut h = PublishHandle::new(
        Platform::Gbp,
        target.id.clone(),
        HANDLE_KIND,
        post.name.clone(),
    );
    h.started_at = started_at;
    h
}

/// `POST /v4/{location}/localPosts`, once.
pub(crate) async fn publish(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    post: &Post,
) -> Result<PublishOutcome> {
    let location = location_of(target)?;
    for w in warnings(post) {
        tracing::warn!(platform = "gbp", warning = %w, "local post warning");
    }
    let started = Utc::now();
    let url = api.url(Host::Posts, &format!("v4/{location}/localPosts"), &[]);
    let builder = api
        .request(Method::POST, url, &tokens.access_token)
        .json(&body(post));
    // Google documents no idempotency on create: a 503 or 408 is not trusted as a refusal.
    let ctx = RequestContext::non_idempotent(Platform::Gbp, "local_posts.create")
        .distrusting_unavailable();
    let response = api
        .send(ctx, Host::Posts, Some(&location.v4()), builder)
        .await?;
    let created: LocalPost = response.json(&ctx)?;
    let named_here = created
        .name
        .parse::<LocalPostName>()
        .is_ok_and(|n| *n.location() == location);
    if !named_here {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "Google answered the create without a usable local post name; the post may exist",
        )
        .with_platform(Platform::Gbp)
        .with_operation("publish"));
    }
    outcome(target, created, started)
}

fn outcome(target: &Target, post: LocalPost, started: DateTime<Utc>) -> Result<PublishOutcome> {
    match read_state(post.state.as_deref()) {
        Reading::Live => Ok(PublishOutcome::Published(published(&post))),
        Reading::Rejected => Err(rejected(&post.name)),
        Reading::UnderWay(_) => Ok(PublishOutcome::Pending(handle_for(target, &post, started))),
    }
}

/// The longest wait between two questions about a review.
const MAX_REVIEW_POLL: std::time::Duration = std::time::Duration::from_secs(600);

/// How long to wait before asking about a post in `state` again: a scheduled
/// post just after its time; a review every `base` at first, then half as
/// long as it has taken so far (a long review is asked about less often), up
/// to 10 minutes.
fn next_poll(
    state: &str,
    scheduled: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    base: std::time::Duration,
) -> std::time::Duration {
    match (state, scheduled) {
        ("SCHEDULED", Some(at)) if at > now => at
            .signed_duration_since(now)
            .to_std()
            .unwrap_or_default()
            .saturating_add(base)
            .min(std::time::Duration::from_secs(6 * 3600)),
        _ => {
            let taken = now
                .signed_duration_since(since)
                .to_std()
                .unwrap_or_default();
            (taken / 2).clamp(base, MAX_REVIEW_POLL.max(base))
        }
    }
}

/// `GET /v4/{name}`: the post's state now.
pub(crate) async fn status(
    api: &Api,
    tokens: &TokenSet,
    handle: &PublishHandle,
) -> Result<PublishStatus> {
    if handle.kind != HANDLE_KIND || handle.platform != Platform::Gbp {
        return Err(Error::invalid_content(format!(
            "not a Business Profile local post handle (kind {:?})",
            handle.kind.chars().take(40).collect::<String>()
        ))
        .with_platform(Platform::Gbp));
    }
    let name: LocalPostName = handle.id.parse()?;
    let url = api.url(Host::Posts, &format!("v4/{name}"), &[]);
    let ctx = RequestContext::idempotent(Platform::Gbp, "local_posts.get");
    let post: LocalPost = api.get(ctx, Host::Posts, url, &tokens.access_token).await?;
    if post.name != name.to_string() {
        return Err(Error::unexpected(format!(
            "Google answered the get of {name} with another post"
        ))
        .with_platform(Platform::Gbp));
    }
    let now = Utc::now();
    Ok(match read_state(post.state.as_deref()) {
        Reading::Live => PublishStatus::Published(published(&post)),
        Reading::Rejected => {
            let e = rejected(&post.name);
            PublishStatus::Failed {
                kind: e.kind(),
                code: REJECTED.to_owned(),
                message: e.message().to_owned(),
            }
        }
        Reading::UnderWay(state) => {
            let horizon = chrono::TimeDelta::from_std(api.cfg.review_horizon).unwrap_or_default();
            let from = post
                .scheduled_time
                .map_or(handle.started_at, |at| at.max(handle.started_at));
            // Dates from an answer or a stored handle can be at the calendar's edge.
            let give_up = from
                .checked_add_signed(horizon)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            if now > give_up {
                PublishStatus::Failed {
                    kind: ErrorKind::Timeout,
                    code: state.clone(),
                    message: format!(
                        "Google's review of {} was still {state} {} hours after it was due; check it in the Business Profile manager",
                        post.name,
                        horizon.num_hours()
                    ),
                }
            } else {
                PublishStatus::Processing {
                    retry_after: next_poll(
                        &state,
                        post.scheduled_time,
                        from,
                        now,
                        api.cfg.review_poll_interval,
                    ),
                    state,
                    next: handle.clone(),
                }
            }
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    local_posts: Vec<LocalPost>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Looks for the post `fingerprint` describes among the location's posts.
///
/// A match that is `LIVE` (or scheduled with Google) is the post; one still
/// under review is "ask again" (a temporary unknown outcome), and a rejected
/// one is the rejection. Absence is answered only when the list was read to
/// its end (its order is undocumented, so no page proves the rest older).
pub(crate) async fn find_published(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    fingerprint: &Fingerprint,
) -> Result<Option<PublishedPost>> {
    let location = location_of(target)?;
    if !fingerprint.has_text() {
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            "a local post without a summary cannot be told apart from the location's other recent posts; check the location's posts by hand",
        )
        .with_platform(Platform::Gbp));
    }
    let ctx = RequestContext::idempotent(Platform::Gbp, "local_posts.list");
    let earliest = fingerprint.earliest();
    let mut page: Option<String> = None;
    let mut matches: Vec<LocalPost> = Vec::new();
    // Absence is proven only by reading the list to its end: its order is
    // undocumented, so no page says the rest is older.
    let mut complete = false;
    let mut undated = false;
    for _ in 0..MAX_LIST_PAGES {
        let mut query = vec![("pageSize", "100")];
        if let Some(p) = &page {
            query.push(("pageToken", p.as_str()));
        }
        let url = api.url(Host::Posts, &format!("v4/{location}/localPosts"), &query);
        let body: ListPage = api.get(ctx, Host::Posts, url, &tokens.access_token).await?;
        for p in body.local_posts.into_iter().take(1_000) {
            // Only this location's posts, by a name Google would give.
            let ours = p
                .name
                .parse::<LocalPostName>()
                .is_ok_and(|n| *n.location() == location);
            if !ours {
                continue;
            }
            if fingerprint.matches(p.summary.as_deref(), p.create_time) {
                matches.push(p);
            } else if p.create_time.is_none()
                && fingerprint.matches(p.summary.as_deref(), Some(earliest))
            {
                // The same text without a creation time: cannot be ruled out.
                undated = true;
            }
        }
        match body.next_page_token.filter(|t| !t.is_empty()) {
            None => {
                complete = true;
                break;
            }
            // A token repeated (or absurd) is broken paging: not the end.
            Some(next) if page.as_deref() == Some(next.as_str()) || next.len() > 2048 => break,
            Some(next) => page = Some(next),
        }
    }
    matches.sort_by_key(|p| p.create_time);
    if matches.len() > 1 {
        let names: Vec<&str> = matches.iter().map(|p| p.name.as_str()).collect();
        tracing::warn!(platform = "gbp", posts = ?names, "duplicate_detected: several local posts match one delivery");
    }
    let Some(found) = matches.into_iter().next() else {
        if complete && !undated {
            return Ok(None);
        }
        let why = if undated {
            "a post with the same text has no creation time".to_owned()
        } else {
            format!(
                "the location's post list did not end within {} pages",
                MAX_LIST_PAGES
            )
        };
        return Err(Error::new(
            ErrorKind::UnknownOutcome,
            format!("{why}: absence cannot be proven; check the location's posts by hand"),
        )
        .with_platform(Platform::Gbp));
    };
    match read_state(found.state.as_deref()) {
        Reading::Live => Ok(Some(published(&found))),
        Reading::Rejected => Err(rejected(&found.name).permanent()),
        // Handed to Google's scheduler: reported as scheduled (the engine
        // follows no handle found by reconciliation).
        Reading::UnderWay(state) if state == "SCHEDULED" => Ok(Some(published(&found))),
        Reading::UnderWay(state) => Err(Error::new(
            ErrorKind::UnknownOutcome,
            format!(
                "{} exists and Google's review is under way ({state}); ask again",
                found.name
            ),
        )
        .with_retry(Retry::Temporary {
            after: Some(std::time::Duration::from_secs(30)),
        })
        .with_platform(Platform::Gbp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_recognised_and_dates_and_prices_mostly_not() {
        for yes in [
            "Call 555-123-4567 today",
            "Ring +44 20 7946 0958",
            "(212) 555 0199",
            "0612345678",
        ] {
            assert!(has_phone_number(yes), "{yes}");
        }
        for no in [
            "20% off until Friday",
            "Open 9-17",
            "Since 1999",
            "Price 12.99",
        ] {
            assert!(!has_phone_number(no), "{no}");
        }
    }

    #[test]
    fn a_long_review_is_asked_about_less_often() {
        let base = std::time::Duration::from_secs(30);
        let t0 = "2026-03-01T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let after = |secs: i64| t0 + chrono::TimeDelta::seconds(secs);
        assert_eq!(next_poll("PROCESSING", None, t0, after(5), base), base);
        assert_eq!(
            next_poll("PROCESSING", None, t0, after(300), base),
            std::time::Duration::from_secs(150)
        );
        assert_eq!(
            next_poll("PROCESSING", None, t0, after(86_400), base),
            MAX_REVIEW_POLL
        );
        let at = after(3_600);
        assert_eq!(
            next_poll("SCHEDULED", Some(at), t0, t0, base),
            std::time::Duration::from_secs(3_630)
        );
    }

    #[test]
    fn bcp47_tags() {
        assert!(bcp47("en"));
        assert!(bcp47("en-US"));
        assert!(bcp47("zh-Hant-TW"));
        assert!(!bcp47("e"));
        assert!(!bcp47("en_US"));
        assert!(!bcp47("en-"));
        assert!(!bcp47(""));
    }

    #[test]
    fn internal_photo_urls_are_refused() {
        for bad in [
            "http://cdn.example/a.jpg",
            "https://127.0.0.1/a.jpg",
            "https://10.0.0.8/a.jpg",
            "https://[::1]/a.jpg",
            "https://localhost/a.jpg",
            "https://user:pw@cdn.example/a.jpg",
            "https://169.254.169.254/latest",
            "https://[::ffff:169.254.169.254]/",
            "https://localhost./a.jpg",
            "https://100.64.0.1/a.jpg",
            "https://0.1.2.3/a.jpg",
        ] {
            assert!(fetchable(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
        assert!(fetchable(&Url::parse("https://cdn.example/a.jpg").unwrap()).is_ok());
    }
}
