//! Sealing: XChaCha20-Poly1305 with a random 192-bit nonce per seal (random
//! nonces of this size never repeat in practice, whatever the volume).
//!
//! Envelope: `version (1) | key_id (4, big endian) | nonce (24) | ciphertext+tag`.
//! The associated data binds the tenant, account, platform and field, each
//! length-prefixed, so a ciphertext copied to another row or column does not open.

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use postd_core::{Error, ErrorKind, Result};
use zeroize::Zeroizing;

use crate::keys::KeyRing;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 24;
const TAG: usize = 16;

/// What a sealed value belongs to; becomes the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealContext<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The account.
    pub account: &'a str,
    /// The platform (`meta`, `linkedin`, ...).
    pub platform: &'a str,
    /// The field (`credentials`).
    pub field: &'a str,
}

impl SealContext<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut out = b"postd-vault/v1".to_vec();
        for part in [self.tenant, self.account, self.platform, self.field] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

fn crypto_error(msg: &str) -> Error {
    Error::new(ErrorKind::Unexpected, msg).with_operation("vault.seal")
}

/// Seals `plaintext` under the ring's newest key.
pub fn seal(keys: &KeyRing, ctx: &SealContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
    let (key_id, key) = keys.sealing_key();
    let cipher = XChaCha20Poly1305::new_from_slice(&key.0[..])
        .map_err(|_| crypto_error("bad key length"))?;
    let nonce =
        XNonce::try_generate().map_err(|_| crypto_error("the system random source failed"))?;
    let aad = ctx.aad();
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| crypto_error("sealing failed"))?;
    let mut out = Vec::with_capacity(HEADER + ciphertext.len());
    out.push(VERSION);
    out.extend_from_slice(&key_id.to_be_bytes());
    out.extend_from_slice(nonce.as_slice());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The key id a sealed value names, if it is an envelope at all.
pub fn key_id_of(envelope: &[u8]) -> Option<u32> {
    if envelope.len() < HEADER + TAG || envelope[0] != VERSION {
        return None;
    }
    Some(u32::from_be_bytes([
        envelope[1],
        envelope[2],
        envelope[3],
        envelope[4],
    ]))
}

/// Opens an envelope; any change to it, its context, or a missing key is an error that reveals nothing.
pub fn open(keys: &KeyRing, ctx: &SealContext<'_>, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let fail = || {
        Error::new(
            ErrorKind::Unexpected,
            format!(
                "sealed {} of account {} does not open (tampered, moved, or sealed with a key not in POSTD_VAULT_KEYS)",
                ctx.field, ctx.account
            ),
        )
        .with_operation("vault.open")
    };
    let key_id = key_id_of(envelope).ok_or_else(fail)?;
    let key = keys.get(key_id).ok_or_else(fail)?;
    let cipher = XChaCha20Poly1305::new_from_slice(&key.0[..]).map_err(|_| fail())?;
    let nonce = XNonce::try_from(&envelope[5..HEADER]).map_err(|_| fail())?;
    let aad = ctx.aad();
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &envelope[HEADER..],
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::from_keys([(1, [7u8; 32]), (2, [9u8; 32])]).unwrap()
    }

    const CTX: SealContext<'static> = SealContext {
        tenant: "t1",
        account: "a1",
        platform: "meta",
        field: "credentials",
    };

    #[test]
    fn round_trip_under_the_newest_key() {
        let sealed = seal(&ring(), &CTX, b"secret payload").unwrap();
        assert_eq!(key_id_of(&sealed), Some(2));
        assert_eq!(
            &open(&ring(), &CTX, &sealed).unwrap()[..],
            b"secret payload"
        );
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn every_single_bit_flip_fails() {
        let sealed = seal(&ring(), &CTX, b"{\"access_token\":\"abc\"}").unwrap();
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    open(&ring(), &CTX, &bad).is_err(),
                    "flip of byte {byte} bit {bit} opened"
                );
            }
        }
        assert!(open(&ring(), &CTX, &sealed[..sealed.len() - 1]).is_err());
        assert!(open(&ring(), &CTX, &[]).is_err());
    }

    #[test]
    fn moved_ciphertexts_fail() {
        let sealed = seal(&ring(), &CTX, b"x").unwrap();
        for other in [
            SealContext {
                account: "a2",
                ..CTX
            },
            SealContext {
                tenant: "t2",
                ..CTX
            },
            SealContext {
                platform: "linkedin",
                ..CTX
            },
            SealContext {
                field: "other",
                ..CTX
            },
            // Length prefixes keep "a|b" + "c" apart from "a" + "b|c".
            SealContext {
                tenant: "t1a",
                account: "1",
                ..CTX
            },
        ] {
            assert!(open(&ring(), &other, &sealed).is_err(), "{other:?}");
        }
    }

    #[test]
    fn old_keys_open_after_rotation_and_unknown_keys_fail() {
        let old = KeyRing::from_keys([(1, [7u8; 32])]).unwrap();
        let sealed = seal(&old, &CTX, b"x").unwrap();
        assert_eq!(key_id_of(&sealed), Some(1));
        assert_eq!(&open(&ring(), &CTX, &sealed).unwrap()[..], b"x");
        let other = KeyRing::from_keys([(2, [9u8; 32])]).unwrap();
        let err = open(&other, &CTX, &sealed).unwrap_err();
        assert!(!err.to_string().contains('x') || err.to_string().contains("account a1"));
    }
}
