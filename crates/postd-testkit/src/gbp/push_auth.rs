//! The OIDC JWT an authenticated Pub/Sub push subscription sends, and the JWKS it verifies
//! against.
//!
//! "If a push subscription uses authentication, the Pub/Sub service signs a JSON Web Token
//! (JWT) and sends the JWT in the authorization header of the push request"
//! (<https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions>): `Authorization:
//! Bearer <JWT>`, the header `{"alg": "RS256", "kid", "typ": "JWT"}`, the claims `aud` (the
//! subscription's audience; "if not specified, the Push endpoint URL will be used"), `azp`
//! and `sub` (the service account's unique id), `email` (the service account),
//! `email_verified: true`, `iat`, `exp` ("tokens ... can be up to one hour old") and `iss`
//! `https://accounts.google.com`. Google's OIDC keys are published as a JWK set at
//! `https://www.googleapis.com/oauth2/v3/certs`, `{"keys": [{"kty": "RSA", "alg": "RS256",
//! "use": "sig", "kid", "n", "e"}]}`, regularly rotated, with a `Cache-Control: public,
//! max-age=N, must-revalidate, no-transform` telling a verifier when to fetch them again
//! (<https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken>;
//! the discovery document names `https://accounts.google.com` as the issuer, and
//! `accounts.google.com` "for legacy implementations").
//!
//! The fake signs with **test-only** 2048-bit RSA keys committed under `push_keys/`
//! (generated with `openssl genrsa -traditional 2048`; public on purpose, worthless outside
//! tests): three published ones the fake rotates through
//! ([`GbpFake::rotate_push_key`](super::GbpFake::rotate_push_key)), and one never published,
//! for the unknown-`kid` case. Each key's JWK `n`, `e` and `kid` are read from the key itself
//! at run time (its PKCS#1 `RSAPrivateKey` starts with the modulus and the public exponent).
//! The `kid` is the first 20 bytes of the SHA-256 of the modulus, in hex: 40 hex digits, the
//! shape of Google's (which are not documented as any particular digest).
//!
//! Choices where the docs are silent: the JWK set holds the key that signs now and the one
//! before it (Google's usually shows two keys; a retired key's tokens have expired), the
//! `max-age` ([`GbpFakeConfig::jwks_max_age`](super::GbpFakeConfig::jwks_max_age)), and the
//! service account's unique id, derived from its email.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::errors::{Answer, Reply};
use super::state::State;
use crate::util::{FNV_OFFSET, base64url, fnv1a, hex};

/// Where the fake serves Google's OIDC JWK set (`https://www.googleapis.com/oauth2/v3/certs`).
pub const JWKS_PATH: &str = "/oauth2/v3/certs";

/// The `iss` of the push tokens Google signs. A verifier also accepts the legacy
/// `accounts.google.com`.
pub const PUSH_ISSUER: &str = "https://accounts.google.com";

/// A push token's lifetime, seconds: `exp` is `iat` plus one hour.
pub const PUSH_TOKEN_TTL: i64 = 3_600;

/// The push token [`GbpFake::push_token`](super::GbpFake::push_token) mints: the one Pub/Sub
/// sends, or one a verifier must refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushToken {
    /// What an authenticated push subscription sends: RS256 under the key the JWK set
    /// publishes now, `aud` [`GbpFakeConfig::push_audience`], `email`
    /// [`GbpFakeConfig::push_service_account`] with `email_verified: true`, `iss`
    /// [`PUSH_ISSUER`], `iat` now and `exp` an hour later by the fake clock.
    ///
    /// [`GbpFakeConfig::push_audience`]: super::GbpFakeConfig::push_audience
    /// [`GbpFakeConfig::push_service_account`]: super::GbpFakeConfig::push_service_account
    Good,
    /// Google-signed, but for another audience (`https://other.example/webhooks/gbp`): a
    /// token pushed to another endpoint, replayed at this one.
    WrongAudience,
    /// Google-signed for this audience, but for another service account
    /// (`intruder@other-project.iam.gserviceaccount.com`, its own `sub` and `azp`): someone
    /// else's push subscription pointed at this endpoint.
    WrongEmail,
    /// `email_verified: false`; every other claim good.
    EmailNotVerified,
    /// Issued two hours ago by the fake clock, so `exp` passed an hour ago.
    Expired,
    /// An `iss` that is not Google's: `https://accounts.google.com.example.net` (a verifier
    /// must compare the whole value, not a prefix).
    WrongIssuer,
    /// Good claims signed by a key the JWK set never publishes, under its own `kid`: after
    /// re-fetching the JWK set a verifier still has no key for it.
    UnknownKid,
    /// The header says `"alg": "none"` and the signature is empty (`header.claims.`), the
    /// claims good.
    AlgNone,
    /// Signed for `intruder@other-project.iam.gserviceaccount.com`, then the claims segment
    /// replaced by the good claims: the claims are right, the signature is not theirs.
    Tampered,
    /// `iat` an hour ahead of the fake clock (`exp` an hour after that). A JWT library that
    /// checks `exp` and `nbf` only (jsonwebtoken does not check `iat`) accepts it: the
    /// verifier must refuse an `iat` beyond its clock-skew leeway itself.
    IssuedInFuture,
}

impl PushToken {
    /// Every variant a verifier must refuse, in declaration order.
    pub const BAD: &'static [PushToken] = &[
        PushToken::WrongAudience,
        PushToken::WrongEmail,
        PushToken::EmailNotVerified,
        PushToken::Expired,
        PushToken::WrongIssuer,
        PushToken::UnknownKid,
        PushToken::AlgNone,
        PushToken::Tampered,
        PushToken::IssuedInFuture,
    ];
}

const OTHER_AUDIENCE: &str = "https://other.example/webhooks/gbp";
const OTHER_SERVICE_ACCOUNT: &str = "intruder@other-project.iam.gserviceaccount.com";
const OTHER_ISSUER: &str = "https://accounts.google.com.example.net";

/// The published keys, in rotation order.
const PUBLISHED_PEMS: [&str; 3] = [
    include_str!("push_keys/google-1.pem"),
    include_str!("push_keys/google-2.pem"),
    include_str!("push_keys/google-3.pem"),
];
const UNPUBLISHED_PEM: &str = include_str!("push_keys/unpublished.pem");

/// One signing key: its PKCS#1 DER (what jsonwebtoken signs with) and its JWK parameters.
#[derive(Debug)]
pub(super) struct PushKey {
    pub(super) kid: String,
    pub(super) der: Vec<u8>,
    /// The modulus, unpadded base64url of its big-endian bytes without leading zeros.
    pub(super) n: String,
    /// The public exponent, encoded the same way (`AQAB` for 65537).
    pub(super) e: String,
}

impl PushKey {
    /// Reads a fixture key; panics if the committed fixture is not a PKCS#1 RSA key.
    fn fixture(pem: &str) -> PushKey {
        let Some(key) = pem_der(pem).and_then(PushKey::from_der) else {
            panic!("GbpFake: a fixture push key is not a PKCS#1 `RSA PRIVATE KEY`");
        };
        key
    }

    fn from_der(der: Vec<u8>) -> Option<PushKey> {
        let (n, e) = rsa_public(&der)?;
        let kid = hex(&Sha256::digest(n)[..20]);
        let (n, e) = (base64url(n), base64url(e));
        Some(PushKey { kid, der, n, e })
    }

    /// The key's JWK, as Google's JWK set lists it.
    pub(super) fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": self.n,
            "e": self.e,
        })
    }

    /// `claims` signed RS256 under this key, with its `kid` and `typ: JWT`.
    pub(super) fn sign(&self, claims: &Value) -> String {
        let header = Header {
            kid: Some(self.kid.clone()),
            ..Header::new(Algorithm::RS256)
        };
        match jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&self.der)) {
            Ok(token) => token,
            Err(e) => panic!("GbpFake: signing a push token failed: {e}"),
        }
    }
}

/// The keys the fake rotates through ([`State::push_key`] indexes them).
pub(super) static PUBLISHED: LazyLock<Vec<PushKey>> =
    LazyLock::new(|| PUBLISHED_PEMS.iter().map(|p| PushKey::fixture(p)).collect());

/// The key no JWK set of the fake lists.
pub(super) static UNPUBLISHED: LazyLock<PushKey> =
    LazyLock::new(|| PushKey::fixture(UNPUBLISHED_PEM));

/// The DER inside a PEM `RSA PRIVATE KEY` block; text around the block is ignored (RFC 7468
/// allows it: the fixtures start with a line saying they are test-only).
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let (_, body) = pem.split_once("-----BEGIN RSA PRIVATE KEY-----")?;
    let (body, _) = body.split_once("-----END RSA PRIVATE KEY-----")?;
    let b64: String = body.split_whitespace().collect();
    STANDARD.decode(b64).ok()
}

/// The tag, the contents and what follows of the DER element at the start of `der`
/// (definite lengths only, as DER has).
fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > 4 || rest.len() < octets {
            return None;
        }
        let (len, rest) = rest.split_at(octets);
        let len = len
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The modulus and the public exponent of a PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2:
/// `SEQUENCE { version INTEGER, modulus INTEGER, publicExponent INTEGER, ... }`), big-endian
/// without the leading zero octets of DER's signed integers.
fn rsa_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    let (SEQUENCE, key, _) = tlv(der)? else {
        return None;
    };
    let (INTEGER, _version, rest) = tlv(key)? else {
        return None;
    };
    let (INTEGER, n, rest) = tlv(rest)? else {
        return None;
    };
    let (INTEGER, e, _) = tlv(rest)? else {
        return None;
    };
    let unsigned = |v: &[u8]| -> Option<usize> { v.iter().position(|b| *b != 0) };
    Some((&n[unsigned(n)?..], &e[unsigned(e)?..]))
}

/// The numeric unique id Google gives a service account (the token's `sub` and `azp`; 21
/// digits, as in the docs' example): derived from its email, so each account has its own.
pub(super) fn service_account_id(email: &str) -> String {
    format!("1{:020}", fnv1a(FNV_OFFSET, email.as_bytes()))
}

impl State {
    /// The key that signs push tokens now.
    pub(super) fn signing_key(&self) -> &'static PushKey {
        &PUBLISHED[self.push_key]
    }

    /// The JWK set Google publishes now: the signing key, then the one before it.
    pub(super) fn jwks(&self) -> Value {
        let keys: Vec<Value> = PUBLISHED[..=self.push_key]
            .iter()
            .rev()
            .take(2)
            .map(PushKey::jwk)
            .collect();
        json!({ "keys": keys })
    }

    /// `GET /oauth2/v3/certs`: the JWK set with Google's `Cache-Control`.
    pub(super) fn serve_jwks(&mut self) -> Answer {
        self.jwks_fetches += 1;
        let cache = format!(
            "public, max-age={}, must-revalidate, no-transform",
            self.config.jwks_max_age
        );
        Ok(Reply::json(200, self.jwks()).header("cache-control", &cache))
    }

    /// A push token of `variant`, stamped by the fake clock.
    pub(super) fn push_token(&self, variant: PushToken) -> String {
        let now = self.now();
        let (iat, exp) = match variant {
            PushToken::Expired => (now - 2 * PUSH_TOKEN_TTL, now - PUSH_TOKEN_TTL),
            PushToken::IssuedInFuture => (now + PUSH_TOKEN_TTL, now + 2 * PUSH_TOKEN_TTL),
            _ => (now, now + PUSH_TOKEN_TTL),
        };
        let email = match variant {
            PushToken::WrongEmail | PushToken::Tampered => OTHER_SERVICE_ACCOUNT,
            _ => self.config.push_service_account.as_str(),
        };
        let audience = match variant {
            PushToken::WrongAudience => OTHER_AUDIENCE,
            _ => self.config.push_audience.as_str(),
        };
        let issuer = match variant {
            PushToken::WrongIssuer => OTHER_ISSUER,
            _ => PUSH_ISSUER,
        };
        let claims = |email: &str| {
            let id = service_account_id(email);
            json!({
                "aud": audience,
                "azp": id,
                "email": email,
                "email_verified": variant != PushToken::EmailNotVerified,
                "exp": exp,
                "iat": iat,
                "iss": issuer,
                "sub": id,
            })
        };
        let signed = claims(email);
        let key = self.signing_key();
        match variant {
            PushToken::UnknownKid => UNPUBLISHED.sign(&signed),
            PushToken::AlgNone => {
                let header = json!({"alg": "none", "kid": key.kid, "typ": "JWT"});
                format!(
                    "{}.{}.",
                    base64url(header.to_string().as_bytes()),
                    base64url(signed.to_string().as_bytes())
                )
            }
            PushToken::Tampered => {
                let token = key.sign(&signed);
                let good = claims(&self.config.push_service_account);
                let mut parts = token.split('.');
                let (header, signature) = (parts.next(), parts.nth(1));
                format!(
                    "{}.{}.{}",
                    header.unwrap_or_default(),
                    base64url(good.to_string().as_bytes()),
                    signature.unwrap_or_default()
                )
            }
            _ => key.sign(&signed),
        }
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    fn all_keys() -> impl Iterator<Item = &'static PushKey> {
        PUBLISHED.iter().chain(std::iter::once(&*UNPUBLISHED))
    }

    #[test]
    fn the_jwk_components_are_the_private_keys_public_half() {
        let claims = json!({"exp": 4_000_000_000u64, "sub": "x"});
        let mut v = Validation::new(Algorithm::RS256);
        v.validate_aud = false;
        for key in all_keys() {
            assert_eq!(key.e, "AQAB");
            let n = crate::util::base64_decode(&key.n).unwrap();
            assert_eq!(n.len(), 256, "2048-bit modulus");
            assert!(n[0] & 0x80 != 0, "no leading zero octet");
            assert_eq!(key.kid.len(), 40);
            assert!(key.kid.bytes().all(|b| b.is_ascii_hexdigit()));
            let token = key.sign(&claims);
            let public = DecodingKey::from_rsa_components(&key.n, &key.e).unwrap();
            let data = jsonwebtoken::decode::<Value>(&token, &public, &v).unwrap();
            assert_eq!(data.claims, claims);
            assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(data.header.typ.as_deref(), Some("JWT"));
        }
        // No key verifies another's signature, and every kid differs.
        let kids: std::collections::HashSet<_> = all_keys().map(|k| &k.kid).collect();
        assert_eq!(kids.len(), 4);
        let token = PUBLISHED[0].sign(&claims);
        let other = DecodingKey::from_rsa_components(&PUBLISHED[1].n, &PUBLISHED[1].e).unwrap();
        let err = jsonwebtoken::decode::<Value>(&token, &other, &v).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
    }

    #[test]
    fn der_reading_refuses_what_is_not_a_pkcs1_key() {
        assert!(pem_der("no block").is_none());
        assert!(rsa_public(&[]).is_none());
        assert!(rsa_public(&[0x30, 0x05, 0x02, 0x01]).is_none(), "short");
        assert!(rsa_public(&[0x31, 0x00]).is_none(), "not a SEQUENCE");
        assert!(rsa_public(&[0x30, 0x80]).is_none(), "indefinite length");
        let der = pem_der(PUBLISHED_PEMS[0]).unwrap();
        assert!(rsa_public(&der[..der.len() / 2]).is_none(), "cut");
        assert!(rsa_public(&der).is_some());
    }

    #[test]
    fn service_account_ids_are_21_digits_and_differ() {
        let a = service_account_id("a@p.iam.gserviceaccount.com");
        assert_eq!(a.len(), 21);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(a, service_account_id("b@p.iam.gserviceaccount.com"));
    }

    /// jsonwebtoken 9 treats a claim of the wrong JSON type as absent
    /// (GHSA-h395-gr6q-cpjc): a verifier that requires `exp`, `iss` and `aud` refuses such a
    /// token instead of skipping the check.
    #[test]
    fn requiring_the_checked_claims_refuses_malformed_ones() {
        let key = &PUBLISHED[0];
        let public = DecodingKey::from_rsa_components(&key.n, &key.e).unwrap();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["aud"]);
        v.set_issuer(&[PUSH_ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        for claims in [
            json!({"exp": "never", "iss": PUSH_ISSUER, "aud": "aud"}),
            json!({"exp": 4_000_000_000u64, "iss": 7, "aud": "aud"}),
            json!({"exp": 4_000_000_000u64, "aud": "aud"}),
            json!({"exp": 4_000_000_000u64, "iss": PUSH_ISSUER}),
        ] {
            let err = jsonwebtoken::decode::<Value>(&key.sign(&claims), &public, &v).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::MissingRequiredClaim(_)),
                "{claims}: {err:?}"
            );
        }
    }
}
