//! Reading connector settings from environment-style variables.
//!
//! Every connector reads its settings through a [`Vars`] lookup, so the same
//! code serves `from_env()`, a builder fed in code, and tests.
//!
//! ```
//! use postd_core::config::Vars;
//!
//! let vars = Vars::from_pairs([("META_CLIENT_ID", "123")]);
//! assert_eq!(vars.required("META_CLIENT_ID")?, "123");
//! let err = vars.required("META_CLIENT_SECRET").unwrap_err();
//! assert!(err.to_string().contains("META_CLIENT_SECRET is not set"));
//! # Ok::<(), postd_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use url::Url;

use crate::error::{Error, Result};

/// A set of variables: names to values.
#[derive(Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values can be secrets: show names only.
        f.debug_struct("Vars")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Vars {
    /// No variables.
    pub fn new() -> Self {
        Vars::default()
    }

    /// The process environment (variables whose names or values are not UTF-8 are skipped).
    pub fn from_env() -> Self {
        Vars {
            values: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// Variables from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Vars {
            values: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Sets a variable, replacing any value it had.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// Sets a variable only if it has no value yet.
    pub fn set_default(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values
            .entry(name.into())
            .or_insert_with(|| value.into());
    }

    /// The value of `name`, if set and not blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// The value of `name`, or a [`Config`](crate::ErrorKind::Config) error naming it.
    pub fn required(&self, name: &str) -> Result<String> {
        self.optional(name)
            .ok_or_else(|| Error::config(format!("{name} is not set")))
    }

    /// A secret value, or a [`Config`](crate::ErrorKind::Config) error naming it.
    pub fn required_secret(&self, name: &str) -> Result<SecretString> {
        self.required(name).map(SecretString::from)
    }

    /// An optional secret value.
    pub fn optional_secret(&self, name: &str) -> Option<SecretString> {
        self.optional(name).map(SecretString::from)
    }

    /// The names among `names` that are not set.
    pub fn missing<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        names
            .iter()
            .copied()
            .filter(|n| self.optional(n).is_none())
            .collect()
    }

    /// A yes/no setting: unset, `false`, `0` or `no` is false; `true`, `1`
    /// or `yes` is true; anything else a [`Config`](crate::ErrorKind::Config)
    /// error naming it.
    ///
    /// ```
    /// use postd_core::config::Vars;
    /// let vars = Vars::from_pairs([("A", "yes"), ("B", "perhaps")]);
    /// assert!(vars.flag("A").unwrap());
    /// assert!(!vars.flag("UNSET").unwrap());
    /// assert!(vars.flag("B").unwrap_err().to_string().contains("B must be true or false"));
    /// ```
    pub fn flag(&self, name: &str) -> Result<bool> {
        match self.optional(name).as_deref() {
            None | Some("0" | "false" | "no") => Ok(false),
            Some("1" | "true" | "yes") => Ok(true),
            Some(_) => Err(Error::config(format!("{name} must be true or false"))),
        }
    }

    /// A whole number in `range`, `None` when unset; outside the range (or
    /// not a number) a [`Config`](crate::ErrorKind::Config) error naming it.
    ///
    /// ```
    /// use postd_core::config::Vars;
    /// let vars = Vars::from_pairs([("N", "8"), ("M", "50")]);
    /// assert_eq!(vars.number("N", 1..=10).unwrap(), Some(8));
    /// assert_eq!(vars.number("UNSET", 1..=10).unwrap(), None);
    /// assert!(vars.number("M", 1..=10).unwrap_err().to_string().contains("M must be 1 to 10"));
    /// ```
    pub fn number(&self, name: &str, range: std::ops::RangeInclusive<u64>) -> Result<Option<u64>> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| {
                    Error::config(format!(
                        "{name} must be {} to {}",
                        range.start(),
                        range.end()
                    ))
                }),
        }
    }

    /// An endpoint URL from `name`, or `default`, exactly as given (no
    /// trailing `/` added, as a consent page's URL has none): http(s), no
    /// query.
    pub fn endpoint_url(&self, name: &str, default: &str) -> Result<Url> {
        let raw = self.optional(name);
        match Url::parse(raw.as_deref().unwrap_or(default)) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.query().is_none() => Ok(u),
            _ => Err(Error::config(format!(
                "{name} must be an http(s) URL without a query"
            ))),
        }
    }

    /// A base URL from `name`, or `default`; must be http(s) and must not carry a query or credentials.
    pub fn base_url(&self, name: &str, default: &str) -> Result<Url> {
        let raw = self.optional(name);
        let text = raw.as_deref().unwrap_or(default);
        parse_base_url(text)
            .map_err(|why| Error::config(format!("{name} is not a valid base URL: {why}")))
    }
}

/// Parses a base URL: http(s), no query, no fragment, no user info; a trailing `/` is ensured.
pub fn parse_base_url(text: &str) -> std::result::Result<Url, &'static str> {
    let mut url = Url::parse(text).map_err(|_| "it does not parse")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("it must not have a query or fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it must not carry credentials");
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// Joins path segments onto a base URL, percent-encoding each segment.
///
/// ```
/// let base = url::Url::parse("http://127.0.0.1:9000/fake/").unwrap();
/// let url = postd_core::config::join(&base, &["v24.0", "123", "feed"]);
/// assert_eq!(url.as_str(), "http://127.0.0.1:9000/fake/v24.0/123/feed");
/// let odd = postd_core::config::join(&base, &["a/b?c"]);
/// assert_eq!(odd.as_str(), "http://127.0.0.1:9000/fake/a%2Fb%3Fc");
/// ```
pub fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        let vars = Vars::from_pairs([
            ("GOOD", "http://127.0.0.1:8080"),
            ("QUERY", "https://x.example/?a=1"),
            ("SCHEME", "ftp://x.example"),
            ("CREDS", "https://u:p@x.example"),
            ("BLANK", "   "),
        ]);
        assert_eq!(
            vars.base_url("GOOD", "https://d.example").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert_eq!(
            vars.base_url("BLANK", "https://d.example/v")
                .unwrap()
                .as_str(),
            "https://d.example/v/"
        );
        for bad in ["QUERY", "SCHEME", "CREDS"] {
            let err = vars.base_url(bad, "https://d.example").unwrap_err();
            assert!(err.to_string().contains(bad));
        }
        assert_eq!(
            vars.missing(&["GOOD", "BLANK", "NONE"]),
            vec!["BLANK", "NONE"]
        );
    }

    #[test]
    fn debug_hides_values() {
        let vars = Vars::from_pairs([("META_CLIENT_SECRET", "CANARY_value")]);
        let dbg = format!("{vars:?}");
        assert!(dbg.contains("META_CLIENT_SECRET"));
        assert!(!dbg.contains("CANARY_value"));
    }
}
