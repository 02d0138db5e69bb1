//! The versioned `/rest` API: the `LinkedIn-Version` and Rest.li protocol checks, and the
//! dispatch to each resource (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>).

use super::errors::{Answer, Fail, Reply, coded, illegal, not_found};
use super::request::Ctx;
use super::state::State;

impl State {
    pub(super) fn rest(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let version = ctx.header("linkedin-version").filter(|v| !v.is_empty());
        let protocol = ctx
            .header("x-restli-protocol-version")
            .filter(|v| !v.is_empty());
        if version.is_none() || protocol.is_none() {
            self.missing_version += 1;
        }
        let Some(version) = version else {
            return Err(coded(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            ));
        };
        let (month, shown) = parse_version(&version);
        if !month.is_some_and(|m| self.config.active_versions.contains(&m)) {
            return Err(coded(
                426,
                "NONEXISTENT_VERSION",
                format!("Requested version {shown} is not active"),
            ));
        }
        ctx.version = shown;
        if protocol.as_deref() != Some("2.0.0") {
            return Err(illegal(
                "This API requires Rest.li protocol 2.0: send the header X-Restli-Protocol-Version: 2.0.0",
            ));
        }
        let tok = self.authenticate(ctx)?;
        let segs = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let resource = segs.first().copied().unwrap_or("");
        let known = matches!(
            resource,
            "posts"
                | "images"
                | "videos"
                | "organizationAcls"
                | "organizations"
                | "organizationalEntityShareStatistics"
                | "memberCreatorPostAnalytics"
                | "socialMetadata"
        );
        if !known {
            return Err(Fail::Unmatched);
        }
        self.throttle(&tok, resource)?;
        let strict = self.config.strict_path_encoding;
        let action = ctx.q("action");
        match (ctx.method.as_str(), segs.as_slice()) {
            ("POST", ["posts"]) => self.create_post(ctx, &tok),
            ("GET", ["posts"]) => self.find_posts(ctx, &tok),
            ("GET", ["posts", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_post(ctx, &tok, &urn)
            }
            ("DELETE", ["posts", key]) => {
                let urn = ctx.key(key, strict)?;
                self.delete_post(ctx, &tok, &urn)
            }
            ("POST", ["posts", key])
                if ctx
                    .header("x-restli-method")
                    .is_some_and(|m| m.eq_ignore_ascii_case("PARTIAL_UPDATE")) =>
            {
                let urn = ctx.key(key, strict)?;
                self.update_post(ctx, &tok, &urn)
            }
            ("POST", ["images"]) if action.as_deref() == Some("initializeUpload") => {
                self.init_image(ctx, &tok)
            }
            ("GET", ["images"]) => self.batch_assets(ctx, &tok, "images"),
            ("GET", ["images", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_image(&tok, &urn).map(|v| Reply::json(200, v))
            }
            ("POST", ["videos"]) if action.as_deref() == Some("initializeUpload") => {
                self.init_video(ctx, &tok)
            }
            ("POST", ["videos"]) if action.as_deref() == Some("finalizeUpload") => {
                self.finalize_video(ctx, &tok)
            }
            ("GET", ["videos"]) => self.batch_assets(ctx, &tok, "videos"),
            ("GET", ["videos", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_video(&tok, &urn).map(|v| Reply::json(200, v))
            }
            ("GET", ["organizationAcls"]) => self.org_acls(ctx, &tok),
            ("GET", ["organizations"]) => self.organizations(ctx),
            ("GET", ["organizations", id]) => {
                let id = ctx.key(id, strict)?;
                match self.org_json(&id) {
                    Some(v) => Ok(Reply::json(200, v)),
                    None => Err(not_found(&format!("organization {id}"))),
                }
            }
            ("GET", ["organizationalEntityShareStatistics"]) => self.share_statistics(ctx, &tok),
            ("GET", ["memberCreatorPostAnalytics"]) => self.member_analytics(ctx, &tok),
            ("GET", ["socialMetadata", key]) => {
                let urn = ctx.key(key, strict)?;
                self.social_metadata(ctx, &tok, &urn)
            }
            _ => Err(Fail::Unmatched),
        }
    }
}

/// `YYYYMM`, `YYYYMMDD` or `YYYYMM.NN` → (the month, the version as LinkedIn
/// names it in messages: `YYYYMMDD`).
fn parse_version(v: &str) -> (Option<u32>, String) {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let base = v
        .split_once('.')
        .map_or(v, |(b, patch)| if all_digits(patch) { b } else { v });
    match base.len() {
        6 if all_digits(base) => (base.parse().ok(), format!("{base}01")),
        8 if all_digits(base) => (base[..6].parse().ok(), base.to_owned()),
        _ => (None, v.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_named_like_linkedin_names_them() {
        assert_eq!(
            parse_version("202504"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(
            parse_version("20250401"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(
            parse_version("202504.01"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(parse_version("v2"), (None, "v2".to_owned()));
    }
}
