//! Posts: `GET /2/users/me`, `POST /2/tweets`, `DELETE /2/tweets/:id` and
//! `GET /2/users/:id/tweets`, per
//! <https://docs.x.com/x-api/users/user-lookup-me>, <https://docs.x.com/x-api/posts/manage-tweets/quickstart>,
//! <https://docs.x.com/x-api/posts/manage-tweets/quickstart>,
//! <https://docs.x.com/x-api/posts/timelines/introduction>,
//! <https://docs.x.com/x-api/users/lookup/introduction> (`user.fields=public_metrics`), the
//! metrics of <https://docs.x.com/x-api/fundamentals/metrics>, and the weighted text
//! length of <https://docs.x.com/resources/fundamentals/counting-characters>.

use serde_json::{Map, Value, json};

use super::errors::{Answer, DUPLICATE_DETAIL, Fail, Reply, fail, forbidden, invalid};
use super::lookup::{PRIVATE_METRICS_SECS, is_private_field, private_field_errors};
use super::records::XUserMetrics;
use super::request::Ctx;
use super::state::{PostRec, State, TokenRec};

/// What a transformed URL weighs, whatever its length.
const URL_WEIGHT: usize = 23;

/// The reply settings `POST /2/tweets` accepts.
const REPLY_SETTINGS: &[&str] = &["following", "mentionedUsers", "subscribers", "verified"];

/// Top-level TLDs the fake recognises in bare domains (`example.com`); twitter-text knows
/// every TLD, the fake a common few.
const BARE_TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "uk", "dev", "app", "ly", "me", "ai", "gg", "tv", "info",
    "biz", "de", "fr", "jp", "us", "eu", "xyz",
];

/// X's weighted length of `text`: code points in U+0000–U+10FF, U+2000–U+200D,
/// U+2010–U+201F and U+2032–U+2037 weigh 1, everything else 2 (CJK, emoji); an emoji's
/// modifiers, variation selectors and zero-width-joined parts add nothing; every URL
/// (`http(s)://...` or a bare domain) weighs 23. Text is not NFC-normalised first.
pub fn weighted_length(text: &str) -> usize {
    let mut total = 0;
    for word in split_keep_space(text) {
        if word.chars().all(char::is_whitespace) {
            total += weigh(word);
            continue;
        }
        let core = word.trim_end_matches(['.', ',', ')', '!', '?', ':', ';', '"', '\'']);
        let core_start = core.trim_start_matches(['(', '"', '\'']);
        let lead = &core[..core.len() - core_start.len()];
        let trail = &word[core.len()..];
        if is_url(core_start) {
            total += weigh(lead) + URL_WEIGHT + weigh(trail);
        } else {
            total += weigh(word);
        }
    }
    total
}

fn split_keep_space(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in text.char_indices() {
        let sp = c.is_whitespace();
        if in_space.is_some_and(|s| s != sp) {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = Some(sp);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn is_url(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        return rest.contains('.');
    }
    let host = lower.split(['/', '?', '#']).next().unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| BARE_TLDS.contains(tld))
}

fn weigh(s: &str) -> usize {
    let mut total = 0;
    let mut prev_emoji = false;
    let mut joined = false;
    for c in s.chars() {
        let cp = u32::from(c);
        if prev_emoji && (cp == 0xFE0F || (0x1F3FB..=0x1F3FF).contains(&cp)) {
            continue;
        }
        if prev_emoji && cp == 0x200D {
            joined = true;
            continue;
        }
        if joined {
            joined = false;
            continue;
        }
        let light = cp <= 0x10FF
            || (0x2000..=0x200D).contains(&cp)
            || (0x2010..=0x201F).contains(&cp)
            || (0x2032..=0x2037).contains(&cp);
        prev_emoji = cp >= 0x1F000 || (0x2600..=0x27BF).contains(&cp);
        total += if light { 1 } else { 2 };
    }
    total
}

/// The Post object as the v2 API answers it, with the fields X returns by default (`id`,
/// `text`, `edit_history_tweet_ids`) and those of `tweet.fields` the fake knows.
pub(super) fn post_json(p: &PostRec, fields: &[&str]) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), p.id.to_string().into());
    o.insert("text".into(), p.text.clone().into());
    o.insert("edit_history_tweet_ids".into(), json!([p.id.to_string()]));
    let m = &p.metrics;
    for f in fields {
        let v = match *f {
            "author_id" => p.author_id.clone().into(),
            "created_at" => rfc3339(p.created_at).into(),
            "conversation_id" => p.conversation_id.to_string().into(),
            "reply_settings" => p.reply_settings.clone().into(),
            "public_metrics" => json!({
                "retweet_count": m.retweet_count,
                "reply_count": m.reply_count,
                "like_count": m.like_count,
                "quote_count": m.quote_count,
                "bookmark_count": m.bookmark_count,
                "impression_count": m.impression_count,
            }),
            // Private: callers answer these only where `private_field_errors` finds none.
            "non_public_metrics" => json!({
                "impression_count": m.impression_count,
                "url_link_clicks": m.url_link_clicks,
                "user_profile_clicks": m.user_profile_clicks,
            }),
            "organic_metrics" => json!({
                "impression_count": m.impression_count,
                "like_count": m.like_count,
                "reply_count": m.reply_count,
                "retweet_count": m.retweet_count,
                "url_link_clicks": m.url_link_clicks,
                "user_profile_clicks": m.user_profile_clicks,
            }),
            _ => continue,
        };
        o.insert((*f).to_owned(), v);
    }
    if fields.contains(&"attachments") && !p.media_keys.is_empty() {
        o.insert("attachments".into(), json!({"media_keys": p.media_keys}));
    }
    Value::Object(o)
}

pub(super) fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

impl State {
    /// `GET /2/users/me`: `id`, `name`, `username`, and of `user.fields` `public_metrics`
    /// (seeded with [`XFake::set_user_metrics`](super::XFake::set_user_metrics), else
    /// `tweet_count` counts the user's live Posts) and `protected`.
    pub(super) fn me(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        let u = self.user(&tok.user_id).clone();
        let fields_q = ctx.q("user.fields").unwrap_or_default();
        let mut data = json!({"id": u.id, "name": u.name, "username": u.username});
        for f in fields_q.split(',').map(str::trim) {
            match f {
                "public_metrics" => {
                    let m = u.metrics.unwrap_or_else(|| XUserMetrics {
                        tweet_count: self
                            .posts
                            .iter()
                            .filter(|p| !p.deleted && p.author_id == u.id)
                            .count() as u64,
                        ..XUserMetrics::default()
                    });
                    data["public_metrics"] = json!({
                        "followers_count": m.followers_count,
                        "following_count": m.following_count,
                        "tweet_count": m.tweet_count,
                        "listed_count": m.listed_count,
                        "like_count": m.like_count,
                        "media_count": m.media_count,
                    });
                }
                "protected" => data["protected"] = u.protected.into(),
                _ => {}
            }
        }
        Ok(Reply::json(200, json!({"data": data})))
    }

    fn live_post(&self, id: &str) -> Option<&PostRec> {
        self.posts
            .iter()
            .find(|p| !p.deleted && p.id.to_string() == id)
    }

    pub(super) fn create_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let body = ctx.json_body()?;
        if !body.is_object() {
            return Err(invalid(
                "body",
                "",
                "The request body must be a JSON object.",
            ));
        }
        let text = match body.get("text") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(invalid("text", "", "text must be a string.")),
        };
        let now = self.now();
        let media_ids: Vec<String> = match body.pointer("/media/media_ids") {
            None => Vec::new(),
            Some(Value::Array(ids)) => ids
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("media.media_ids", "", "media_ids must be strings."))?,
            Some(_) => {
                return Err(invalid(
                    "media.media_ids",
                    "",
                    "media_ids must be an array.",
                ));
            }
        };
        if body.get("media").is_some() && !(1..=4).contains(&media_ids.len()) {
            return Err(invalid(
                "media.media_ids",
                &media_ids.len().to_string(),
                "media_ids takes 1 to 4 ids.",
            ));
        }
        if text.is_empty() && media_ids.is_empty() {
            return Err(invalid(
                "text",
                "",
                "text is required unless media is present.",
            ));
        }
        if let Some(Value::Array(tagged)) = body.pointer("/media/tagged_user_ids")
            && tagged.len() > 10
        {
            return Err(invalid(
                "media.tagged_user_ids",
                &tagged.len().to_string(),
                "At most 10 users can be tagged.",
            ));
        }
        let poll = body.get("poll");
        if let Some(poll) = poll {
            if !media_ids.is_empty() || body.get("quote_tweet_id").is_some() {
                return Err(invalid(
                    "poll",
                    "",
                    "poll cannot be combined with media or quote_tweet_id.",
                ));
            }
            let options = poll.get("options").and_then(Value::as_array);
            let ok = options.is_some_and(|o| {
                (2..=4).contains(&o.len())
                    && o.iter().all(|v| {
                        v.as_str()
                            .is_some_and(|s| !s.is_empty() && s.chars().count() <= 25)
                    })
            });
            if !ok {
                return Err(invalid(
                    "poll.options",
                    "",
                    "A poll has 2 to 4 options of 1 to 25 characters.",
                ));
            }
            let minutes = poll.get("duration_minutes").and_then(Value::as_i64);
            if !minutes.is_some_and(|m| (5..=10_080).contains(&m)) {
                return Err(invalid(
                    "poll.duration_minutes",
                    &minutes.map(|m| m.to_string()).unwrap_or_default(),
                    "duration_minutes must be between 5 and 10080.",
                ));
            }
        }
        let reply_settings = match body.get("reply_settings") {
            None => "everyone".to_owned(),
            Some(v) => match v.as_str() {
                Some(s) if REPLY_SETTINGS.contains(&s) => s.to_owned(),
                _ => {
                    return Err(invalid(
                        "reply_settings",
                        &v.to_string(),
                        "reply_settings must be one of following, mentionedUsers, subscribers, verified.",
                    ));
                }
            },
        };
        for flag in [
            "made_with_ai",
            "paid_partnership",
            "for_super_followers_only",
            "nullcast",
        ] {
            if body.get(flag).is_some_and(|v| !v.is_boolean()) {
                return Err(invalid(flag, "", format!("{flag} must be a boolean.")));
            }
        }
        let mut conversation = None;
        if let Some(v) = body.pointer("/reply/in_reply_to_tweet_id") {
            let id = v.as_str().unwrap_or_default();
            match self.live_post(id) {
                Some(p) => conversation = Some(p.conversation_id),
                None => {
                    return Err(forbidden(
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    ));
                }
            }
        }
        if let Some(v) = body.get("quote_tweet_id") {
            let id = v.as_str().unwrap_or_default();
            if self.live_post(id).is_none() {
                return Err(invalid(
                    "quote_tweet_id",
                    id,
                    "The quoted Post does not exist or is not visible to you.",
                ));
            }
        }
        let mut media_keys = Vec::new();
        let mut non_images = 0;
        for id in &media_ids {
            let Some(m) = self
                .media
                .iter()
                .find(|m| m.id.to_string() == *id && m.owner == tok.user_id && m.ready(now))
            else {
                return Err(invalid(
                    "media.media_ids",
                    id,
                    "Your media IDs are invalid.",
                ));
            };
            if !m.is_image() {
                non_images += 1;
            }
            media_keys.push(m.key.clone());
        }
        if non_images > 0 && media_ids.len() > 1 {
            return Err(invalid(
                "media.media_ids",
                "",
                "A Post carries 1 to 4 images, or one GIF, or one video.",
            ));
        }
        if weighted_length(&text) > self.config.max_weighted_length {
            return Err(forbidden("Your Tweet text is too long."));
        }
        let window = self.config.duplicate_window_secs;
        if !text.is_empty()
            && self.posts.iter().any(|p| {
                !p.deleted
                    && p.author_id == tok.user_id
                    && p.text == text
                    && now - p.created_at < window
            })
        {
            return Err(forbidden(DUPLICATE_DETAIL));
        }
        let id = self.snowflake();
        let post = PostRec {
            id,
            author_id: tok.user_id.clone(),
            text: text.clone(),
            created_at: now,
            deleted: false,
            reply_settings,
            conversation_id: conversation.unwrap_or(id),
            media_keys,
            request: body,
            metrics: Default::default(),
        };
        self.posts.push(post.clone());
        ctx.committed = true;
        self.emit_post_create(&post);
        Ok(Reply::json(
            201,
            json!({"data": {"id": id.to_string(), "text": text,
                            "edit_history_tweet_ids": [id.to_string()]}}),
        ))
    }

    pub(super) fn delete_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, id: &str) -> Answer {
        let Some(i) = self
            .posts
            .iter()
            .position(|p| !p.deleted && p.id.to_string() == id)
        else {
            return Err(fail(
                404,
                "resource-not-found",
                "Not Found Error",
                &format!("Could not find tweet with id: [{id}]."),
            ));
        };
        if self.posts[i].author_id != tok.user_id {
            return Err(forbidden("You are not allowed to delete this Tweet."));
        }
        self.posts[i].deleted = true;
        ctx.committed = true;
        let p = self.posts[i].clone();
        self.emit(
            "post.delete",
            &p.author_id,
            json!({"id": p.id.to_string(), "author_id": p.author_id}),
        );
        Ok(Reply::json(200, json!({"data": {"deleted": true}})))
    }

    pub(super) fn timeline(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, user_id: &str) -> Answer {
        let max = match ctx.q("max_results") {
            None => 10,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (5..=100).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "max_results",
                        &v,
                        "The `max_results` query parameter value is not between 5 and 100.",
                    ));
                }
            },
        };
        let time = |key: &str| -> Result<Option<i64>, Fail> {
            ctx.q(key)
                .map(|v| {
                    chrono::DateTime::parse_from_rfc3339(&v)
                        .map(|t| t.timestamp())
                        .map_err(|_| invalid(key, &v, format!("Invalid {key}: an RFC 3339 time.")))
                })
                .transpose()
        };
        let start = time("start_time")?;
        let end = time("end_time")?;
        let id_param = |key: &str| -> Result<Option<u64>, Fail> {
            ctx.q(key)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| invalid(key, &v, format!("Invalid {key}.")))
                })
                .transpose()
        };
        let since = id_param("since_id")?;
        let until = id_param("until_id")?;
        let before = match ctx.q("pagination_token") {
            None => None,
            Some(t) => Some(
                t.strip_prefix("pg")
                    .and_then(|n| u64::from_str_radix(n, 36).ok())
                    .ok_or_else(|| invalid("pagination_token", &t, "Invalid pagination_token."))?,
            ),
        };
        let fields_q = ctx.q("tweet.fields").unwrap_or_default();
        let fields: Vec<&str> = fields_q.split(',').map(str::trim).collect();
        if !self.users.contains_key(user_id) {
            return Ok(Reply::json(
                200,
                json!({"errors": [{
                    "value": user_id, "detail": format!("Could not find user with id: [{user_id}]."),
                    "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                    "resource_id": user_id, "type": format!("{}resource-not-found", super::errors::PROBLEMS),
                }]}),
            ));
        }
        // With private metrics asked for, the results keep to the last 30 days, and Posts
        // of another author are answered as errors
        // (<https://docs.x.com/x-api/posts/timelines/integrate>).
        let private = fields.iter().any(|f| is_private_field(f));
        let now = self.now();
        let mut matching: Vec<&PostRec> = self
            .posts
            .iter()
            .filter(|p| {
                !p.deleted
                    && p.author_id == user_id
                    && (!private || now - p.created_at < PRIVATE_METRICS_SECS)
                    && start.is_none_or(|s| p.created_at >= s)
                    && end.is_none_or(|e| p.created_at < e)
                    && since.is_none_or(|s| p.id > s)
                    && until.is_none_or(|u| p.id < u)
                    && before.is_none_or(|b| p.id < b)
            })
            .collect();
        matching.sort_by_key(|p| std::cmp::Reverse(p.id));
        let more = matching.len() > max;
        matching.truncate(max);
        let mut meta = json!({"result_count": matching.len()});
        if let (Some(first), Some(last)) = (matching.first(), matching.last()) {
            meta["newest_id"] = first.id.to_string().into();
            meta["oldest_id"] = last.id.to_string().into();
            if more {
                meta["next_token"] = format!("pg{}", to_base36(last.id)).into();
            }
        }
        let mut data = Vec::new();
        let mut errors = Vec::new();
        for p in &matching {
            let denied = private_field_errors(p, &tok.user_id, &fields, None, now);
            if denied.is_empty() {
                data.push(post_json(p, &fields));
            } else {
                errors.extend(denied);
            }
        }
        meta["result_count"] = data.len().into();
        let mut body = json!({"meta": meta});
        if !data.is_empty() {
            body["data"] = data.into();
        }
        if !errors.is_empty() {
            body["errors"] = errors.into();
        }
        Ok(Reply::json(200, body))
    }
}

fn to_base36(mut n: u64) -> String {
    const D: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(D[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_counting_characters_page() {
        assert_eq!(weighted_length("hello"), 5);
        // CJK weighs 2.
        assert_eq!(weighted_length("日本語"), 6);
        // A URL weighs 23 however long, a bare domain too, trailing punctuation apart.
        assert_eq!(
            weighted_length("see https://example.com/a/very/long/path?q=1"),
            4 + 23
        );
        assert_eq!(weighted_length("(example.com)."), 1 + 23 + 2);
        // An emoji with a skin tone or a ZWJ sequence weighs 2.
        assert_eq!(weighted_length("👍🏽"), 2);
        assert_eq!(weighted_length("👩\u{200d}💻"), 2);
        // The light punctuation range weighs 1.
        assert_eq!(weighted_length("\u{2014}\u{201c}"), 2);
        assert_eq!(weighted_length(&"a".repeat(280)), 280);
        assert_eq!(weighted_length(&"字".repeat(140)), 280);
    }
}
