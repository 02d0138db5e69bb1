//! What a platform can take, as plain facts, so a post it cannot take is
//! rejected before any network call.

use std::time::Duration;

use crate::content::{MediaKind, MediaSource, Post};
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

/// Media limits of a target (see [`Connector::capabilities_for`](crate::Connector::capabilities_for)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MediaLimits {
    /// Media kinds the platform accepts.
    pub kinds: &'static [MediaKind],
    /// Most media items on one post.
    pub max_items: usize,
    /// Whether a post carries one video, or images, never both and never two
    /// videos (Facebook Pages, LinkedIn). Instagram carousels mix them.
    pub one_video_or_images: bool,
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

/// Facts about a platform's connector, or about one of its targets.
///
/// Plain facts, `Copy`, with a zero value: a connector declares what differs
/// from [`Capabilities::none`].
///
/// ```
/// use postd_core::{AuthKind, Capabilities, MediaKind, MediaLimits, Platform};
///
/// const CAPS: Capabilities = Capabilities {
///     implemented: true,
///     auth: AuthKind::OAuth2 { pkce: true },
///     text_max_chars: Some(1_500),
///     text_only: true,
///     media: MediaLimits {
///         kinds: &[MediaKind::Image],
///         max_items: 1,
///         ..MediaLimits::NONE
///     },
///     ..Capabilities::none(Platform::Gbp)
/// };
/// assert!(!CAPS.links);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl MediaLimits {
    /// No media at all.
    pub const NONE: MediaLimits = MediaLimits {
        kinds: &[],
        max_items: 0,
        one_video_or_images: false,
        max_image_bytes: None,
        max_video_bytes: None,
        max_video_duration: None,
    };
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
    /// The zero value: a platform that is not implemented, takes nothing and
    /// promises nothing.
    pub const fn none(platform: Platform) -> Self {
        Capabilities {
            platform,
            implemented: false,
            auth: AuthKind::OAuth2 { pkce: false },
            refresh: RefreshModel::NonExpiring,
            text_max_chars: None,
            text_only: false,
            links: false,
            media: MediaLimits::NONE,
            native_scheduling: None,
            async_processing: false,
            analytics: false,
            analytics_delay: None,
            signed_webhooks: false,
            webhook_challenge: false,
        }
    }

    /// Checks the parts of `post` every platform's `validate` shares: text
    /// length, empty posts, media kinds and count, empty in-memory media,
    /// and one video or images.
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
        if self.media.one_video_or_images {
            let videos = post
                .media
                .iter()
                .filter(|m| m.kind == MediaKind::Video)
                .count();
            if videos > 1 || (videos == 1 && post.media.len() > 1) {
                return fail(format!(
                    "a {} post carries one video, or images, not both",
                    self.platform.display_name()
                ));
            }
        }
        for (i, m) in post.media.iter().enumerate() {
            if matches!(&m.source, MediaSource::Bytes(b) if b.is_empty()) {
                return Err(Error::new(
                    ErrorKind::MediaRejected,
                    format!("media item {} is empty", i + 1),
                )
                .with_platform(self.platform)
                .with_operation("validate"));
            }
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
            implemented: true,
            refresh: RefreshModel::RefreshToken { rotates: false },
            text_max_chars: Some(10),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: &[MediaKind::Image, MediaKind::Video],
                max_items: 2,
                one_video_or_images: true,
                max_image_bytes: Some(100),
                ..MediaLimits::NONE
            },
            analytics: true,
            signed_webhooks: true,
            webhook_challenge: true,
            ..Capabilities::none(Platform::LinkedIn)
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
        let gif = post("x").with_media(Media::bytes(MediaKind::Gif, vec![0u8; 10]));
        assert_eq!(
            caps().check_common(&gif).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        let empty = post("x").with_media(Media::bytes(MediaKind::Image, Vec::<u8>::new()));
        assert_eq!(
            caps().check_common(&empty).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        let big = post("x").with_media(Media::bytes(MediaKind::Image, vec![0u8; 101]));
        assert_eq!(
            caps().check_common(&big).unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        let video = || Media::bytes(MediaKind::Video, vec![0u8; 10]);
        for mixed in [
            post("x").with_media(video()).with_media(img()),
            post("x").with_media(video()).with_media(video()),
        ] {
            let err = caps().check_common(&mixed).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidContent);
            assert!(err.message().contains("one video, or images"), "{err}");
        }
        let mut mixing = caps();
        mixing.media.one_video_or_images = false;
        assert!(
            mixing
                .check_common(&post("x").with_media(video()).with_media(img()))
                .is_ok()
        );
        let mut media_only = caps();
        media_only.text_only = false;
        assert_eq!(
            media_only.check_common(&post("hi")).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
    }
}
