//! The secret part of a record, as sealed: serialized to JSON, zeroized on drop.

use chrono::{DateTime, Utc};
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, Result, TokenSet};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::store::codec::{millis, time};

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop, Default)]
pub(crate) struct SecretPayload {
    kind: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
    api_key: Option<String>,
    derived: Vec<(String, String)>,
    expires_at: Option<i64>,
    refresh_expires_at: Option<i64>,
    consent_expires_at: Option<i64>,
    scopes: Vec<String>,
    subject: Option<String>,
    obtained_at: i64,
}

/// Serializes credentials for sealing; the buffer is zeroized when dropped.
pub(crate) fn to_bytes(credentials: &Credentials) -> Result<Zeroizing<Vec<u8>>> {
    let mut payload = SecretPayload::default();
    match credentials {
        Credentials::OAuth(t) => {
            payload.kind = "oauth".to_owned();
            payload.access_token = Some(t.access_token.expose_secret().to_owned());
            payload.refresh_token = t
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_owned());
            payload.derived = t
                .derived
                .iter()
                .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
                .collect();
            payload.expires_at = millis(t.expires_at);
            payload.refresh_expires_at = millis(t.refresh_expires_at);
            payload.consent_expires_at = millis(t.consent_expires_at);
            payload.scopes = t.scopes.clone();
            payload.subject = t.subject.clone();
            payload.obtained_at = t.obtained_at.timestamp_millis();
        }
        Credentials::ApiKey(k) => {
            payload.kind = "api_key".to_owned();
            payload.api_key = Some(k.expose_secret().to_owned());
            payload.obtained_at = Utc::now().timestamp_millis();
        }
        _ => return Err(Error::unexpected("these credentials cannot be stored")),
    }
    serde_json::to_vec(&payload)
        .map(Zeroizing::new)
        .map_err(|_| Error::unexpected("could not serialize credentials for sealing"))
}

/// Rebuilds credentials from opened bytes.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Credentials> {
    let mut p: SecretPayload = serde_json::from_slice(bytes)
        .map_err(|_| Error::unexpected("opened credentials do not decode"))?;
    match p.kind.as_str() {
        "oauth" => {
            let access = p.access_token.take().ok_or_else(|| {
                Error::unexpected("sealed OAuth credentials lack an access token")
            })?;
            let mut t = TokenSet::new(SecretString::from(access)).with_obtained_at(
                DateTime::from_timestamp_millis(p.obtained_at).unwrap_or_else(Utc::now),
            );
            t.refresh_token = p.refresh_token.take().map(SecretString::from);
            t.expires_at = time(p.expires_at);
            t.refresh_expires_at = time(p.refresh_expires_at);
            t.consent_expires_at = time(p.consent_expires_at);
            t.scopes = std::mem::take(&mut p.scopes);
            t.subject = p.subject.take();
            for (k, v) in std::mem::take(&mut p.derived) {
                t.derived.insert(k, SecretString::from(v));
            }
            Ok(Credentials::OAuth(t))
        }
        "api_key" => {
            let key = p
                .api_key
                .take()
                .ok_or_else(|| Error::unexpected("sealed API-key credentials lack the key"))?;
            Ok(Credentials::ApiKey(SecretString::from(key)))
        }
        _ => Err(Error::unexpected("sealed credentials have an unknown kind")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        let t = TokenSet::new("a")
            .with_refresh_token("r")
            .with_expires_at(now)
            .with_refresh_expires_at(now)
            .with_consent_expires_at(now)
            .with_scopes(["s1", "s2"])
            .with_subject("u1")
            .with_obtained_at(now)
            .with_derived("p1", "pt");
        let bytes = to_bytes(&Credentials::OAuth(t)).unwrap();
        let Credentials::OAuth(back) = from_bytes(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(back.access_token.expose_secret(), "a");
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "r");
        assert_eq!(back.expires_at, Some(now));
        assert_eq!(back.scopes, vec!["s1", "s2"]);
        assert_eq!(back.derived["p1"].expose_secret(), "pt");
        let key = to_bytes(&Credentials::ApiKey("k-us6".into())).unwrap();
        assert!(
            matches!(from_bytes(&key).unwrap(), Credentials::ApiKey(k) if k.expose_secret() == "k-us6")
        );
        assert!(from_bytes(b"{}").is_err());
    }
}
