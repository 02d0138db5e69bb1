//! The closed set of platforms POSTD knows about.

use std::fmt;
use std::str::FromStr;

/// A platform POSTD can publish to.
///
/// This enum is always compiled, whatever cargo features are enabled, so a
/// service can name a platform whose connector it did not build and get a
/// clear runtime [`ErrorKind::Config`](crate::ErrorKind::Config) error instead of a compile error.
///
/// The string forms (`meta`, `linkedin`, `tiktok`, `gbp`, `mailchimp`,
/// `twitter`) are also the cargo feature names of `postd-manager`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Platform {
    /// Facebook Pages and Instagram professional accounts, through the Graph API.
    Meta,
    /// LinkedIn members and organization pages, through the REST Posts API.
    LinkedIn,
    /// TikTok, through the Content Posting API.
    TikTok,
    /// Google Business Profile local posts.
    Gbp,
    /// Mailchimp email campaigns, through the Marketing API.
    Mailchimp,
    /// X (formerly Twitter), through the X API v2.
    Twitter,
}

impl Platform {
    /// Every platform, in a stable order.
    pub const ALL: [Platform; 6] = [
        Platform::Meta,
        Platform::LinkedIn,
        Platform::TikTok,
        Platform::Gbp,
        Platform::Mailchimp,
        Platform::Twitter,
    ];

    /// The short machine name, also the cargo feature name (`"meta"`, `"linkedin"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Meta => "meta",
            Platform::LinkedIn => "linkedin",
            Platform::TikTok => "tiktok",
            Platform::Gbp => "gbp",
            Platform::Mailchimp => "mailchimp",
            Platform::Twitter => "twitter",
        }
    }

    /// The cargo feature of `postd-manager` (and `postd`) that compiles this platform in.
    pub const fn feature(self) -> &'static str {
        self.as_str()
    }

    /// The name people use for the platform.
    pub const fn display_name(self) -> &'static str {
        match self {
            Platform::Meta => "Meta",
            Platform::LinkedIn => "LinkedIn",
            Platform::TikTok => "TikTok",
            Platform::Gbp => "Google Business Profile",
            Platform::Mailchimp => "Mailchimp",
            Platform::Twitter => "X (Twitter)",
        }
    }

    /// The workspace crate that holds this platform's connector.
    pub const fn crate_name(self) -> &'static str {
        match self {
            Platform::Meta => "postd-meta",
            Platform::LinkedIn => "postd-linkedin",
            Platform::TikTok => "postd-tiktok",
            Platform::Gbp => "postd-gbp",
            Platform::Mailchimp => "postd-mailchimp",
            Platform::Twitter => "postd-twitter",
        }
    }

    /// The prefix of this platform's environment variables (`META_CLIENT_ID`, `X_CLIENT_ID`, ...).
    pub const fn env_prefix(self) -> &'static str {
        match self {
            Platform::Meta => "META",
            Platform::LinkedIn => "LINKEDIN",
            Platform::TikTok => "TIKTOK",
            Platform::Gbp => "GBP",
            Platform::Mailchimp => "MAILCHIMP",
            Platform::Twitter => "X",
        }
    }

    /// The implementation requirements document in the repository root, for
    /// platforms that started as scaffolds.
    pub const fn spec_document(self) -> Option<&'static str> {
        match self {
            Platform::Meta | Platform::LinkedIn => None,
            Platform::TikTok => Some("CONNECTOR_SPECS_TIKTOK.md"),
            Platform::Gbp => Some("CONNECTOR_SPECS_GBP.md"),
            Platform::Mailchimp => Some("CONNECTOR_SPECS_MAILCHIMP.md"),
            Platform::Twitter => Some("CONNECTOR_SPECS_X.md"),
        }
    }

    /// The message a scaffold connector of this platform answers with.
    ///
    /// ```
    /// use postd_core::Platform;
    /// assert_eq!(
    ///     Platform::TikTok.scaffold_message(),
    ///     "TikTok connector is not yet implemented. This is a scaffold placeholder. \
    ///      See crates/postd-tiktok and CONNECTOR_SPECS_TIKTOK.md for implementation requirements."
    /// );
    /// ```
    pub fn scaffold_message(self) -> String {
        match self.spec_document() {
            Some(spec) => format!(
                "{} connector is not yet implemented. This is a scaffold placeholder. \
                 See crates/{} and {spec} for implementation requirements.",
                self.display_name(),
                self.crate_name(),
            ),
            None => format!(
                "{} connector is not yet implemented. See crates/{} for its status.",
                self.display_name(),
                self.crate_name(),
            ),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A platform name that is not one of POSTD's platforms.
///
/// Its own type keeps this module a leaf; it converts into a
/// [`Config`](crate::ErrorKind::Config) [`Error`](crate::Error) with `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown platform {name:?}; expected one of meta, linkedin, tiktok, gbp, mailchimp, twitter"
)]
pub struct ParsePlatformError {
    /// The name given, cut to 32 characters.
    pub name: String,
}

impl FromStr for Platform {
    type Err = ParsePlatformError;

    /// Parses the machine name; `facebook`, `instagram`, `x` and `google` are accepted as aliases.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let platform = match lower.as_str() {
            "meta" | "facebook" | "instagram" => Platform::Meta,
            "linkedin" => Platform::LinkedIn,
            "tiktok" => Platform::TikTok,
            "gbp" | "google" | "google_business_profile" => Platform::Gbp,
            "mailchimp" => Platform::Mailchimp,
            "twitter" | "x" => Platform::Twitter,
            _ => {
                return Err(ParsePlatformError {
                    name: truncate_for_message(s, 32),
                });
            }
        };
        Ok(platform)
    }
}

fn truncate_for_message(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!("X".parse::<Platform>().unwrap(), Platform::Twitter);
        assert_eq!(" Instagram ".parse::<Platform>().unwrap(), Platform::Meta);
    }

    #[test]
    fn unknown_platform_is_a_config_error() {
        let err = "myspace".parse::<Platform>().unwrap_err();
        assert!(err.to_string().contains("myspace"));
        let err = crate::Error::from(err);
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(err.to_string().contains("myspace"));
    }

    #[test]
    fn scaffold_messages_name_crate_and_spec() {
        assert_eq!(
            Platform::Gbp.scaffold_message(),
            "Google Business Profile connector is not yet implemented. This is a scaffold placeholder. \
             See crates/postd-gbp and CONNECTOR_SPECS_GBP.md for implementation requirements."
        );
        assert!(
            Platform::Mailchimp
                .scaffold_message()
                .contains("CONNECTOR_SPECS_MAILCHIMP.md")
        );
        assert!(
            Platform::Twitter
                .scaffold_message()
                .contains("crates/postd-twitter and CONNECTOR_SPECS_X.md")
        );
    }
}
