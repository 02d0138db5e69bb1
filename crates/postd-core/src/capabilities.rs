//! What a platform can take, as plain facts, so a post it cannot take is
//! rejected before any network call.

use std::time::Duration;

use crate::content::{MediaKind, Post};
use crate::error::{Error, ErrorKind, Result};
use crate::platform::Platform;

/// How a platform authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthKind {
    /// OAuth 2.0 authorization code flow.
    OAuth2 {
        /// Whether the platform supports (or requires) PKCE S256.
        pkce: bool,
    },
    /// A static API key.
    ApiKey,
}

/// How a platform's tokens are kept fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshModel {
    /// A refresh token; `rotates` when each refresh issues a new one and kills the old.
    RefreshToken {
        /// Whether refresh tokens rotate.
        rotates: bool,
    },
    /// A long-lived token re-exchanged for a new one before it expires (Meta).
    LongLivedExchange,
    /// Credentials do not expire (API keys).
    NonExpiring,
}

/// Media limits of a platform (the strictest of its surfaces where they differ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLimits {
    /// Media kinds the platform accepts.
    pub kinds: Vec<MediaKind>,
    /// Most media items on one post.
    pub max_items: usize,
    /// Largest image in bytes.
    pub max_image_bytes: Option<u64>,
    /// Largest video in bytes.
    pub max_video_bytes: Option<u64>,
    /// Longest video.
    pub max_video_duration: Option<Duration>,
}

/// The window in which a native scheduled post may be placed, relative to now.
///
/// Capabilities are plain facts built with struct literals, so these structs
/// are not `#[non_exhaustive]`; a new field is a (pre-1.0) breaking change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleWindow {
    /// Earliest, from now.
    pub min_ahead: Duration,
    /// Latest, from now.
    pub max_ahead: Duration,
}

/// Facts about a platform's connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The platform.
    pub platform: Platform,
    /// Whether the connector is implemented (false for scaffolds).
    pub implemented: bool,
    /// How accounts authenticate.
    pub auth: AuthKind,
    /// How tokens stay fresh.
    pub refresh: RefreshModel,
    /// Longest post text, in characters as the platform counts them.
    pub text_max_chars: Option<usize>,
    /// Whether a post may have no media.
    pub text_only: bool,
    /// Whether a link can be shared.
    pub links: bool,
    /// Media limits.
    pub media: MediaLimits,
    /// Native scheduling window, when the platform schedules posts itself.
    pub native_scheduling: Option<ScheduleWindow>,
    /// Whether publishing may end `Pending` while the platform processes media.
    pub async_processing: bool,
    /// Whether analytics can be read.
    pub analytics: bool,
    /// How far behind real time analytics run.
    pub analytics_delay: Option<Duration>,
    /// Whether the platform signs webhooks that can be verified.
    pub signed_webhooks: bool,
    /// Whether the platform validates a webhook endpoint with a challenge.
    pub webhook_challenge: bool,
}

impl ScheduleWindow {
    /// A window from `min_ahead` to `max_ahead` from now.
    pub const fn new(min_ahead: Duration, max_ahead: Duration) -> Self {
        ScheduleWindow {
            min_ahead,
            max_ahead,
        }
    }
}

impl Capabilities {
    /// Checks the parts of `post` every platform's `validate` shares: text
    /// length, empty posts, media kinds and count.
    ///
    /// Connectors call this first and add their own rules.
    pub fn check_common(&self, post: &Post) -> Result<()> {
        let fail = |msg: String| {
            Err(Error::new(ErrorKind::InvalidContent, msg)
                .with_platform(self.platform)
                .with_operation("validate"))
        };
        if let (Some(max), Some(text)) = (self.text_max_chars, &post.text) {
            let n = text.chars().count();
            if n > max {
                return fail(format!(
                    "text is {n} characters; {} allows at most {max}",
                    self.platform.display_name()
                ));
            }
        }
        let has_text = post.text.as_deref().is_some_and(|t| !t.trim().is_empty());
        if !has_text && post.media.is_empty() && post.link.is_none() {
            return fail("post has no text, media or link".to_owned());
        }
        if post.media.is_empty() && !self.text_only {
            return fail(format!("{} posts need media", self.platform.display_name()));
        }
        if post.link.is_some() && !self.links {
            return fail(format!(
                "{} posts cannot carry a link",
                self.platform.display_name()
            ));
        }
        if post.media.len() > self.media.max_items {
            return fail(format!(
                "post has {} media items; {} allows at most {}",
                post.media.len(),
                self.platform.display_name(),
                self.media.max_items
            ));
        }
        for (i, m) in post.media.iter().enumerate() {
            if !self.media.kinds.contains(&m.kind) {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!(
                        "media item {} is {:?}; {} accepts {:?}",
                        i + 1,
                        m.kind,
                        self.platform.display_name(),
                        self.media.kinds
                    ),
                )
                .with_platform(self.platform)
                .with_operation("validate"));
            }
            let limit = match m.kind {
                MediaKind::Video => self.media.max_video_bytes,
                _ => self.media.max_image_bytes,
            };
            if let (Some(limit), Some(size)) = (limit, m.size_hint)
                && size > limit
            {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!("media item {} is {size} bytes; the limit is {limit}", i + 1),
                )
                .with_platform(self.platform)
                .with_operation("validate"));
            }
        }
        // A schedule time on a platform without native scheduling is not an
        // error: the queue holds the post until then.
        Ok(())
    }

    /// Checks every local media item of `post` before any call: a regular
    /// file (or bytes), not empty, within this platform's size limit for its
    /// kind. See [`Media::check_local`](crate::Media::check_local); this is the I/O half of validation,
    /// which [`check_common`](Self::check_common) cannot do without a disk.
    pub async fn check_local_media(&self, post: &Post) -> Result<()> {
        crate::content::check_local_media(self.platform, post, |m| match m.kind {
            MediaKind::Video => self.media.max_video_bytes,
            _ => self.media.max_image_bytes,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{ClientRef, Media};

    fn caps() -> Capabilities {
        Capabilities {
            platform: Platform::LinkedIn,
            implemented: true,
            auth: AuthKind::OAuth2 { pkce: false },
            refresh: RefreshModel::RefreshToken { rotates: false },
            text_max_chars: Some(10),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: vec![MediaKind::Image],
                max_items: 2,
                max_image_bytes: Some(100),
                max_video_bytes: None,
                max_video_duration: None,
            },
            native_scheduling: None,
            async_processing: false,
            analytics: true,
            analytics_delay: None,
            signed_webhooks: true,
            webhook_challenge: true,
        }
    }

    fn post(text: &str) -> Post {
        Post::new(ClientRef::new("r1").unwrap()).with_text(text)
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(caps().check_common(&post("éééééééééé")).is_ok());
        let err = caps().check_common(&post("ééééééééééé")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
        assert!(err.to_string().contains("11 characters"));
    }

    #[test]
    fn rejects_empty_too_many_and_wrong_kinds() {
        assert_eq!(
            caps().check_common(&post("  ")).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        let img = || Media::bytes(MediaKind::Image, vec![0u8; 10]);
        let three = post("x")
            .with_media(img())
            .with_media(img())
            .with_media(img());
        assert_eq!(
            caps().check_common(&three).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        let video = post("x").with_media(Media::bytes(MediaKind::Video, vec![0u8; 10]));
        assert_eq!(
            caps().check_common(&video).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        let big = post("x").with_media(Media::bytes(MediaKind::Image, vec![0u8; 101]));
        assert_eq!(
            caps().check_common(&big).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        let mut media_only = caps();
        media_only.text_only = false;
        assert_eq!(
            media_only.check_common(&post("hi")).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
    }
}
