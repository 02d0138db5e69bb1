//! Typed resource names, so a malformed one is refused before it is sent
//! (Google's front end answers a bad path with an HTML 404, not an error a
//! client can read).
//!
//! - the v4 API names a location `accounts/{accountId}/locations/{locationId}`
//!   and a local post `accounts/{accountId}/locations/{locationId}/localPosts/{localPostId}`
//!   (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts>);
//! - the Business Information and Performance APIs name the same location
//!   `locations/{locationId}`
//!   (<https://developers.google.com/my-business/reference/businessinformation/rest/v1/locations>).
//!
//! Each id is 1 to 64 characters of `A-Z a-z 0-9 - _`: nothing that could
//! change the path (`/`, `?`, `#`, `%`, `..`) gets in.
//!
//! ```
//! use postd_gbp::LocationName;
//!
//! let loc: LocationName = "accounts/1234567890/locations/9876543210".parse()?;
//! assert_eq!(loc.v1(), "locations/9876543210");
//! let post = loc.local_post("789")?;
//! assert_eq!(post.to_string(), "accounts/1234567890/locations/9876543210/localPosts/789");
//! assert!("accounts/1/locations/../2".parse::<LocationName>().is_err());
//! # Ok::<(), postd_core::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use postd_core::{Error, Platform, Result};

/// The longest id taken.
const MAX_ID: usize = 64;

fn id<'a>(what: &str, value: &'a str) -> Result<&'a str> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid_content(format!(
            "{what} {:?} is not a Google Business Profile id (1 to {MAX_ID} of A-Z, a-z, 0-9, '-', '_')",
            value.chars().take(80).collect::<String>()
        ))
        .with_platform(Platform::Gbp))
    }
}

fn malformed(what: &str, value: &str, shape: &str) -> Error {
    Error::invalid_content(format!(
        "{what} {:?} is not of the form {shape}",
        value.chars().take(120).collect::<String>()
    ))
    .with_platform(Platform::Gbp)
}

/// A location: `accounts/{account}/locations/{location}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocationName {
    account: String,
    location: String,
}

impl LocationName {
    /// The location `location` of account `account`; each id checked.
    pub fn new(account: &str, location: &str) -> Result<Self> {
        Ok(LocationName {
            account: id("the account id", account)?.to_owned(),
            location: id("the location id", location)?.to_owned(),
        })
    }

    /// The account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The location id.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The v4 name, `accounts/{account}/locations/{location}`.
    pub fn v4(&self) -> String {
        self.to_string()
    }

    /// The Business Information and Performance name, `locations/{location}`.
    pub fn v1(&self) -> String {
        format!("locations/{}", self.location)
    }

    /// The local post `post` of this location.
    pub fn local_post(&self, post: &str) -> Result<LocalPostName> {
        Ok(LocalPostName {
            location: self.clone(),
            post: id("the local post id", post)?.to_owned(),
        })
    }
}

impl fmt::Display for LocationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accounts/{}/locations/{}", self.account, self.location)
    }
}

impl FromStr for LocationName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        const SHAPE: &str = "accounts/{account}/locations/{location}";
        match s.split('/').collect::<Vec<_>>().as_slice() {
            ["accounts", account, "locations", location] => LocationName::new(account, location),
            _ => Err(malformed("the location name", s, SHAPE)),
        }
    }
}

/// A local post: `accounts/{account}/locations/{location}/localPosts/{post}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocalPostName {
    location: LocationName,
    post: String,
}

impl LocalPostName {
    /// The location the post belongs to.
    pub fn location(&self) -> &LocationName {
        &self.location
    }

    /// The local post id.
    pub fn post(&self) -> &str {
        &self.post
    }
}

impl fmt::Display for LocalPostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/localPosts/{}", self.location, self.post)
    }
}

impl FromStr for LocalPostName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        const SHAPE: &str = "accounts/{account}/locations/{location}/localPosts/{post}";
        match s.split('/').collect::<Vec<_>>().as_slice() {
            [
                "accounts",
                account,
                "locations",
                location,
                "localPosts",
                post,
            ] => LocationName::new(account, location)?.local_post(post),
            _ => Err(malformed("the local post name", s, SHAPE)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn names_round_trip() {
        let loc: LocationName = "accounts/111/locations/222".parse().unwrap();
        assert_eq!((loc.account(), loc.location()), ("111", "222"));
        assert_eq!(loc.v4(), "accounts/111/locations/222");
        assert_eq!(loc.v1(), "locations/222");
        let post: LocalPostName = "accounts/111/locations/222/localPosts/AbC-9_x"
            .parse()
            .unwrap();
        assert_eq!(post.location(), &loc);
        assert_eq!(post.post(), "AbC-9_x");
        assert_eq!(
            post.to_string(),
            "accounts/111/locations/222/localPosts/AbC-9_x"
        );
    }

    #[test]
    fn malformed_names_are_refused_before_any_call() {
        let bad = [
            "",
            "locations/222",
            "222",
            "accounts/111/locations/",
            "accounts//locations/222",
            "accounts/111/locations/222/",
            "accounts/111/locations/../222",
            "accounts/111/locations/2%2F2",
            "accounts/111/locations/2?x=1",
            "accounts/111/locations/2#f",
            "accounts/1 1/locations/2",
            "accounts/111/locations/é",
            "Accounts/111/locations/222",
        ];
        for s in bad {
            let e = s.parse::<LocationName>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidContent, "{s:?}");
            assert_eq!(e.platform(), Some(Platform::Gbp));
        }
        let long = format!("accounts/{}/locations/1", "9".repeat(65));
        assert!(long.parse::<LocationName>().is_err());
        for s in [
            "accounts/111/locations/222/localPosts/",
            "accounts/111/locations/222/localPosts/a/b",
            "accounts/111/locations/222/posts/1",
        ] {
            assert_eq!(
                s.parse::<LocalPostName>().unwrap_err().kind(),
                ErrorKind::InvalidContent,
                "{s:?}"
            );
        }
    }
}
