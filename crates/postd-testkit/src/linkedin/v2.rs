//! The unversioned `/v2` API: OpenID `userinfo` and the legacy `me`
//! (<https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow>).

use serde_json::json;

use super::auth::has;
use super::errors::{Answer, Fail, Reply, denied};
use super::request::Ctx;
use super::state::{MemberRec, State};

impl State {
    pub(super) fn v2(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let segs: Vec<String> = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let resource = match (ctx.method.as_str(), segs.as_slice()) {
            ("GET", ["userinfo"]) => "userinfo",
            ("GET", ["me"]) => "me",
            _ => return Err(Fail::Unmatched),
        };
        let tok = self.authenticate(ctx)?;
        self.throttle(&tok, resource)?;
        let m = self.members.get(&tok.sub).cloned().unwrap_or(MemberRec {
            name: tok.sub.clone(),
            email: format!("{}@members.example", tok.sub),
            scopes: Vec::new(),
        });
        let (given, family) = m.name.split_once(' ').unwrap_or((m.name.as_str(), ""));
        match resource {
            "userinfo" => {
                if !has(&tok, "openid") {
                    return Err(denied("userinfo.GET.NO_VERSION"));
                }
                let mut body = json!({"sub": tok.sub});
                if has(&tok, "profile") {
                    body["name"] = json!(m.name);
                    body["given_name"] = json!(given);
                    body["family_name"] = json!(family);
                    body["picture"] = json!(format!(
                        "https://media.licdn.com/dms/image/fake/{}/profile-displayphoto-shrink_100_100/0/",
                        tok.sub
                    ));
                    body["locale"] = json!("en-US");
                }
                if has(&tok, "email") {
                    body["email"] = json!(m.email);
                    body["email_verified"] = json!(true);
                }
                Ok(Reply::json(200, body))
            }
            _ => {
                if !(has(&tok, "r_liteprofile") || has(&tok, "r_basicprofile")) {
                    return Err(denied("me.GET.NO_VERSION"));
                }
                Ok(Reply::json(
                    200,
                    json!({
                        "id": tok.sub,
                        "localizedFirstName": given,
                        "localizedLastName": family,
                    }),
                ))
            }
        }
    }
}
