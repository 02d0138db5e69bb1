//! # postd-core
//!
//! The contract every POSTD platform connector implements, and the shared
//! machinery they use:
//!
//! - [`Platform`], always compiled, and the [`Connector`] trait (auth,
//!   publishing, status and reconciliation, analytics, webhooks, health and
//!   refresh planning), whose every method defaults to a typed
//!   [`ErrorKind::NotImplemented`] error;
//! - [`Capabilities`], plain facts that reject a post before any network call;
//! - the content model ([`Post`], [`Media`], [`PostOptions`], [`ClientRef`]) and [`Target`];
//! - [`Credentials`] and [`TokenSet`] on `secrecy` types;
//! - one [`Error`] type: a closed [`ErrorKind`], a [`Retry`] disposition and context;
//! - [`http`]: one shared client with safe retries and `Retry-After`;
//! - [`oauth`]: authorization URLs with `state` and PKCE S256, code exchange and refresh;
//! - [`webhook`]: HMAC-SHA256 verification on raw bytes, in constant time;
//! - [`refresh`]: when to refresh and when to warn (T-7d, T-1d).
//!
//! ```
//! use postd_core::{ClientRef, Error, ErrorKind, Media, MediaKind, Post};
//!
//! let post = Post::new(ClientRef::new("launch-2026-11-27")?)
//!     .with_text("We shipped!")
//!     .with_media(Media::file(MediaKind::Image, "launch.jpg"));
//! assert_eq!(post.media.len(), 1);
//!
//! let err = Error::new(ErrorKind::RateLimited, "slow down");
//! assert!(err.is_temporary());
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod capabilities;
pub mod config;
pub mod connector;
pub mod content;
pub mod credentials;
pub mod error;
pub mod http;
pub mod oauth;
pub mod platform;
pub mod poll;
pub mod refresh;
pub mod target;
pub mod telemetry;
pub mod webhook;

pub use capabilities::{AuthKind, Capabilities, MediaLimits, RefreshModel, ScheduleWindow};
pub use connector::{
    Connector, DateRange, Health, HealthStatus, MetricKind, MetricPoint, MetricSeries, Metrics,
    PublishHandle, PublishOutcome, PublishStatus, PublishedPost, QuotaUsage,
};
pub use content::{
    ClientRef, FacebookOptions, Fingerprint, GbpCallToAction, GbpEvent, GbpOffer, GbpOptions,
    GbpTopic, InstagramKind, InstagramOptions, LinkedInArticle, LinkedInOptions,
    LinkedInVisibility, MailchimpBatchDelivery, MailchimpOptions, Media, MediaKind, MediaReadError,
    MediaSource, PartReader, Post, PostOptions, TikTokCommercialContent, TikTokMode, TikTokOptions,
    TikTokPrivacy, TwitterOptions, TwitterPoll, TwitterReplySettings,
};
pub use credentials::{Credentials, TokenSet};
pub use error::{Error, ErrorKind, Result, Retry};
pub use oauth::{Authorization, AuthorizationRequest, CodeExchange};
pub use platform::Platform;
pub use refresh::{RefreshPlan, RefreshPolicy};
pub use target::{Target, TargetKind};
pub use webhook::{ChallengeResponse, WebhookEvent, WebhookRequest};

/// Re-exported so connectors and services use the same versions.
pub use {async_trait::async_trait, chrono, reqwest, secrecy, url};
