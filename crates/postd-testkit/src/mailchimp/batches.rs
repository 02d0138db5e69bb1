//! Batch operations and campaign reports.
//!
//! - `POST /batches` `{"operations": [{method, path, params, body, operation_id}]}`,
//!   `GET /batches` and `GET /batches/{batch_id}`
//!   (<https://mailchimp.com/developer/marketing/api/batch-operations/>,
//!   <https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/>):
//!   `status` moves `pending` → `preprocessing` → `started` → `finalizing` → `finished`,
//!   [`MailchimpFakeConfig::batch_step_secs`](super::MailchimpFakeConfig::batch_step_secs)
//!   of fake time each (the docs give no durations); the operations run, against the same
//!   state as HTTP calls, when `finalizing` ends, and `finished_operations` /
//!   `errored_operations` (status ≥ 400) count them then. `body` is a JSON string, as
//!   documented. Mailchimp puts the results in a `.tar.gz` at `response_body_url`; the fake
//!   builds none (`response_body_url` is empty) and keeps them for
//!   [`MailchimpFake::batch_results`](super::MailchimpFake::batch_results). An operation on
//!   a path the fake does not serve (a nested `/batches` included) gets `421`.
//! - `GET /reports/{campaign_id}` (<https://mailchimp.com/developer/marketing/api/reports/>):
//!   `404` until the campaign has started sending; then `emails_sent`, `abuse_reports`,
//!   `unsubscribed`, `send_time`, `bounces` (`hard_bounces`, `soft_bounces`,
//!   `syntax_errors`), `forwards`, `opens` (`opens_total`, `unique_opens`, `open_rate`,
//!   `last_open`), `clicks` (`clicks_total`, `unique_clicks`, `unique_subscriber_clicks`,
//!   `click_rate`, `last_click`) and `list_stats`. Engagement is zero while `sending` and the
//!   seeded [`MailchimpReport`](super::MailchimpReport) once `sent`. Rates are fractions of
//!   the delivered emails (`emails_sent` less bounces), as the reference's examples show.

use serde_json::{Value, json};

use super::errors::{Answer, Fail, Reply, invalid, not_found};
use super::lists::iso;
use super::records::{MailchimpBatchResult, MailchimpReport};
use super::request::Ctx;
use super::state::{BatchRec, State};

impl State {
    fn batch_status(&self, b: &BatchRec) -> &'static str {
        if b.results.is_some() {
            return "finished";
        }
        let step = self.config.batch_step_secs.max(1);
        match (self.now() - b.submitted_at) / step {
            0 => "pending",
            1 => "preprocessing",
            2 => "started",
            _ => "finalizing",
        }
    }

    fn batch_json(&self, b: &BatchRec) -> Value {
        let (finished, errored) = b.results.as_ref().map_or((0, 0), |r| {
            (r.len(), r.iter().filter(|x| x.status_code >= 400).count())
        });
        json!({
            "id": b.id,
            "status": self.batch_status(b),
            "total_operations": b.operations.len(),
            "finished_operations": finished,
            "errored_operations": errored,
            "submitted_at": iso(b.submitted_at),
            "completed_at": b.completed_at.map(iso).unwrap_or_default(),
            "response_body_url": "",
        })
    }

    pub(super) fn batch_create(&mut self, ctx: &mut Ctx, account: &str) -> Answer {
        let body = ctx.json()?;
        let Some(ops) = body["operations"].as_array().filter(|o| !o.is_empty()) else {
            return Err(invalid(&[(
                "operations",
                "This value should not be blank.",
            )]));
        };
        for (n, op) in ops.iter().enumerate() {
            let method_ok = op["method"].as_str().is_some_and(|m| {
                matches!(
                    m.to_ascii_uppercase().as_str(),
                    "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
                )
            });
            if !method_ok {
                return Err(invalid(&[(
                    &format!("operations.{n}.method"),
                    "Data presented is not one of the accepted values: GET, POST, PUT, PATCH, DELETE.",
                )]));
            }
            if op["path"].as_str().is_none_or(str::is_empty) {
                return Err(invalid(&[(
                    &format!("operations.{n}.path"),
                    "This value should not be blank.",
                )]));
            }
            if op
                .get("body")
                .is_some_and(|b| !b.is_string() && !b.is_null())
            {
                return Err(invalid(&[(
                    &format!("operations.{n}.body"),
                    "This value should be a JSON string.",
                )]));
            }
        }
        let b = BatchRec {
            id: self.hex_id(10),
            account: account.to_owned(),
            operations: ops.clone(),
            submitted_at: self.now(),
            completed_at: None,
            results: None,
        };
        let out = self.batch_json(&b);
        self.batches.push(b);
        ctx.committed = true;
        Ok(Reply::json(200, ctx.shape(out)))
    }

    pub(super) fn batches_list(&mut self, ctx: &Ctx, account: &str) -> Answer {
        let (count, offset) = ctx.page()?;
        let all: Vec<Value> = self
            .batches
            .iter()
            .filter(|b| b.account == account)
            .map(|b| self.batch_json(b))
            .collect();
        let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"batches": page, "total_items": all.len()})),
        ))
    }

    pub(super) fn batch_get(&mut self, ctx: &Ctx, account: &str, id: &str) -> Answer {
        let b = self
            .batches
            .iter()
            .find(|b| b.id == id && b.account == account)
            .ok_or_else(not_found)?;
        Ok(Reply::json(200, ctx.shape(self.batch_json(b))))
    }

    /// Runs batch `i`'s operations, in order.
    pub(super) fn run_batch(&mut self, i: usize) {
        let b = self.batches[i].clone();
        let mut results = Vec::new();
        for op in &b.operations {
            let method = op["method"].as_str().unwrap_or("GET");
            let path = op["path"].as_str().unwrap_or("");
            let body = op["body"].as_str().unwrap_or("").as_bytes().to_vec();
            let mut ctx = Ctx::operation(method, path, &op["params"], body);
            let (status_code, response) = match self.dispatch(&mut ctx, &b.account) {
                Ok(r) | Err(Fail::Reply(r)) => (r.status, r.body.unwrap_or(Value::Null)),
                Err(Fail::Unmatched) => (
                    421,
                    json!({"detail": format!("postd-testkit: no fake route matches {method} {path}")}),
                ),
            };
            results.push(MailchimpBatchResult {
                operation_id: op["operation_id"].as_str().map(str::to_owned),
                status_code,
                response,
            });
        }
        let done = b.submitted_at + 4 * self.config.batch_step_secs.max(0);
        let rec = &mut self.batches[i];
        rec.results = Some(results);
        rec.completed_at = Some(done);
    }

    pub(super) fn report(&mut self, ctx: &Ctx, account: &str, id: &str) -> Answer {
        let c = self
            .campaigns
            .iter()
            .find(|c| c.id == id && c.account == account && c.sends > 0)
            .cloned()
            .ok_or_else(not_found)?;
        let r = if c.status == "sent" {
            c.report
        } else {
            MailchimpReport::default()
        };
        let delivered = c
            .emails_sent
            .saturating_sub(r.hard_bounces + r.soft_bounces);
        let rate = |n: u64| {
            if delivered == 0 {
                0.0
            } else {
                n as f64 / delivered as f64
            }
        };
        let body = json!({
            "id": c.id,
            "campaign_title": c.settings["title"],
            "type": c.kind,
            "list_id": c.list_id.clone().unwrap_or_default(),
            "subject_line": c.settings["subject_line"],
            "preview_text": c.settings["preview_text"],
            "emails_sent": c.emails_sent,
            "abuse_reports": r.abuse_reports,
            "unsubscribed": r.unsubscribed,
            "send_time": c.send_time.map(iso).unwrap_or_default(),
            "bounces": {"hard_bounces": r.hard_bounces, "soft_bounces": r.soft_bounces, "syntax_errors": 0},
            "forwards": {"forwards_count": 0, "forwards_opens": 0},
            "opens": {
                "opens_total": r.opens_total,
                "unique_opens": r.unique_opens,
                "open_rate": rate(r.unique_opens),
                "last_open": "",
            },
            "clicks": {
                "clicks_total": r.clicks_total,
                "unique_clicks": r.unique_clicks,
                "unique_subscriber_clicks": r.unique_clicks,
                "click_rate": rate(r.unique_clicks),
                "last_click": "",
            },
            "list_stats": {"sub_rate": 0, "unsub_rate": 0, "open_rate": 0, "click_rate": 0},
        });
        Ok(Reply::json(200, ctx.shape(body)))
    }
}
