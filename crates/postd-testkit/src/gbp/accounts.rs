//! The Account Management API's `accounts.list`
//! (<https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list>:
//! `pageSize` "The default and maximum is 20", `pageToken`; answers `accounts` and
//! `nextPageToken`) and the Business Information API's `accounts.locations.list`
//! (<https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list>:
//! `readMask` required, `pageSize` "Default value is 10 if not set. Minimum is 1, and maximum
//! page size is 100", `pageToken`; answers `locations` and `nextPageToken`).
//!
//! A `pageSize` above the maximum is coerced to it (AIP-158); a negative one, or a page
//! token the fake did not hand out for that list, is `400 INVALID_ARGUMENT`. The
//! `filter`, `orderBy` and `parentAccount` parameters are not modelled: a list that sends
//! them is answered as unmatched (the loud 421).

use serde_json::{Map, Value, json};

use super::errors::{Answer, Fail, Reply, invalid_field, not_found, permission_denied};
use super::request::{Ctx, json_name};
use super::state::{LocationRec, State};

/// The top-level fields of a `Location`
/// (<https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations#Location>).
const LOCATION_FIELDS: &[&str] = &[
    "name",
    "languageCode",
    "storeCode",
    "title",
    "phoneNumbers",
    "categories",
    "storefrontAddress",
    "websiteUri",
    "regularHours",
    "specialHours",
    "serviceArea",
    "labels",
    "adWordsLocationExtensions",
    "latlng",
    "openInfo",
    "metadata",
    "profile",
    "relationshipData",
    "moreHours",
    "serviceItems",
];

/// The page `pageSize` and `pageToken` ask for of a list of `len` items:
/// `(start, end, next page token)`.
pub(super) fn page(
    ctx: &Ctx<'_>,
    list: &str,
    len: usize,
    default: usize,
    max: usize,
) -> Result<(usize, usize, Option<String>), Fail> {
    let size = match ctx.q("pageSize") {
        None => default,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 0 => {
                return Err(invalid_field("page_size", "page_size must not be negative"));
            }
            Ok(0) => default,
            Ok(n) => usize::try_from(n).unwrap_or(max).min(max),
            Err(_) => {
                return Err(super::errors::bind_error(&format!(
                    "Invalid value at 'page_size' (TYPE_INT32), \"{s}\""
                )));
            }
        },
    };
    let start = match ctx.q("pageToken") {
        None => 0,
        Some(t) => crate::util::base64_decode(&t)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix(&format!("{list}|"))
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .filter(|n| *n <= len)
            .ok_or_else(|| invalid_field("page_token", "Invalid page token."))?,
    };
    let end = (start + size).min(len);
    let next = (end < len).then(|| crate::util::base64url(format!("{list}|{end}").as_bytes()));
    Ok((start, end, next))
}

impl State {
    pub(super) fn list_accounts(&mut self, ctx: &mut Ctx<'_>, user: &str) -> Answer {
        if ctx.has_q("filter") || ctx.has_q("parentAccount") {
            return Err(Fail::Unmatched);
        }
        ctx.only_params(&["pageSize", "pageToken"])?;
        let mine: Vec<Value> = self
            .accounts
            .iter()
            .filter(|a| a.users.iter().any(|u| u == user))
            .map(|a| {
                let role = a
                    .roles
                    .get(user)
                    .cloned()
                    .unwrap_or_else(|| "OWNER".to_owned());
                let level = if role.ends_with("OWNER") {
                    "OWNER_LEVEL"
                } else {
                    "MEMBER_LEVEL"
                };
                json!({
                    "name": format!("accounts/{}", a.id),
                    "accountName": a.account_name,
                    "type": a.kind,
                    "role": role,
                    "verificationState": "VERIFIED",
                    "vettedState": "NOT_VETTED",
                    "permissionLevel": level,
                })
            })
            .collect();
        let (start, end, next) = page(ctx, &format!("accounts:{user}"), mine.len(), 20, 20)?;
        let mut body = json!({});
        if end > start {
            body["accounts"] = Value::Array(mine[start..end].to_vec());
        }
        if let Some(next) = next {
            body["nextPageToken"] = next.into();
        }
        Ok(Reply::json(200, body))
    }

    pub(super) fn list_locations(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        account: &str,
    ) -> Answer {
        if ctx.has_q("filter") || ctx.has_q("orderBy") {
            return Err(Fail::Unmatched);
        }
        ctx.only_params(&["pageSize", "pageToken", "readMask"])?;
        let mask = read_mask(ctx)?;
        if self.account(account).is_none() {
            return Err(not_found());
        }
        if !self.user_has_account(user, account) {
            return Err(permission_denied());
        }
        let all: Vec<Value> = self
            .locations
            .iter()
            .filter(|l| l.accounts.iter().any(|a| a == account))
            .map(location_json)
            .collect();
        let (start, end, next) = page(ctx, &format!("locations:{account}"), all.len(), 10, 100)?;
        let picked: Vec<Value> = all[start..end].iter().map(|l| masked(l, &mask)).collect();
        let mut body = json!({});
        if !picked.is_empty() {
            body["locations"] = Value::Array(picked);
        }
        if let Some(next) = next {
            body["nextPageToken"] = next.into();
        }
        Ok(Reply::json(200, body))
    }
}

/// The `readMask` paths (JSON names), or `400 INVALID_ARGUMENT`: "read_mask" "Field is
/// required" when absent, as Google answers it, and "Invalid field mask provided" for a path
/// outside `Location`.
fn read_mask(ctx: &Ctx<'_>) -> Result<Vec<Vec<String>>, Fail> {
    let Some(mask) = ctx.q("readMask") else {
        return Err(invalid_field("read_mask", "Field is required"));
    };
    let mut paths = Vec::new();
    for p in mask.split(',').map(str::trim) {
        let segs: Vec<String> = json_name(p).split('.').map(str::to_owned).collect();
        if segs.iter().any(String::is_empty) || !LOCATION_FIELDS.contains(&segs[0].as_str()) {
            return Err(invalid_field("read_mask", "Invalid field mask provided"));
        }
        paths.push(segs);
    }
    Ok(paths)
}

/// The fields of `full` the mask names (missing ones left out).
fn masked(full: &Value, mask: &[Vec<String>]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in mask {
        let mut src = full;
        let mut found = true;
        for seg in path {
            match src.get(seg) {
                Some(v) => src = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        let mut dst = &mut out;
        for (i, seg) in path.iter().enumerate() {
            let Some(obj) = dst.as_object_mut() else {
                break;
            };
            if i + 1 == path.len() {
                obj.insert(seg.clone(), src.clone());
                break;
            }
            dst = obj
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    out
}

/// A location as the Business Information API answers it (false booleans left out, as
/// proto3 JSON does).
pub(super) fn location_json(l: &LocationRec) -> Value {
    let m = l.metadata;
    let mut meta = Map::new();
    for (k, on) in [
        ("canDelete", m.can_delete),
        ("canHaveBusinessCalls", m.can_have_business_calls),
        ("canOperateLocalPost", m.can_operate_local_post),
        ("hasVoiceOfMerchant", m.has_voice_of_merchant),
    ] {
        if on {
            meta.insert(k.to_owned(), Value::Bool(true));
        }
    }
    meta.insert("placeId".to_owned(), l.place_id.clone().into());
    meta.insert(
        "mapsUri".to_owned(),
        format!("https://maps.google.com/maps?cid={}", l.id).into(),
    );
    meta.insert(
        "newReviewUri".to_owned(),
        format!(
            "https://search.google.com/local/writereview?placeid={}",
            l.place_id
        )
        .into(),
    );
    let mut v = json!({
        "name": format!("locations/{}", l.id),
        "languageCode": l.language_code,
        "title": l.title,
        "metadata": meta,
    });
    if let Some(code) = &l.store_code {
        v["storeCode"] = code.as_str().into();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_pick_fields_and_subfields() {
        let full = json!({"name": "locations/1", "title": "T", "metadata": {"placeId": "p", "mapsUri": "m"}});
        let mask = vec![
            vec!["title".to_owned()],
            vec!["metadata".to_owned(), "placeId".to_owned()],
            vec!["storeCode".to_owned()],
        ];
        assert_eq!(
            masked(&full, &mask),
            json!({"title": "T", "metadata": {"placeId": "p"}})
        );
    }
}
