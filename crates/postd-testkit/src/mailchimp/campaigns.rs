//! Campaigns, their content, the send checklist and the actions
//! (<https://mailchimp.com/developer/marketing/api/campaigns/>,
//! <https://mailchimp.com/developer/marketing/api/campaign-content/>,
//! <https://mailchimp.com/developer/marketing/api/campaign-checklist/>).
//!
//! - `POST /campaigns` (`type` `regular` or `plaintext`; the other types are not modelled
//!   and answered as unmatched), `GET /campaigns` (`type`, `status`, `list_id`,
//!   `since_/before_create_time`, `since_/before_send_time`, `sort_field` `create_time` or
//!   `send_time`, `sort_dir`, `count`/`offset`), `GET`, `PATCH` and `DELETE /campaigns/{id}`.
//! - `PUT /campaigns/{id}/content` with `html` (and `plain_text`, generated from the HTML
//!   when left out, as the reference says) or `template` `{id, sections}`; `url` and
//!   `archive` are not modelled.
//! - `GET /campaigns/{id}/send-checklist`: `is_ready` and `items` `[{type, id, heading,
//!   details}]`. The reference lists no item; the fake's checks (and their headings and
//!   details, its own words) are: an audience, subscribed recipients (and a segment that has
//!   finished processing), a subject line, a from name, a reply-to address on a verified
//!   domain, and content.
//! - Actions: `send` and `schedule` need status `save` or `paused` and a ready checklist;
//!   `schedule` needs a `schedule_time` on a quarter hour (else `400` with
//!   [`QUARTER_HOUR_DETAIL`]), in the future, a paid plan, and not both `timewarp` and
//!   `batch_delivery`; `unschedule` (back to `save`), `test` (`test_emails`, `send_type`
//!   `html` or `plaintext`), `pause` and `resume` (documented for RSS campaigns only, so a
//!   regular campaign is refused), `cancel-send` (a `sending` campaign becomes `canceled`).
//!   Each action answers `204`. The refusals' texts are not documented: "Your Campaign is not
//!   ready to send." is what Mailchimp answers (the fake adds the checklist's errors in
//!   `errors`); the rest are the fake's.
//! - States: `save` → `schedule` → (at `schedule_time`) `sending` → `sent`, or `save` →
//!   `sending` → `sent`; `sending` lasts [`MailchimpFakeConfig::sending_secs`] of fake time
//!   (or [`MailchimpFakeConfig::sending_gets`] reads).
//!
//! [`QUARTER_HOUR_DETAIL`]: super::QUARTER_HOUR_DETAIL
//! [`MailchimpFakeConfig::sending_secs`]: super::MailchimpFakeConfig::sending_secs
//! [`MailchimpFakeConfig::sending_gets`]: super::MailchimpFakeConfig::sending_gets

use chrono::{DateTime, Timelike};
use serde_json::{Value, json};

use super::errors::{
    Answer, Fail, NOT_READY_DETAIL, QUARTER_HOUR_DETAIL, Reply, bad_request, invalid, not_found,
    problem, problem_reply,
};
use super::lists::iso;
use super::request::Ctx;
use super::state::{CampaignRec, State};

fn time_param(ctx: &Ctx, key: &str) -> Result<Option<i64>, Fail> {
    ctx.q(key)
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.timestamp())
                .map_err(|_| invalid(&[(key, "This value should be an ISO 8601 date and time.")]))
        })
        .transpose()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

impl State {
    pub(super) fn campaign_index(&self, account: &str, id: &str) -> Result<usize, Fail> {
        self.campaigns
            .iter()
            .position(|c| c.id == id && c.account == account)
            .ok_or_else(not_found)
    }

    fn campaign_json(&self, c: &CampaignRec) -> Value {
        let list_name = c
            .list_id
            .as_ref()
            .and_then(|l| self.lists.get(l))
            .map(|l| l.name.clone())
            .unwrap_or_default();
        let mut recipients = json!({
            "list_id": c.list_id.clone().unwrap_or_default(),
            "list_name": list_name,
            "recipient_count": self.recipients(c),
        });
        if let Some(s) = c.segment_id {
            recipients["segment_opts"] = json!({"saved_segment_id": s});
        }
        json!({
            "id": c.id,
            "web_id": c.web_id,
            "type": c.kind,
            "create_time": iso(c.create_time),
            "archive_url": format!("http://eepurl.com/{}", &c.id[..6]),
            "long_archive_url": format!("https://{}.campaign-archive.com/?u={}&id={}", self.config.dc, c.account, c.id),
            "status": c.status,
            "emails_sent": c.emails_sent,
            "send_time": c.send_time.map(iso).unwrap_or_default(),
            "content_type": if c.template.is_some() { "template" } else { "html" },
            "recipients": recipients,
            "settings": c.settings,
            "tracking": {"opens": true, "html_clicks": true, "text_clicks": false},
        })
    }

    /// The recipients and settings of a create or an update, checked.
    fn apply_body(&self, account: &str, c: &mut CampaignRec, body: &Value) -> Result<(), Fail> {
        if let Some(r) = body.get("recipients").filter(|r| r.is_object()) {
            if let Some(l) = r["list_id"].as_str() {
                if self.own_list(account, l).is_err() {
                    return Err(invalid(&[(
                        "recipients.list_id",
                        "The list_id does not exist.",
                    )]));
                }
                c.list_id = Some(l.to_owned());
            }
            if let Some(seg) = r["segment_opts"]["saved_segment_id"].as_u64() {
                let list = c.list_id.clone().unwrap_or_default();
                if !self
                    .segments
                    .iter()
                    .any(|s| s.id == seg && s.list_id == list)
                {
                    return Err(invalid(&[(
                        "recipients.segment_opts.saved_segment_id",
                        "The segment does not exist in this audience.",
                    )]));
                }
                c.segment_id = Some(seg);
            }
        }
        if let Some(s) = body["settings"].as_object() {
            if let Some(r) = s.get("reply_to").and_then(Value::as_str)
                && !r.is_empty()
                && !r
                    .split_once('@')
                    .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'))
            {
                return Err(invalid(&[(
                    "settings.reply_to",
                    "This value should be a valid email.",
                )]));
            }
            for (k, v) in s {
                c.settings[k] = v.clone();
            }
        }
        Ok(())
    }

    pub(super) fn campaign_create(&mut self, ctx: &mut Ctx, account: &str) -> Answer {
        let body = ctx.json()?;
        let kind = match body["type"].as_str() {
            Some(k @ ("regular" | "plaintext")) => k.to_owned(),
            Some("absplit" | "rss" | "variate") => return Err(Fail::Unmatched),
            _ => {
                return Err(invalid(&[(
                    "type",
                    "Data presented is not one of the accepted values: regular, plaintext, absplit, rss, variate.",
                )]));
            }
        };
        let id = self.hex_id(10);
        let web_id = self.next();
        let mut c = CampaignRec {
            id,
            web_id,
            account: account.to_owned(),
            kind,
            list_id: None,
            segment_id: None,
            status: "save".to_owned(),
            settings: json!({"subject_line": "", "preview_text": "", "title": "", "from_name": "", "reply_to": "", "to_name": ""}),
            html: None,
            plain_text: None,
            template: None,
            create_time: self.now(),
            schedule_time: None,
            send_time: None,
            timewarp: false,
            batch_delivery: None,
            sending_since: None,
            sending_gets: 0,
            emails_sent: 0,
            sends: 0,
            tests: Vec::new(),
            report: Default::default(),
        };
        self.apply_body(account, &mut c, &body)?;
        let out = self.campaign_json(&c);
        self.campaigns.push(c);
        ctx.committed = true;
        Ok(Reply::json(200, ctx.shape(out)))
    }

    pub(super) fn campaigns_list(&mut self, ctx: &Ctx, account: &str) -> Answer {
        let (count, offset) = ctx.page()?;
        let (since_c, before_c) = (
            time_param(ctx, "since_create_time")?,
            time_param(ctx, "before_create_time")?,
        );
        let (since_s, before_s) = (
            time_param(ctx, "since_send_time")?,
            time_param(ctx, "before_send_time")?,
        );
        let (kind, status, list) = (ctx.q("type"), ctx.q("status"), ctx.q("list_id"));
        let mut idx: Vec<usize> = (0..self.campaigns.len())
            .filter(|&i| {
                let c = &self.campaigns[i];
                c.account == account
                    && kind.as_deref().is_none_or(|k| k == c.kind)
                    && status.as_deref().is_none_or(|s| s == c.status)
                    && list
                        .as_deref()
                        .is_none_or(|l| c.list_id.as_deref() == Some(l))
                    && since_c.is_none_or(|t| c.create_time >= t)
                    && before_c.is_none_or(|t| c.create_time < t)
                    && since_s.is_none_or(|t| c.send_time.is_some_and(|s| s >= t))
                    && before_s.is_none_or(|t| c.send_time.is_some_and(|s| s < t))
            })
            .collect();
        let by_send = match ctx.q("sort_field").as_deref() {
            None | Some("create_time") => false,
            Some("send_time") => true,
            Some(_) => {
                return Err(invalid(&[(
                    "sort_field",
                    "Data presented is not one of the accepted values: create_time, send_time.",
                )]));
            }
        };
        let key = |c: &CampaignRec| {
            if by_send {
                c.send_time.unwrap_or(0)
            } else {
                c.create_time
            }
        };
        if ctx.q("sort_field").is_some() {
            idx.sort_by_key(|&i| (key(&self.campaigns[i]), i));
            if ctx.q("sort_dir").as_deref() == Some("DESC") {
                idx.reverse();
            }
        }
        let total = idx.len();
        let page: Vec<usize> = idx.into_iter().skip(offset).take(count).collect();
        for &i in &page {
            self.seen(i);
        }
        let items: Vec<Value> = page
            .iter()
            .map(|&i| self.campaign_json(&self.campaigns[i]))
            .collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"campaigns": items, "total_items": total})),
        ))
    }

    pub(super) fn campaign_get(&mut self, ctx: &Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        self.seen(i);
        Ok(Reply::json(
            200,
            ctx.shape(self.campaign_json(&self.campaigns[i])),
        ))
    }

    fn editable(&self, i: usize) -> Result<(), Fail> {
        match self.campaigns[i].status.as_str() {
            "save" | "paused" => Ok(()),
            s => Err(bad_request(&format!(
                "This campaign cannot be edited while its status is \"{s}\"."
            ))),
        }
    }

    pub(super) fn campaign_patch(&mut self, ctx: &mut Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        self.editable(i)?;
        let body = ctx.json()?;
        let mut c = self.campaigns[i].clone();
        self.apply_body(account, &mut c, &body)?;
        self.campaigns[i] = c;
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(self.campaign_json(&self.campaigns[i])),
        ))
    }

    pub(super) fn campaign_delete(&mut self, ctx: &mut Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        self.campaigns.remove(i);
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    fn content_json(c: &CampaignRec) -> Value {
        let html = c.html.clone().unwrap_or_default();
        json!({
            "plain_text": c.plain_text.clone().unwrap_or_default(),
            "html": html,
            "archive_html": html,
            "_links": [],
        })
    }

    pub(super) fn content_get(&mut self, ctx: &Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        Ok(Reply::json(
            200,
            ctx.shape(State::content_json(&self.campaigns[i])),
        ))
    }

    pub(super) fn content_put(&mut self, ctx: &mut Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        self.editable(i)?;
        let body = ctx.json()?;
        if body.get("url").is_some() || body.get("archive").is_some() {
            return Err(Fail::Unmatched);
        }
        let c = &mut self.campaigns[i];
        if let Some(t) = body.get("template").filter(|t| t.is_object()) {
            if t["id"].as_u64().is_none() {
                return Err(invalid(&[(
                    "template.id",
                    "This value should be an integer.",
                )]));
            }
            let sections = t["sections"].as_object().cloned().unwrap_or_default();
            let html: String = sections
                .values()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n");
            c.template = Some(t.clone());
            c.plain_text = Some(strip_tags(&html));
            c.html = Some(html);
        } else if let Some(h) = body["html"].as_str() {
            c.template = None;
            c.html = Some(h.to_owned());
            c.plain_text = Some(
                body["plain_text"]
                    .as_str()
                    .map_or_else(|| strip_tags(h), str::to_owned),
            );
        } else if let Some(p) = body["plain_text"].as_str() {
            c.plain_text = Some(p.to_owned());
        } else {
            return Err(invalid(&[(
                "html",
                "Provide html, plain_text or template.",
            )]));
        }
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(State::content_json(&self.campaigns[i])),
        ))
    }

    /// `send` and `schedule` need `save` or `paused` and a ready checklist.
    fn may_deliver(&self, i: usize, verb: &str) -> Result<(), Fail> {
        let status = &self.campaigns[i].status;
        if !matches!(status.as_str(), "save" | "paused") {
            return Err(bad_request(&format!(
                "This campaign cannot be {verb}: its status is \"{status}\"."
            )));
        }
        let errors: Vec<Value> = self
            .checklist(i)
            .into_iter()
            .filter(|(t, _, _)| *t == "error")
            .map(|(_, h, d)| json!({"field": h, "message": d}))
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        let mut body = problem(400, "Bad Request", NOT_READY_DETAIL, "");
        body["errors"] = Value::Array(errors);
        Err(Fail::Reply(problem_reply(400, body)))
    }

    pub(super) fn campaign_action(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        id: &str,
        action: &str,
    ) -> Answer {
        let i = self.campaign_index(account, id)?;
        let status = self.campaigns[i].status.clone();
        match action {
            "send" => {
                self.may_deliver(i, "sent")?;
                let now = self.now();
                self.start_sending(i, now);
            }
            "schedule" => self.schedule(ctx, i)?,
            "unschedule" => {
                if status != "schedule" {
                    return Err(bad_request("This campaign is not scheduled."));
                }
                let c = &mut self.campaigns[i];
                c.status = "save".to_owned();
                c.schedule_time = None;
                c.send_time = None;
            }
            "test" => {
                let body = ctx.json()?;
                let emails: Vec<String> = body["test_emails"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if emails.is_empty() {
                    return Err(invalid(&[(
                        "test_emails",
                        "This value should not be blank.",
                    )]));
                }
                let send_type = match body["send_type"].as_str() {
                    Some(t @ ("html" | "plaintext")) => t.to_owned(),
                    _ => {
                        return Err(invalid(&[(
                            "send_type",
                            "Data presented is not one of the accepted values: html, plaintext.",
                        )]));
                    }
                };
                self.campaigns[i].tests.push((emails, send_type));
            }
            "pause" | "resume" => {
                return Err(bad_request(&format!(
                    "Only RSS campaigns can be {action}d."
                )));
            }
            "cancel-send" => {
                if status != "sending" {
                    return Err(bad_request(
                        "Only a campaign that is sending can be canceled.",
                    ));
                }
                self.campaigns[i].status = "canceled".to_owned();
            }
            _ => return Err(Fail::Unmatched),
        }
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    fn schedule(&mut self, ctx: &Ctx, i: usize) -> Result<(), Fail> {
        let body = ctx.json()?;
        let at = body["schedule_time"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .ok_or_else(|| {
                invalid(&[(
                    "schedule_time",
                    "This value should be an ISO 8601 date and time.",
                )])
            })?;
        self.may_deliver(i, "scheduled")?;
        if at.minute() % 15 != 0 || at.second() != 0 || at.nanosecond() != 0 {
            return Err(bad_request(QUARTER_HOUR_DETAIL));
        }
        let at = at.timestamp();
        if at <= self.now() {
            return Err(bad_request(
                "This campaign cannot be scheduled in the past.",
            ));
        }
        let timewarp = body["timewarp"].as_bool().unwrap_or(false);
        let batch = body
            .get("batch_delivery")
            .filter(|b| b.is_object())
            .cloned();
        if timewarp && batch.is_some() {
            return Err(bad_request("Timewarp cannot be used with batch delivery."));
        }
        let paid = self
            .accounts
            .get(&self.campaigns[i].account)
            .is_some_and(|a| a.paid);
        if !paid {
            return Err(bad_request("This campaign cannot be scheduled: ."));
        }
        let c = &mut self.campaigns[i];
        c.status = "schedule".to_owned();
        c.schedule_time = Some(at);
        c.send_time = Some(at);
        c.timewarp = timewarp;
        c.batch_delivery = batch;
        Ok(())
    }
}
