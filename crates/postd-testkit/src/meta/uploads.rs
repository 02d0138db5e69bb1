//! The Resumable Upload API (`/{app-id}/uploads`, `/upload:{session}`): checked offsets, byte
//! counts and a running FNV-1a checksum (<https://developers.facebook.com/docs/graph-api/guides/upload>).

use serde_json::json;

use super::auth::TokenKind;
use super::errors::{Answer, GraphErr, invalid_param, missing_param, no_object};
use super::records::{TokenVia, UploadSession};
use super::request::Ctx;
use super::state::State;
use crate::util::{FNV_OFFSET, fnv1a, hex};

impl State {
    pub(super) fn start_upload(&mut self, ctx: &mut Ctx<'_>, app: &str) -> Answer {
        let rec = self.authenticate(ctx)?;
        if app != self.config.app_id {
            return Err(no_object(app, "POST").into());
        }
        if rec.kind == TokenKind::Page {
            return Err(GraphErr::new(
                200,
                None,
                "(#200) The Resumable Upload API requires a user access token",
            )
            .into());
        }
        let length: u64 = ctx
            .p("file_length")
            .ok_or_else(|| missing_param("file_length"))?
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid_param("Param file_length must be a positive integer"))?;
        let file_type = ctx
            .p("file_type")
            .ok_or_else(|| missing_param("file_type"))?
            .to_owned();
        const TYPES: &[&str] = &[
            "application/pdf",
            "image/jpeg",
            "image/jpg",
            "image/png",
            "video/mp4",
        ];
        if !TYPES.contains(&file_type.as_str()) {
            return Err(invalid_param(
                "Param file_type must be one of {application/pdf, image/jpeg, image/jpg, image/png, video/mp4}",
            )
            .into());
        }
        let n = self.next();
        let key = format!("MTp{}", hex(format!("attachment:{n}").as_bytes()));
        let sig = format!("ARZ{:x}", fnv1a(FNV_OFFSET, key.as_bytes()));
        let id = format!("upload:{key}?sig={sig}");
        self.uploads.push(UploadRec {
            session: UploadSession {
                id: id.clone(),
                file_length: length,
                received: 0,
                handle: None,
                file_type,
                file_name: ctx.p("file_name").map(str::to_owned),
                checksum: FNV_OFFSET,
            },
            key,
            user_id: rec.user_id,
        });
        ctx.committed = true;
        Ok(json!({ "id": id }))
    }

    pub(super) fn upload_chunk(&mut self, ctx: &mut Ctx<'_>, segment: &str) -> Answer {
        let key = segment
            .trim_start_matches("upload:")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        if matches!(ctx.via, TokenVia::Query | TokenVia::Body) {
            // The upload endpoint reads the token from the Authorization header only
            // ("You must include the access token in the header or the call will fail").
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            )
            .into());
        }
        let rec = self.authenticate(ctx)?;
        let Some(idx) = self
            .uploads
            .iter()
            .position(|u| u.key == key && u.user_id == rec.user_id)
        else {
            return Err(no_object(segment, &ctx.method).into());
        };
        if ctx.method == "GET" {
            let s = &self.uploads[idx].session;
            return Ok(json!({"id": s.id, "file_offset": s.received}));
        }
        let offset: u64 = ctx
            .header("file_offset")
            .ok_or_else(|| invalid_param("The file_offset header is required"))?
            .parse()
            .map_err(|_| invalid_param("The file_offset header must be a non-negative integer"))?;
        let body_len = ctx.req.body.len() as u64;
        let upload = &mut self.uploads[idx];
        let s = &mut upload.session;
        if offset != s.received {
            return Err(invalid_param(&format!(
                "Invalid file_offset {offset}: the upload session has received {} bytes; resume from file_offset {}",
                s.received, s.received
            ))
            .into());
        }
        if let Some(h) = &s.handle
            && body_len == 0
        {
            return Ok(json!({ "h": h }));
        }
        if s.received + body_len > s.file_length {
            return Err(invalid_param(&format!(
                "The upload would exceed file_length {} (received {}, chunk {body_len})",
                s.file_length, s.received
            ))
            .into());
        }
        s.received += body_len;
        s.checksum = fnv1a(s.checksum, &ctx.req.body);
        ctx.committed = true;
        if s.received == s.file_length {
            let name = s.file_name.clone().unwrap_or_default();
            let h = format!(
                "2:{}:{}:{}:e:{}:ARZ{:x}",
                hex(name.as_bytes()),
                s.file_type,
                upload.key,
                2_000_000_000,
                s.checksum
            );
            s.handle = Some(h.clone());
            return Ok(json!({ "h": h }));
        }
        Ok(json!({"id": s.id, "file_offset": s.received}))
    }
}

#[derive(Clone, Debug)]
pub(super) struct UploadRec {
    pub(super) session: UploadSession,
    key: String,
    user_id: String,
}
