//! The send checklist: `GET /campaigns/{id}/send-checklist`
//! (<https://mailchimp.com/developer/marketing/api/campaign-checklist/>) answers `is_ready`
//! and `items` `[{type: success | warning | error, id, heading, details}]`. The reference
//! lists no item: the fake's checks, and their headings and details (its own words), are an
//! audience, subscribed recipients (and a segment that has finished processing), a subject
//! line, a from name, a reply-to address on a verified domain, and content. `actions/send`
//! and `actions/schedule` refuse a campaign whose checklist has an `error`.

use serde_json::{Value, json};

use super::errors::{Answer, Reply};
use super::request::Ctx;
use super::state::State;

impl State {
    /// The checklist items of campaign `i`, as `(type, heading, details)`.
    pub(super) fn checklist(&self, i: usize) -> Vec<(&'static str, &'static str, String)> {
        let c = &self.campaigns[i];
        let mut items = Vec::new();
        let list = c.list_id.as_ref().and_then(|l| self.lists.get(l));
        match list {
            Some(l) => items.push(("success", "Audience", format!("Sending to {}.", l.name))),
            None => items.push((
                "error",
                "Audience",
                "You need to select an audience to send to.".to_owned(),
            )),
        }
        let seg = c
            .segment_id
            .and_then(|id| self.segments.iter().find(|s| s.id == id));
        if seg.is_some_and(|s| s.processing) {
            items.push((
                "error",
                "Segment",
                "Your segment is still processing. Try again when it has finished.".to_owned(),
            ));
        } else if list.is_some() {
            match self.recipients(c) {
                0 => items.push((
                    "error",
                    "Recipients",
                    "Your audience or segment has no subscribed contacts.".to_owned(),
                )),
                n => items.push((
                    "success",
                    "Recipients",
                    format!("{n} subscribed contacts will receive this campaign."),
                )),
            }
        }
        let field = |k: &str| c.settings[k].as_str().unwrap_or("").trim().to_owned();
        let checks = [
            (
                "subject_line",
                "Subject Line",
                "You need to add a subject line.",
            ),
            ("from_name", "From Name", "You need to add a from name."),
        ];
        for (key, heading, missing) in checks {
            if field(key).is_empty() {
                items.push(("error", heading, missing.to_owned()));
            } else {
                items.push(("success", heading, format!("\"{}\"", field(key))));
            }
        }
        let reply_to = field("reply_to");
        let domain = reply_to
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase());
        let account = self.accounts.get(&c.account);
        if reply_to.is_empty() {
            items.push((
                "error",
                "From Email",
                "You need to add a from email address.".to_owned(),
            ));
        } else if let Some(d) =
            domain.filter(|d| account.is_some_and(|a| a.unverified_domains.contains(d)))
        {
            items.push(("error", "From Email", format!("The domain {d} of your from email address is not verified. Verify it before you send.")));
        } else {
            items.push(("success", "From Email", reply_to.clone()));
        }
        let has_content = c.html.as_deref().is_some_and(|h| !h.trim().is_empty())
            || c.plain_text
                .as_deref()
                .is_some_and(|p| !p.trim().is_empty());
        if has_content {
            items.push((
                "success",
                "Content",
                "Your campaign has content.".to_owned(),
            ));
        } else {
            items.push((
                "error",
                "Content",
                "You need to add content before you send.".to_owned(),
            ));
        }
        items
    }

    pub(super) fn checklist_get(&mut self, ctx: &Ctx, account: &str, id: &str) -> Answer {
        let i = self.campaign_index(account, id)?;
        let items = self.checklist(i);
        let ready = items.iter().all(|(t, _, _)| *t != "error");
        let items: Vec<Value> = items
            .into_iter()
            .enumerate()
            .map(|(n, (t, h, d))| json!({"type": t, "id": n, "heading": h, "details": d}))
            .collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"is_ready": ready, "items": items})),
        ))
    }
}
