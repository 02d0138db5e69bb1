//! The content model: a [`Post`], its [`Media`], and typed per-platform options.

use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use url::Url;

use crate::error::{Error, ErrorKind, Result};

/// The caller's reference for a post: the idempotency key of the publish and
/// the fingerprint used to find it again after an unknown outcome.
///
/// 1 to 128 characters from `[A-Za-z0-9._:-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientRef(String);

impl ClientRef {
    /// Validates and wraps a reference.
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(ClientRef(value))
        } else {
            Err(Error::invalid_content(
                "client reference must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'",
            ))
        }
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientRef {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        ClientRef::new(value)
    }
}

impl From<ClientRef> for String {
    fn from(r: ClientRef) -> Self {
        r.0
    }
}

impl fmt::Debug for ClientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientRef({})", self.0)
    }
}

impl fmt::Display for ClientRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A post to publish to one or more targets.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Post {
    /// The post's text (caption, commentary, tweet, summary).
    pub text: Option<String>,
    /// Media attached to the post, in order.
    pub media: Vec<Media>,
    /// A link to share.
    pub link: Option<Url>,
    /// Publish at this time instead of now (native scheduling where the platform has it).
    pub schedule_at: Option<DateTime<Utc>>,
    /// The caller's reference: idempotency key and reconciliation fingerprint.
    pub client_ref: ClientRef,
    /// Typed options for individual platforms.
    pub options: PostOptions,
}

impl Post {
    /// A post with no content yet.
    pub fn new(client_ref: ClientRef) -> Self {
        Post {
            text: None,
            media: Vec::new(),
            link: None,
            schedule_at: None,
            client_ref,
            options: PostOptions::default(),
        }
    }

    /// Sets the text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Adds a media item.
    pub fn with_media(mut self, media: Media) -> Self {
        self.media.push(media);
        self
    }

    /// Sets the link.
    pub fn with_link(mut self, link: Url) -> Self {
        self.link = Some(link);
        self
    }

    /// Schedules the post.
    pub fn with_schedule_at(mut self, at: DateTime<Utc>) -> Self {
        self.schedule_at = Some(at);
        self
    }

    /// Sets the per-platform options.
    pub fn with_options(mut self, options: PostOptions) -> Self {
        self.options = options;
        self
    }

    /// The text, or `""`.
    pub fn text_or_empty(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The fingerprint that identifies this post on the platform after an attempt started at `attempted_at`.
    pub fn fingerprint(&self, attempted_at: DateTime<Utc>) -> Fingerprint {
        Fingerprint {
            client_ref: self.client_ref.clone(),
            text: self.text.clone(),
            media_count: self.media.len(),
            not_before: attempted_at,
        }
    }
}

/// What identifies a post when looking for it after an unknown outcome.
///
/// No platform accepts an idempotency key on create, so reconciliation lists
/// the target's recent posts and matches text and time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fingerprint {
    /// The caller's reference.
    pub client_ref: ClientRef,
    /// The post's text, as sent.
    pub text: Option<String>,
    /// How many media items the post had.
    pub media_count: usize,
    /// The post cannot have been created before this time (the first attempt's start, minus clock skew).
    pub not_before: DateTime<Utc>,
}

/// What a media item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MediaKind {
    /// A still image (JPEG, PNG, ...).
    Image,
    /// A video.
    Video,
    /// An animated GIF.
    Gif,
    /// A document (PDF, slides) where the platform supports it.
    Document,
}

/// The most [`Media::read_chunk`] reserves before it has read anything.
const MAX_CHUNK_PREALLOC: usize = 64 << 20;

/// Where a media item's bytes come from.
#[derive(Clone)]
#[non_exhaustive]
pub enum MediaSource {
    /// A public URL the platform fetches itself (Instagram requires this for images).
    Url(Url),
    /// A local file, streamed from disk in chunks, never read whole.
    File(PathBuf),
    /// Bytes already in memory.
    Bytes(Bytes),
}

impl fmt::Debug for MediaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Media URLs can be presigned or carry basic-auth: keep the
            // query, fragment and user info out of logs.
            MediaSource::Url(u) => {
                let mut shown = u.clone();
                if shown.query().is_some() {
                    shown.set_query(Some("[REDACTED]"));
                }
                if shown.fragment().is_some() {
                    shown.set_fragment(Some("[REDACTED]"));
                }
                if !shown.username().is_empty() || shown.password().is_some() {
                    // Cannot fail for URLs with a host, which are the only ones with user info.
                    let _ = shown.set_username("[REDACTED]");
                    let _ = shown.set_password(None);
                }
                f.debug_tuple("Url").field(&shown.as_str()).finish()
            }
            MediaSource::File(p) => f.debug_tuple("File").field(p).finish(),
            MediaSource::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
        }
    }
}

/// A media item of a post.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Media {
    /// What it is.
    pub kind: MediaKind,
    /// Where its bytes come from.
    pub source: MediaSource,
    /// Its MIME type, when known (`image/jpeg`, `video/mp4`).
    pub mime_type: Option<String>,
    /// Alternative text for accessibility.
    pub alt_text: Option<String>,
    /// Its size in bytes, when known without touching the source.
    pub size_hint: Option<u64>,
}

impl Media {
    /// A media item from a URL.
    pub fn url(kind: MediaKind, url: Url) -> Self {
        Media::from_source(kind, MediaSource::Url(url))
    }

    /// A media item from a local file.
    pub fn file(kind: MediaKind, path: impl Into<PathBuf>) -> Self {
        Media::from_source(kind, MediaSource::File(path.into()))
    }

    /// A media item from bytes in memory.
    pub fn bytes(kind: MediaKind, bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let len = bytes.len() as u64;
        let mut m = Media::from_source(kind, MediaSource::Bytes(bytes));
        m.size_hint = Some(len);
        m
    }

    fn from_source(kind: MediaKind, source: MediaSource) -> Self {
        Media {
            kind,
            source,
            mime_type: None,
            alt_text: None,
            size_hint: None,
        }
    }

    /// Sets the MIME type.
    pub fn with_mime_type(mut self, mime: impl Into<String>) -> Self {
        self.mime_type = Some(mime.into());
        self
    }

    /// Sets the alternative text.
    pub fn with_alt_text(mut self, alt: impl Into<String>) -> Self {
        self.alt_text = Some(alt.into());
        self
    }

    /// Sets the size in bytes (used by `validate` for URL media).
    pub fn with_size_hint(mut self, size: u64) -> Self {
        self.size_hint = Some(size);
        self
    }

    /// The public URL, when the media comes from one.
    pub fn as_url(&self) -> Option<&Url> {
        match &self.source {
            MediaSource::Url(u) => Some(u),
            _ => None,
        }
    }

    /// The size in bytes: the hint, the length of in-memory bytes, or a file's metadata.
    pub async fn len(&self) -> Result<Option<u64>> {
        match &self.source {
            MediaSource::Bytes(b) => Ok(Some(b.len() as u64)),
            MediaSource::File(p) => {
                let meta = tokio::fs::metadata(p)
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                Ok(Some(meta.len()))
            }
            MediaSource::Url(_) => Ok(self.size_hint),
        }
    }

    /// Reads bytes `[offset, offset + len)` (fewer at the end) for a chunked upload.
    ///
    /// Only the requested chunk is held in memory.
    pub async fn read_chunk(&self, offset: u64, len: usize) -> Result<Bytes> {
        match &self.source {
            MediaSource::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = start.saturating_add(len).min(b.len());
                Ok(b.slice(start..end))
            }
            MediaSource::File(p) => {
                let mut file = tokio::fs::File::open(p)
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                file.seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                // The file may be shorter than asked: grow as read, from a bounded start.
                let mut buf = Vec::with_capacity(len.min(MAX_CHUNK_PREALLOC));
                (&mut file)
                    .take(len as u64)
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                Ok(Bytes::from(buf))
            }
            MediaSource::Url(_) => Err(Error::new(
                ErrorKind::Unsupported,
                "media given by URL has no local bytes to upload",
            )),
        }
    }

    /// The whole media as a stream of chunks of at most `chunk_size` bytes
    /// (a file is read lazily; memory stays bounded by `chunk_size`).
    pub async fn stream(
        &self,
        chunk_size: usize,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static + use<>> {
        self.stream_from(0, chunk_size).await
    }

    /// The media from byte `offset` to the end, as a stream of chunks of at
    /// most `chunk_size` bytes, for resuming an interrupted upload.
    pub async fn stream_from(
        &self,
        offset: u64,
        chunk_size: usize,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static + use<>> {
        self.stream_range(offset, u64::MAX, chunk_size).await
    }

    /// At most `len` bytes of the media from byte `offset`, as a stream of
    /// chunks of at most `chunk_size` bytes (one part of a chunked upload,
    /// read lazily from disk).
    pub async fn stream_range(
        &self,
        offset: u64,
        len: u64,
        chunk_size: usize,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static + use<>> {
        use futures_util::StreamExt;
        let chunk_size = chunk_size.max(1);
        let stream = match &self.source {
            MediaSource::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = start
                    .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                    .min(b.len());
                let b = b.slice(start..end);
                let chunks: Vec<std::io::Result<Bytes>> = (0..b.len())
                    .step_by(chunk_size)
                    .map(|i| Ok(b.slice(i..(i + chunk_size).min(b.len()))))
                    .collect();
                futures_util::stream::iter(chunks).left_stream()
            }
            MediaSource::File(p) => {
                let mut file = tokio::fs::File::open(p)
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                if offset > 0 {
                    file.seek(std::io::SeekFrom::Start(offset))
                        .await
                        .map_err(|e| media_io_error(p, e))?;
                }
                tokio_util::io::ReaderStream::with_capacity(file.take(len), chunk_size)
                    .right_stream()
            }
            MediaSource::Url(_) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "media given by URL has no local bytes to upload",
                ));
            }
        };
        Ok(stream)
    }

    /// A file name for upload forms: the file's own name, or `media` plus an extension from the MIME type.
    pub fn file_name(&self) -> String {
        if let MediaSource::File(p) = &self.source
            && let Some(name) = p.file_name()
        {
            return name.to_string_lossy().into_owned();
        }
        let ext = match self.mime_type.as_deref() {
            Some("image/jpeg") => "jpg",
            Some("image/png") => "png",
            Some("image/gif") => "gif",
            Some("video/mp4") => "mp4",
            Some("video/quicktime") => "mov",
            _ => match self.kind {
                MediaKind::Video => "mp4",
                MediaKind::Gif => "gif",
                MediaKind::Document => "pdf",
                _ => "jpg",
            },
        };
        format!("media.{ext}")
    }
}

fn media_io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::InvalidContent
    } else {
        ErrorKind::Unexpected
    };
    Error::new(kind, format!("cannot read media file {name:?}")).with_source(e)
}

/// Typed options for individual platforms. A post sent to several targets
/// uses the options of each target's platform and ignores the rest.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct PostOptions {
    /// Facebook Page options.
    pub facebook: Option<FacebookOptions>,
    /// Instagram options.
    pub instagram: Option<InstagramOptions>,
    /// LinkedIn options.
    pub linkedin: Option<LinkedInOptions>,
    /// TikTok options.
    pub tiktok: Option<TikTokOptions>,
    /// Google Business Profile options.
    pub gbp: Option<GbpOptions>,
    /// Mailchimp campaign options.
    pub mailchimp: Option<MailchimpOptions>,
    /// X options.
    pub twitter: Option<TwitterOptions>,
}

/// Facebook Page post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FacebookOptions {
    /// A title for a video post.
    pub video_title: Option<String>,
}

/// How an Instagram post is published.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InstagramKind {
    /// Decide from the media: one image is a feed post, 2-10 items a carousel, one video a reel.
    #[default]
    Auto,
    /// A single-image feed post.
    Image,
    /// A carousel of 2-10 images and videos.
    Carousel,
    /// A reel (video).
    Reel,
    /// A story (one image or video; no caption).
    Story,
}

/// Instagram post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct InstagramOptions {
    /// The kind of post.
    pub kind: InstagramKind,
    /// For reels: also show the reel in the feed.
    pub share_to_feed: Option<bool>,
    /// For reels: a cover image URL.
    pub cover_url: Option<Url>,
    /// For reels: the frame to use as thumbnail, in milliseconds.
    pub thumb_offset_ms: Option<u64>,
    /// A location page id.
    pub location_id: Option<String>,
}

/// LinkedIn post visibility.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum LinkedInVisibility {
    /// Anyone.
    #[default]
    Public,
    /// The member's connections only.
    Connections,
    /// Logged-in LinkedIn members.
    LoggedIn,
}

/// A LinkedIn article (link) attachment.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LinkedInArticle {
    /// The article's URL.
    pub source: Url,
    /// Its title.
    pub title: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// A thumbnail image, uploaded through the Images API.
    pub thumbnail: Option<Media>,
}

impl LinkedInArticle {
    /// An article pointing at `source`.
    pub fn new(source: Url) -> Self {
        LinkedInArticle {
            source,
            title: None,
            description: None,
            thumbnail: None,
        }
    }
}

/// LinkedIn post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct LinkedInOptions {
    /// Who can see the post.
    pub visibility: LinkedInVisibility,
    /// An article attachment.
    pub article: Option<LinkedInArticle>,
    /// A title for a video.
    pub video_title: Option<String>,
}

/// TikTok privacy levels, as returned by `creator_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum TikTokPrivacy {
    /// Everyone.
    PublicToEveryone,
    /// Mutual followers.
    MutualFollowFriends,
    /// Followers.
    FollowerOfCreator,
    /// Only the creator.
    SelfOnly,
}

/// TikTok post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TikTokOptions {
    /// Who can see the post; must be one of the creator's allowed levels.
    pub privacy_level: Option<TikTokPrivacy>,
    /// Turn comments off.
    pub disable_comment: bool,
    /// Turn duets off.
    pub disable_duet: bool,
    /// Turn stitches off.
    pub disable_stitch: bool,
    /// The post promotes the creator's own brand.
    pub brand_organic: bool,
    /// The post is paid partnership content.
    pub branded_content: bool,
}

/// The topic type of a Google Business Profile local post.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum GbpTopic {
    /// A standard update.
    #[default]
    Standard,
    /// An event with a schedule.
    Event,
    /// An offer.
    Offer,
    /// An alert (COVID-19 era).
    Alert,
}

/// A GBP call-to-action button.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GbpCallToAction {
    /// `BOOK`, `ORDER`, `SHOP`, `LEARN_MORE`, `SIGN_UP`, `CALL`.
    pub action_type: String,
    /// The button's URL (not used for `CALL`).
    pub url: Option<Url>,
}

/// A GBP event's title and schedule.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GbpEvent {
    /// The event's title.
    pub title: String,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// A GBP offer's details.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GbpOffer {
    /// A coupon code.
    pub coupon_code: Option<String>,
    /// Where to redeem online.
    pub redeem_online_url: Option<Url>,
    /// Terms and conditions.
    pub terms_conditions: Option<String>,
}

/// Google Business Profile local post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GbpOptions {
    /// The topic type.
    pub topic: GbpTopic,
    /// The event (required for `EVENT` and `OFFER`).
    pub event: Option<GbpEvent>,
    /// Offer details (for `OFFER`).
    pub offer: Option<GbpOffer>,
    /// A call-to-action button.
    pub call_to_action: Option<GbpCallToAction>,
    /// The post's language (BCP 47).
    pub language_code: Option<String>,
}

/// Mailchimp campaign options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MailchimpOptions {
    /// The subject line.
    pub subject_line: Option<String>,
    /// The preview text.
    pub preview_text: Option<String>,
    /// The campaign's internal title.
    pub title: Option<String>,
    /// The sender's name.
    pub from_name: Option<String>,
    /// The reply-to address.
    pub reply_to: Option<String>,
    /// The HTML body; when absent the post text is used.
    pub html: Option<String>,
}

/// X post options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TwitterOptions {
    /// Post as a reply to this post id.
    pub reply_to: Option<String>,
    /// Quote this post id.
    pub quote_post_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn client_refs_are_validated() {
        assert!(ClientRef::new("post-2026-11-27:abc_1.2").is_ok());
        for bad in ["", "has space", "ünicode", &"x".repeat(129), "semi;colon"] {
            let err = ClientRef::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidContent);
        }
        let r: std::result::Result<ClientRef, _> = serde_json::from_str("\"bad ref\"");
        assert!(r.is_err());
    }

    #[test]
    fn media_url_debug_hides_query() {
        let m = Media::url(
            MediaKind::Image,
            Url::parse("https://cdn.example/a.jpg?X-Amz-Signature=secret").unwrap(),
        );
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("secret"), "{dbg}");
        let m = Media::url(
            MediaKind::Image,
            Url::parse("https://bob:hunter2@cdn.example/a.jpg#tok=frag").unwrap(),
        );
        let dbg = format!("{m:?}");
        for leaked in ["bob", "hunter2", "frag"] {
            assert!(!dbg.contains(leaked), "{dbg}");
        }
        assert!(dbg.contains("cdn.example/a.jpg"), "{dbg}");
    }

    #[tokio::test]
    async fn chunks_and_streams_from_bytes_and_files() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let dir = std::env::temp_dir().join(format!("postd-core-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clip.bin");
        std::fs::write(&path, &data).unwrap();

        for media in [
            Media::bytes(MediaKind::Video, data.clone()),
            Media::file(MediaKind::Video, &path),
        ] {
            assert_eq!(media.len().await.unwrap(), Some(10_000));
            let c = media.read_chunk(9_000, 4_096).await.unwrap();
            assert_eq!(&c[..], &data[9_000..]);
            let c = media.read_chunk(20_000, 10).await.unwrap();
            assert!(c.is_empty());
            let mut s = Box::pin(media.stream(4_096).await.unwrap());
            let mut joined = Vec::new();
            while let Some(chunk) = s.next().await {
                let chunk = chunk.unwrap();
                assert!(chunk.len() <= 4_096);
                joined.extend_from_slice(&chunk);
            }
            assert_eq!(joined, data);
            let mut s = Box::pin(media.stream_from(6_000, 1_000).await.unwrap());
            let mut tail = Vec::new();
            while let Some(chunk) = s.next().await {
                tail.extend_from_slice(&chunk.unwrap());
            }
            assert_eq!(tail, &data[6_000..]);
            let mut s = Box::pin(media.stream_range(1_000, 2_500, 1_000).await.unwrap());
            let mut part = Vec::new();
            while let Some(chunk) = s.next().await {
                part.extend_from_slice(&chunk.unwrap());
            }
            assert_eq!(part, &data[1_000..3_500]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn missing_file_is_a_typed_error() {
        let m = Media::file(MediaKind::Image, "/nonexistent/postd/x.jpg");
        assert_eq!(m.len().await.unwrap_err().kind(), ErrorKind::InvalidContent);
        let url = Media::url(MediaKind::Image, Url::parse("https://e.x/a.jpg").unwrap());
        assert_eq!(
            url.read_chunk(0, 1).await.unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
