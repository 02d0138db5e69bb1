//! Vault keys: `POSTD_VAULT_KEYS=id:base64key,id:base64key,...`.
//!
//! Ids are positive integers; the highest id seals, every listed key opens.
//! Keys are 32 bytes (standard or URL-safe base64, padding optional), held
//! in zeroize-on-drop buffers and never printed.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use postd_core::{Error, ErrorKind, Result};
use zeroize::Zeroizing;

/// The environment variable the keys come from.
pub const KEYS_VAR: &str = "POSTD_VAULT_KEYS";

/// One 32-byte key, zeroized on drop.
pub(crate) struct Key(pub(crate) Zeroizing<[u8; 32]>);

/// The vault's keys.
pub struct KeyRing {
    keys: BTreeMap<u32, Key>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn config_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, msg).with_operation("vault.keys")
}

impl KeyRing {
    /// Reads [`KEYS_VAR`] from the environment; with no key the vault refuses to start.
    pub fn from_env() -> Result<Self> {
        match std::env::var(KEYS_VAR) {
            Ok(v) => KeyRing::parse(&v),
            Err(_) => Err(config_error(format!(
                "{KEYS_VAR} is not set: the vault refuses to start without a key \
                 (set it to id:base64key, e.g. 1:<32 random bytes in base64>)"
            ))),
        }
    }

    /// Parses `id:base64key,...`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut keys = BTreeMap::new();
        for (i, item) in spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let n = i + 1;
            let Some((id, b64)) = item.split_once(':') else {
                return Err(config_error(format!(
                    "{KEYS_VAR} entry {n} is not id:base64key"
                )));
            };
            let id: u32 = id.trim().parse().ok().filter(|id| *id > 0).ok_or_else(|| {
                config_error(format!(
                    "{KEYS_VAR} entry {n}: the key id must be a positive integer"
                ))
            })?;
            let raw =
                Zeroizing::new(decode_key(b64.trim()).ok_or_else(|| {
                    config_error(format!("{KEYS_VAR} key {id} is not valid base64"))
                })?);
            if raw.len() != 32 {
                return Err(config_error(format!(
                    "{KEYS_VAR} key {id} is {} bytes; keys must be exactly 32 bytes",
                    raw.len()
                )));
            }
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&raw);
            if keys.insert(id, Key(key)).is_some() {
                return Err(config_error(format!("{KEYS_VAR} lists key id {id} twice")));
            }
        }
        if keys.is_empty() {
            return Err(config_error(format!(
                "{KEYS_VAR} holds no key: the vault refuses to start without one"
            )));
        }
        Ok(KeyRing { keys })
    }

    /// A ring from raw keys (tests, key management systems).
    pub fn from_keys(keys: impl IntoIterator<Item = (u32, [u8; 32])>) -> Result<Self> {
        let keys: BTreeMap<u32, Key> = keys
            .into_iter()
            .map(|(id, k)| (id, Key(Zeroizing::new(k))))
            .collect();
        if keys.is_empty() || keys.contains_key(&0) {
            return Err(config_error(
                "a key ring needs at least one key, with ids above 0",
            ));
        }
        Ok(KeyRing { keys })
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    pub(crate) fn sealing_key(&self) -> (u32, &Key) {
        let (id, key) = self
            .keys
            .iter()
            .next_back()
            .map(|(i, k)| (*i, k))
            .unwrap_or_else(|| unreachable_empty());
        (id, key)
    }

    pub(crate) fn get(&self, id: u32) -> Option<&Key> {
        self.keys.get(&id)
    }

    /// Every key id, oldest first.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }
}

// Construction guarantees at least one key; this keeps the accessor total without a panic path
// reachable from input.
fn unreachable_empty() -> (u32, &'static Key) {
    static EMPTY: std::sync::OnceLock<Key> = std::sync::OnceLock::new();
    (0, EMPTY.get_or_init(|| Key(Zeroizing::new([0u8; 32]))))
}

fn decode_key(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let s = s.trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(s)
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn parses_and_picks_the_newest() {
        let spec = format!(
            "1:{}, 3:{} ,2:{}",
            b64(&[1; 32]),
            b64(&[3; 32]),
            b64(&[2; 32]).trim_end_matches('=')
        );
        let ring = KeyRing::parse(&spec).unwrap();
        assert_eq!(ring.sealing_key_id(), 3);
        assert_eq!(ring.key_ids(), vec![1, 2, 3]);
        assert_eq!(*ring.get(2).unwrap().0, [2u8; 32]);
        assert!(!format!("{ring:?}").contains("AQEB"));
    }

    #[test]
    fn refuses_bad_specs() {
        for spec in [
            String::new(),
            " , ".to_owned(),
            "nokey".to_owned(),
            format!("x:{}", b64(&[1; 32])),
            format!("0:{}", b64(&[1; 32])),
            format!("1:{}", b64(&[1; 16])),
            "1:!!!".to_owned(),
            format!("1:{},1:{}", b64(&[1; 32]), b64(&[2; 32])),
        ] {
            let err = KeyRing::parse(&spec).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{spec}");
            assert!(err.to_string().contains(KEYS_VAR), "{err}");
        }
    }
}
