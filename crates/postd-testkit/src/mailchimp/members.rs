//! Audience members by subscriber hash
//! (<https://mailchimp.com/developer/marketing/api/list-members/>,
//! <https://mailchimp.com/developer/marketing/api/list-member-tags/>).
//!
//! - `GET /lists/{list_id}/members` (`status`, `count`/`offset`; archived members only with
//!   `status=archived`), `POST` (add; an existing member is `400 Member Exists`),
//!   `GET/PUT/PATCH/DELETE .../members/{subscriber_hash}` (the path also takes the address),
//!   `PUT` an upsert that needs `status_if_new` for a new member, `DELETE` archiving,
//!   `POST .../actions/delete-permanent` forgetting the address, and the member's tags.
//! - Statuses `subscribed`, `unsubscribed`, `cleaned`, `pending`, `transactional` (and
//!   `archived`, by `DELETE` only). Compliance: an `unsubscribed` or `cleaned` member cannot
//!   be made `subscribed` through the API (`400 Member In Compliance State`); an
//!   `unsubscribed` one may be set `pending` (Mailchimp mails a confirmation; the fake
//!   records only the status). A permanently deleted address cannot be added back at all
//!   (`400 Forgotten Email Not Subscribed`). The details are the ones Mailchimp answers; the
//!   API reference documents neither title. The docs do not say whether `cleaned` may go to
//!   `pending`: the fake refuses it.
//! - API-made changes queue `subscribe`, `unsubscribe`, `cleaned`, `profile` and `upemail`
//!   deliveries for webhooks with the `api` source on.

use serde_json::{Value, json};

use super::errors::{Answer, Fail, Reply, fail, invalid, not_found};
use super::hash::subscriber_hash;
use super::lists::iso;
use super::request::Ctx;
use super::state::{MemberRec, SegmentRec, State};

const STATUSES: &[&str] = &[
    "subscribed",
    "unsubscribed",
    "cleaned",
    "pending",
    "transactional",
];

/// The subscriber hash a path segment names (a hash, or an address).
fn hash_of(segment: &str) -> String {
    let s = crate::util::pct_decode(segment);
    if s.contains('@') {
        subscriber_hash(&s)
    } else {
        s.to_ascii_lowercase()
    }
}

fn valid_email(e: &str) -> bool {
    e.split_once('@').is_some_and(|(a, d)| {
        !a.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    })
}

fn status_of(body: &Value, key: &str) -> Result<Option<String>, Fail> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(&[(
            key,
            "Data presented is not one of the accepted values: subscribed, unsubscribed, cleaned, pending, transactional.",
        )])),
    }
}

impl State {
    fn member_json(&self, list: &str, hash: &str, m: &MemberRec) -> Value {
        let tags: Vec<Value> = m
            .tags
            .iter()
            .filter_map(|t| {
                self.segments
                    .iter()
                    .find(|s| s.list_id == list && s.kind == "static" && &s.name == t)
                    .map(|s| json!({"id": s.id, "name": s.name}))
            })
            .collect();
        json!({
            "id": hash,
            "email_address": m.email,
            "unique_email_id": &hash[..hash.len().min(10)],
            "web_id": m.web_id,
            "email_type": "html",
            "status": m.status,
            "merge_fields": m.merge_fields,
            "tags_count": tags.len(),
            "tags": tags,
            "list_id": list,
            "timestamp_opt": iso(m.timestamp_opt),
            "last_changed": iso(m.timestamp_opt),
        })
    }

    /// Checks a move of `email` from `old` to `new`.
    fn may_become(&self, old: Option<&str>, new: &str, email: &str) -> Result<(), Fail> {
        match (old, new) {
            (Some("unsubscribed"), "subscribed") | (Some("cleaned"), "subscribed" | "pending") => {
                Err(fail(
                    400,
                    "Member In Compliance State",
                    &format!(
                        "{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Queues the webhook events of a member's change.
    fn member_events(
        &mut self,
        list: &str,
        hash: &str,
        before: Option<&MemberRec>,
        after: &MemberRec,
    ) {
        let mut data: Vec<(String, String)> = vec![
            ("id".to_owned(), hash[..hash.len().min(10)].to_owned()),
            ("list_id".to_owned(), list.to_owned()),
            ("email".to_owned(), after.email.clone()),
            ("email_type".to_owned(), "html".to_owned()),
        ];
        if let Some(m) = after.merge_fields.as_object() {
            for (k, v) in m {
                // `data[merges][K]`: the key is written inside `data[...]`.
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                data.push((format!("merges][{k}"), v));
            }
        }
        let pairs: Vec<(&str, String)> =
            data.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let changed = before.is_none_or(|b| b.status != after.status);
        match after.status.as_str() {
            "subscribed" if changed => self.emit(list, "subscribe", "api", &pairs),
            "unsubscribed" if changed => {
                let mut p = pairs.clone();
                p.push(("action", "unsub".to_owned()));
                p.push(("reason", "manual".to_owned()));
                self.emit(list, "unsubscribe", "api", &p);
            }
            "cleaned" if changed => {
                let mut p = pairs.clone();
                p.push(("reason", "hard".to_owned()));
                self.emit(list, "cleaned", "api", &p);
            }
            _ if before.is_some_and(|b| b.merge_fields != after.merge_fields) => {
                self.emit(list, "profile", "api", &pairs);
            }
            _ => {}
        }
    }

    /// Writes a member, emitting its events.
    fn put_member(&mut self, list: &str, hash: &str, m: MemberRec) {
        let key = (list.to_owned(), hash.to_owned());
        let before = self.members.get(&key).cloned();
        self.member_events(list, hash, before.as_ref(), &m);
        self.members.insert(key, m);
    }

    fn new_member(&mut self, email: &str, status: String, body: &Value) -> MemberRec {
        let web_id = self.next();
        let mut merge = body["merge_fields"].clone();
        if !merge.is_object() {
            merge = json!({});
        }
        let tags = body["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        MemberRec {
            email: email.to_owned(),
            status,
            merge_fields: merge,
            tags,
            web_id,
            timestamp_opt: self.now(),
        }
    }

    fn sync_tags(&mut self, list: &str, hash: &str) {
        let tags = self
            .members
            .get(&(list.to_owned(), hash.to_owned()))
            .map(|m| m.tags.clone())
            .unwrap_or_default();
        for t in tags {
            if let Some(s) = self
                .segments
                .iter_mut()
                .find(|s| s.list_id == list && s.kind == "static" && s.name == t)
            {
                s.members.insert(hash.to_owned());
            } else {
                let id = self.next();
                self.segments.push(SegmentRec {
                    id,
                    list_id: list.to_owned(),
                    name: t,
                    kind: "static",
                    members: [hash.to_owned()].into_iter().collect(),
                    processing: false,
                });
            }
        }
    }

    pub(super) fn members_list(&mut self, ctx: &Ctx, account: &str, list: &str) -> Answer {
        self.own_list(account, list)?;
        let (count, offset) = ctx.page()?;
        let status = ctx.q("status");
        let all: Vec<Value> = self
            .members
            .iter()
            .filter(|((l, _), m)| {
                l == list
                    && match &status {
                        Some(s) => &m.status == s,
                        None => m.status != "archived",
                    }
            })
            .map(|((l, h), m)| self.member_json(l, h, m))
            .collect();
        let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"members": page, "list_id": list, "total_items": all.len()})),
        ))
    }

    fn add_checks(&self, list: &str, email: &str) -> Result<String, Fail> {
        if !valid_email(email) {
            return Err(invalid(&[(
                "email_address",
                "This value should be a valid email.",
            )]));
        }
        let hash = subscriber_hash(email);
        if self.forgotten.contains(&(list.to_owned(), hash.clone())) {
            return Err(fail(
                400,
                "Forgotten Email Not Subscribed",
                &format!(
                    "{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list."
                ),
            ));
        }
        Ok(hash)
    }

    pub(super) fn member_add(&mut self, ctx: &mut Ctx, account: &str, list: &str) -> Answer {
        self.own_list(account, list)?;
        let body = ctx.json()?;
        let email = body["email_address"].as_str().unwrap_or("").to_owned();
        let hash = self.add_checks(list, &email)?;
        let status = status_of(&body, "status")?
            .ok_or_else(|| invalid(&[("status", "This value should not be blank.")]))?;
        let existing = self.members.get(&(list.to_owned(), hash.clone())).cloned();
        if existing.as_ref().is_some_and(|m| m.status != "archived") {
            return Err(fail(
                400,
                "Member Exists",
                &format!(
                    "{email} is already a list member. Use PUT to insert or update list members."
                ),
            ));
        }
        let m = self.new_member(&email, status, &body);
        self.put_member(list, &hash, m.clone());
        self.sync_tags(list, &hash);
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(self.member_json(list, &hash, &m)),
        ))
    }

    pub(super) fn member_get(&mut self, ctx: &Ctx, account: &str, list: &str, h: &str) -> Answer {
        self.own_list(account, list)?;
        let hash = hash_of(h);
        let m = self
            .members
            .get(&(list.to_owned(), hash.clone()))
            .cloned()
            .ok_or_else(not_found)?;
        Ok(Reply::json(
            200,
            ctx.shape(self.member_json(list, &hash, &m)),
        ))
    }

    pub(super) fn member_put(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        h: &str,
    ) -> Answer {
        self.own_list(account, list)?;
        let hash = hash_of(h);
        let body = ctx.json()?;
        let email = body["email_address"].as_str().unwrap_or("").to_owned();
        if self.add_checks(list, &email)? != hash {
            return Err(invalid(&[(
                "email_address",
                "The subscriber hash in the path is not the MD5 of this email address.",
            )]));
        }
        let status = status_of(&body, "status")?;
        let if_new = status_of(&body, "status_if_new")?;
        let key = (list.to_owned(), hash.clone());
        let m = match self.members.get(&key).cloned() {
            Some(old) if old.status != "archived" => {
                let mut m = old.clone();
                if let Some(s) = status {
                    self.may_become(Some(&old.status), &s, &email)?;
                    m.status = s;
                }
                merge_into(&mut m.merge_fields, &body["merge_fields"]);
                m.email = email.clone();
                m
            }
            _ => {
                let s = status.or(if_new).ok_or_else(|| {
                    invalid(&[("status_if_new", "This value should not be blank.")])
                })?;
                self.new_member(&email, s, &body)
            }
        };
        self.put_member(list, &hash, m.clone());
        self.sync_tags(list, &hash);
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(self.member_json(list, &hash, &m)),
        ))
    }

    pub(super) fn member_patch(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        h: &str,
    ) -> Answer {
        self.own_list(account, list)?;
        let mut hash = hash_of(h);
        let body = ctx.json()?;
        let old = self
            .members
            .get(&(list.to_owned(), hash.clone()))
            .cloned()
            .ok_or_else(not_found)?;
        let mut m = old.clone();
        if let Some(s) = status_of(&body, "status")? {
            self.may_become(Some(&old.status), &s, &old.email)?;
            m.status = s;
        }
        merge_into(&mut m.merge_fields, &body["merge_fields"]);
        if let Some(new_email) = body["email_address"]
            .as_str()
            .filter(|e| !e.eq_ignore_ascii_case(&old.email))
        {
            let new_hash = self.add_checks(list, new_email)?;
            if self
                .members
                .contains_key(&(list.to_owned(), new_hash.clone()))
            {
                return Err(fail(
                    400,
                    "Member Exists",
                    &format!("{new_email} is already a list member."),
                ));
            }
            self.members.remove(&(list.to_owned(), hash.clone()));
            self.emit(
                list,
                "upemail",
                "api",
                &[
                    ("list_id", list.to_owned()),
                    ("new_id", new_hash[..10].to_owned()),
                    ("new_email", new_email.to_owned()),
                    ("old_email", old.email.clone()),
                ],
            );
            m.email = new_email.to_owned();
            hash = new_hash;
            self.members
                .insert((list.to_owned(), hash.clone()), m.clone());
        } else {
            self.put_member(list, &hash, m.clone());
        }
        ctx.committed = true;
        Ok(Reply::json(
            200,
            ctx.shape(self.member_json(list, &hash, &m)),
        ))
    }

    pub(super) fn member_archive(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        h: &str,
    ) -> Answer {
        self.own_list(account, list)?;
        let m = self
            .members
            .get_mut(&(list.to_owned(), hash_of(h)))
            .ok_or_else(not_found)?;
        m.status = "archived".to_owned();
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    pub(super) fn member_forget(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        h: &str,
    ) -> Answer {
        self.own_list(account, list)?;
        let key = (list.to_owned(), hash_of(h));
        self.members.remove(&key).ok_or_else(not_found)?;
        for s in self.segments.iter_mut().filter(|s| s.list_id == list) {
            s.members.remove(&key.1);
        }
        self.forgotten.insert(key);
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    pub(super) fn tags_get(&mut self, ctx: &Ctx, account: &str, list: &str, h: &str) -> Answer {
        self.own_list(account, list)?;
        let hash = hash_of(h);
        let m = self
            .members
            .get(&(list.to_owned(), hash))
            .cloned()
            .ok_or_else(not_found)?;
        let tags: Vec<Value> = m
            .tags
            .iter()
            .filter_map(|t| {
                self.segments
                    .iter()
                    .find(|s| s.list_id == list && s.kind == "static" && &s.name == t)
            })
            .map(|s| json!({"id": s.id, "name": s.name, "date_added": iso(m.timestamp_opt)}))
            .collect();
        Ok(Reply::json(
            200,
            ctx.shape(json!({"tags": tags, "total_items": tags.len()})),
        ))
    }

    pub(super) fn tags_post(
        &mut self,
        ctx: &mut Ctx,
        account: &str,
        list: &str,
        h: &str,
    ) -> Answer {
        self.own_list(account, list)?;
        let hash = hash_of(h);
        let body = ctx.json()?;
        let Some(tags) = body["tags"].as_array() else {
            return Err(invalid(&[("tags", "This value should not be blank.")]));
        };
        let mut changes = Vec::new();
        for t in tags {
            let (Some(name), Some(status)) = (t["name"].as_str(), t["status"].as_str()) else {
                return Err(invalid(&[("tags", "Each tag needs a name and a status.")]));
            };
            if !matches!(status, "active" | "inactive") {
                return Err(invalid(&[(
                    "tags.status",
                    "Data presented is not one of the accepted values: active, inactive.",
                )]));
            }
            changes.push((name.to_owned(), status == "active"));
        }
        let m = self
            .members
            .get_mut(&(list.to_owned(), hash.clone()))
            .ok_or_else(not_found)?;
        for (name, active) in &changes {
            m.tags.retain(|t| t != name);
            if *active {
                m.tags.push(name.clone());
            }
        }
        for (name, _) in changes.iter().filter(|(_, a)| !a) {
            if let Some(s) = self
                .segments
                .iter_mut()
                .find(|s| s.list_id == list && s.kind == "static" && &s.name == name)
            {
                s.members.remove(&hash);
            }
        }
        self.sync_tags(list, &hash);
        ctx.committed = true;
        Ok(Reply::empty(204))
    }
}

fn merge_into(target: &mut Value, given: &Value) {
    if let (Some(t), Some(g)) = (target.as_object_mut(), given.as_object()) {
        for (k, v) in g {
            t.insert(k.clone(), v.clone());
        }
    }
}
