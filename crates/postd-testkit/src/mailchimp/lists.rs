//! Audiences, their segments and tags, and list webhooks.
//!
//! - `GET /lists` (`count`/`offset`, `total_items`) and `GET /lists/{list_id}`
//!   (<https://mailchimp.com/developer/marketing/api/lists/>): `id`, `web_id`, `name`,
//!   `campaign_defaults` (`from_name`, `from_email`, `subject`, `language`), `date_created`,
//!   and `stats` (`member_count`: subscribed members; `unsubscribe_count`, `cleaned_count`,
//!   `campaign_count`, `last_sub_date`; the other stats are not answered).
//! - `GET /lists/{list_id}/segments[/{segment_id}]`
//!   (<https://mailchimp.com/developer/marketing/api/list-segments/>): saved segments and
//!   tags (a tag is a `static` segment; tagging a member creates it) with `member_count`
//!   (subscribed members), filtered by `type`. Saved segments hold the members seeded into
//!   them; their conditions are not modelled.
//! - `GET/POST /lists/{list_id}/webhooks`, `GET/PATCH/DELETE .../webhooks/{id}`
//!   (<https://mailchimp.com/developer/marketing/api/list-webhooks/>): `url`, `events`
//!   (`subscribe`, `unsubscribe`, `profile`, `cleaned`, `upemail`, `campaign`) and `sources`
//!   (`user`, `admin`, `api`). Mailchimp checks a new URL with a `GET`
//!   (<https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/>): the
//!   fake records it ([`MailchimpFake::webhook_validations`](super::MailchimpFake::webhook_validations))
//!   and refuses a URL marked unreachable with `400 Invalid Resource` on `url` (the docs give
//!   no message; the fake's is its own). The docs give no defaults: the fake turns every
//!   event on, and the `user` and `admin` sources on and `api` off, when the body leaves them out.

use serde_json::{Value, json};

use super::errors::{Answer, Fail, Reply, invalid, not_found};
use super::request::Ctx;
use super::state::{ListRec, State, WebhookRec};

/// `t` as Mailchimp writes times: ISO 8601 with `+00:00`.
pub(super) fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
        .unwrap_or_default()
}

impl State {
    pub(super) fn own_list(&self, account: &str, list: &str) -> Result<ListRec, Fail> {
        self.lists
            .get(list)
            .filter(|l| l.account == account)
            .cloned()
            .ok_or_else(not_found)
    }

    fn list_json(&self, l: &ListRec) -> Value {
        let campaigns = self
            .campaigns
            .iter()
            .filter(|c| c.list_id.as_deref() == Some(l.id.as_str()) && c.sends > 0)
            .count();
        json!({
            "id": l.id,
            "web_id": l.web_id,
            "name": l.name,
            "campaign_defaults": {
                "from_name": l.from_name,
                "from_email": l.from_email,
                "subject": "",
                "language": "en",
            },
            "date_created": iso(l.date_created),
            "stats": {
                "member_count": self.member_count(&l.id, "subscribed"),
                "unsubscribe_count": self.member_count(&l.id, "unsubscribed"),
                "cleaned_count": self.member_count(&l.id, "cleaned"),
                "campaign_count": campaigns,
                "last_sub_date": "",
            },
        })
    }

    pub(super) fn lists(&mut self, ctx: &Ctx, account: &str) -> Answer {
        let (count, offset) = ctx.page()?;
        let all: Vec<Value> = self
            .lists
            .values()
            .filter(|l| l.account == account)
            .map(|l| self.list_json(l))
            .collect();
        let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"lists": page, "total_items": all.len()})),
        ))
    }

    pub(super) fn list(&mut self, ctx: &Ctx, account: &str, list: &str) -> Answer {
        let l = self.own_list(account, list)?;
        Ok(Reply::json(200, ctx.shape(self.list_json(&l))))
    }

    fn segment_json(&self, i: usize) -> Value {
        let s = &self.segments[i];
        let count = s
            .members
            .iter()
            .filter(|h| {
                self.members
                    .get(&(s.list_id.clone(), (*h).clone()))
                    .is_some_and(|m| m.status == "subscribed")
            })
            .count();
        json!({
            "id": s.id,
            "name": s.name,
            "member_count": count,
            "type": s.kind,
            "list_id": s.list_id,
        })
    }

    pub(super) fn segments(&mut self, ctx: &Ctx, account: &str, list: &str) -> Answer {
        self.own_list(account, list)?;
        let (count, offset) = ctx.page()?;
        let kind = ctx.q("type");
        let all: Vec<Value> = (0..self.segments.len())
            .filter(|&i| {
                let s = &self.segments[i];
                s.list_id == list && kind.as_deref().is_none_or(|k| k == s.kind)
            })
            .map(|i| self.segment_json(i))
            .collect();
        let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"segments": page, "list_id": list, "total_items": all.len()})),
        ))
    }

    pub(super) fn segment(&mut self, ctx: &Ctx, account: &str, list: &str, id: &str) -> Answer {
        self.own_list(account, list)?;
        let i = self
            .segments
            .iter()
            .position(|s| s.list_id == list && s.id.to_string() == id)
            .ok_or_else(not_found)?;
        Ok(Reply::json(200, ctx.shape(self.segment_json(i))))
    }

    fn webhook_json(w: &WebhookRec) -> Value {
        json!({
            "id": w.id,
            "url": w.url,
            "events": w.events,
            "sources": w.sources,
            "list_id": w.list_id,
        })
    }

    pub(super) fn webhooks_list(&mut self, ctx: &Ctx, account: &str, list: &str) -> Answer {
        self.own_list(account, list)?;
        let all: Vec<Value> = self
            .webhooks
            .iter()
            .filter(|w| w.list_id == list)
            .map(State::webhook_json)
            .collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"webhooks": all, "list_id": list, "total_items": all.len()})),
        ))
    }

    pub(super) fn webhook_add(&mut self, ctx: &mut Ctx, account: &str, list: &str) -> Answer {
        self.own_list(account, list)?;
        let body = ctx.json()?;
        let url = body["url"].as_str().unwrap_or("").to_owned();
        let parsed = url::Url::parse(&url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
            return Err(invalid(&[("url", "This value should be a valid URL.")]));
        }
        self.validations.push(url.clone());
        if self.unreachable.contains(&url) {
            return Err(invalid(&[(
                "url",
                "We couldn't verify the URL is working. Make sure it answers a GET with a 200.",
            )]));
        }
        let events = flags(
            &body["events"],
            &[
                "subscribe",
                "unsubscribe",
                "profile",
                "cleaned",
                "upemail",
                "campaign",
            ],
            &[],
        )?;
        let sources = flags(&body["sources"], &["user", "admin", "api"], &["api"])?;
        let id = self.hex_id(10);
        let w = WebhookRec {
            id,
            list_id: list.to_owned(),
            url,
            events,
            sources,
        };
        let out = State::webhook_json(&w);
        self.webhooks.push(w);
        ctx.committed = true;
        Ok(Reply::json(200, ctx.shape(out)))
    }

    fn webhook_index(&self, account: &str, list: &str, id: &str) -> Result<usize, Fail> {
        self.own_list(account, list)?;
        self.webhooks
            .iter()
            .position(|w| w.list_id == list && w.id == id)
            .ok_or_else(not_found)
    }

    pub(super) fn webhook_get(&mut self, ctx: &Ctx, account: &str, list: &str, id: &str) -> Answer {
        let i = self.webhook_index(account, list, id)?;
        Ok(Reply::json(
            200,
            ctx.shape(State::webhook_json(&self.webhooks[i])),
        ))
    }

    pub(super) fn webhook_patch(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        id: &str,
    ) -> Answer {
        let i = self.webhook_index(account, list, id)?;
        let body = ctx.json()?;
        if let Some(url) = body["url"].as_str() {
            if url::Url::parse(url).is_err() {
                return Err(invalid(&[("url", "This value should be a valid URL.")]));
            }
            self.webhooks[i].url = url.to_owned();
        }
        for key in ["events", "sources"] {
            if let Some(m) = body[key].as_object() {
                let target = if key == "events" {
                    &mut self.webhooks[i].events
                } else {
                    &mut self.webhooks[i].sources
                };
                for (k, v) in m {
                    if target.get(k).is_none() || !v.is_boolean() {
                        return Err(invalid(&[(
                            key,
                            "This value should be an object of booleans.",
                        )]));
                    }
                    target[k] = v.clone();
                }
            }
        }
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(State::webhook_json(&self.webhooks[i])),
        ))
    }

    pub(super) fn webhook_delete(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        id: &str,
    ) -> Answer {
        let i = self.webhook_index(account, list, id)?;
        self.webhooks.remove(i);
        ctx.committed = true;
        Ok(Reply::empty(204))
    }
}

/// `{name: bool}` over `names`, each defaulting to true unless in `off`.
fn flags(given: &Value, names: &[&str], off: &[&str]) -> Result<Value, Fail> {
    let mut out = serde_json::Map::new();
    for n in names {
        out.insert((*n).to_owned(), Value::Bool(!off.contains(n)));
    }
    if let Some(m) = given.as_object() {
        for (k, v) in m {
            match (out.contains_key(k), v.as_bool()) {
                (true, Some(b)) => {
                    out.insert(k.clone(), Value::Bool(b));
                }
                _ => {
                    return Err(invalid(&[(k.as_str(), "This value should be a boolean.")]));
                }
            }
        }
    }
    Ok(Value::Object(out))
}
