//! Organization access control (`organizationAcls`) and organization lookups (`organizations`)
//! (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>).

use serde_json::{Map, Value, json};

use super::auth::{TokenRec, has};
use super::errors::{Answer, Fail, Reply, denied, illegal};
use super::request::Ctx;
use super::restli::Rv;
use super::state::{State, org_id_of, person_urn};

impl State {
    pub(super) fn org_acls(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        if ctx.q("q").as_deref() != Some("roleAssignee") {
            return Err(Fail::Unmatched);
        }
        if !(has(tok, "rw_organization_admin") || has(tok, "r_organization_admin")) {
            return Err(denied(
                &ctx.label("organizationAcls", "FINDER-roleAssignee"),
            ));
        }
        let role = ctx.q("role");
        let state = ctx.q("state");
        let (start, count) = ctx.count_param(10, 100)?;
        let all: Vec<Value> = self
            .acls
            .iter()
            .filter(|a| a.sub == tok.sub)
            .filter(|a| role.as_ref().is_none_or(|r| *r == a.role))
            .filter(|a| state.as_ref().is_none_or(|s| *s == a.state))
            .map(|a| {
                json!({
                    "organization": format!("urn:li:organization:{}", a.org),
                    "role": a.role,
                    "state": a.state,
                    "roleAssignee": person_urn(&a.sub),
                })
            })
            .collect();
        let total = all.len();
        let elements: Vec<Value> = all.into_iter().skip(start).take(count).collect();
        Ok(Reply::json(
            200,
            json!({
                "paging": {"start": start, "count": count, "links": [], "total": total},
                "elements": elements,
            }),
        ))
    }

    pub(super) fn organizations(&mut self, ctx: &Ctx<'_>) -> Answer {
        let Some(ids) = ctx.q_restli("ids")? else {
            return Err(Fail::Unmatched);
        };
        let Rv::L(items) = ids else {
            return Err(illegal("ids must be a List(...)"));
        };
        let mut results = Map::new();
        let mut statuses = Map::new();
        let mut errors = Map::new();
        for item in items {
            let id = item.str().unwrap_or("").to_owned();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                statuses.insert(id.clone(), json!(400));
                errors.insert(
                    id.clone(),
                    json!({"status": 400, "message": format!("Invalid organization id {id}")}),
                );
                continue;
            }
            match self.org_json(&id) {
                Some(v) => {
                    results.insert(id.clone(), v);
                    statuses.insert(id, json!(200));
                }
                None => {
                    statuses.insert(id.clone(), json!(404));
                    errors.insert(
                        id.clone(),
                        json!({"status": 404, "message": format!("Not Found: organization {id}")}),
                    );
                }
            }
        }
        Ok(Reply::json(
            200,
            json!({"results": results, "statuses": statuses, "errors": errors}),
        ))
    }

    pub(super) fn org_json(&self, id: &str) -> Option<Value> {
        let id = org_id_of(id).unwrap_or(id);
        let name = self.orgs.get(id)?;
        let vanity: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        Some(json!({
            "id": id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n)),
            "localizedName": name,
            "vanityName": vanity,
            "name": {
                "localized": {"en_US": name},
                "preferredLocale": {"country": "US", "language": "en"},
            },
            "$URN": format!("urn:li:organization:{id}"),
        }))
    }
}
