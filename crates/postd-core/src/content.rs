//! The content model: a [`Post`], its [`Media`], and typed per-platform options.
//!
//! Every options struct has `new()` and `with_*` setters, so a post is built in one expression:
//!
//! ```
//! use postd_core::{ClientRef, InstagramKind, InstagramOptions, LinkedInArticle, LinkedInOptions, Post};
//! use url::Url;
//!
//! let post = Post::new(ClientRef::new("launch-1")?)
//!     .with_text("We shipped")
//!     .with_linkedin(
//!         LinkedInOptions::new().with_article(
//!             LinkedInArticle::new(Url::parse("https://example.com/launch")?)
//!                 .with_title("Launch notes")
//!                 .with_description("What is new"),
//!         ),
//!     )
//!     .with_instagram(InstagramOptions::new().with_kind(InstagramKind::Carousel));
//! assert_eq!(post.options.linkedin.and_then(|o| o.article).and_then(|a| a.title).as_deref(), Some("Launch notes"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::PathBuf;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
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
///
/// A post is plain data and round-trips through serde (JSON), so a queue can
/// persist it and publish it later from another process. The form is stable:
/// unknown fields are ignored and missing optional fields take their
/// defaults, so a post queued by this version still reads after an upgrade.
/// Media given as in-memory bytes cannot be persisted (see
/// [`Post::check_persistable`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Post {
    /// The post's text (caption, commentary, tweet, summary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media attached to the post, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<Media>,
    /// A link to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Url>,
    /// Publish at this time instead of now (native scheduling where the platform has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_at: Option<DateTime<Utc>>,
    /// The caller's reference: idempotency key and reconciliation fingerprint.
    pub client_ref: ClientRef,
    /// Typed options for individual platforms.
    #[serde(default)]
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

    /// Sets the Facebook Page options.
    pub fn with_facebook(mut self, options: FacebookOptions) -> Self {
        self.options.facebook = Some(options);
        self
    }

    /// Sets the Instagram options.
    pub fn with_instagram(mut self, options: InstagramOptions) -> Self {
        self.options.instagram = Some(options);
        self
    }

    /// Sets the LinkedIn options.
    pub fn with_linkedin(mut self, options: LinkedInOptions) -> Self {
        self.options.linkedin = Some(options);
        self
    }

    /// Sets the TikTok options.
    pub fn with_tiktok(mut self, options: TikTokOptions) -> Self {
        self.options.tiktok = Some(options);
        self
    }

    /// Sets the Google Business Profile options.
    pub fn with_gbp(mut self, options: GbpOptions) -> Self {
        self.options.gbp = Some(options);
        self
    }

    /// Sets the Mailchimp campaign options.
    pub fn with_mailchimp(mut self, options: MailchimpOptions) -> Self {
        self.options.mailchimp = Some(options);
        self
    }

    /// Sets the X options.
    pub fn with_twitter(mut self, options: TwitterOptions) -> Self {
        self.options.twitter = Some(options);
        self
    }

    /// Checks that the post can be stored and published later: every media
    /// item comes from a URL or a file. In-memory bytes are refused with an
    /// [`ErrorKind::InvalidContent`] error that says what to do instead.
    pub fn check_persistable(&self) -> Result<()> {
        let in_memory = |m: &Media| matches!(m.source, MediaSource::Bytes(_));
        let thumbnail = self
            .options
            .linkedin
            .as_ref()
            .and_then(|o| o.article.as_ref())
            .and_then(|a| a.thumbnail.as_ref());
        if let Some(i) = self.media.iter().position(in_memory) {
            return Err(Error::invalid_content(format!(
                "media item {}: {BYTES_NOT_PERSISTED}",
                i + 1
            )));
        }
        if thumbnail.is_some_and(in_memory) {
            return Err(Error::invalid_content(format!(
                "the LinkedIn article thumbnail: {BYTES_NOT_PERSISTED}"
            )));
        }
        Ok(())
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

impl Fingerprint {
    /// How far before the first attempt a post found on the platform may be
    /// dated and still be ours: the platform's clock and ours differ a little.
    pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(2);

    /// The earliest creation time a matching post can have (the first
    /// attempt's start minus [`CLOCK_SKEW`](Self::CLOCK_SKEW)); list the
    /// target's posts from here.
    pub fn earliest(&self) -> DateTime<Utc> {
        // A stored fingerprint can hold any date: at the calendar's edge this saturates.
        self.not_before
            .checked_sub_signed(Self::CLOCK_SKEW)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Whether a post on the platform, with `text` created at `created_at`, is this one.
    ///
    /// No platform takes an idempotency key on create, so reconciliation
    /// matches on what was sent: the text, equal after trimming and
    /// normalising line endings, and a creation time no earlier than
    /// [`earliest`](Self::earliest). A post with no known time never matches.
    pub fn matches(&self, text: Option<&str>, created_at: Option<DateTime<Utc>>) -> bool {
        Fingerprint::sent_matches(self.text.as_deref(), self.not_before, text, created_at)
    }

    /// [`matches`](Self::matches) for a publish known by what it sent
    /// (`sent_text`, first attempted at `attempted_at`) rather than by a
    /// fingerprint: a post found with `text` created at `created_at` is it.
    pub fn sent_matches(
        sent_text: Option<&str>,
        attempted_at: DateTime<Utc>,
        text: Option<&str>,
        created_at: Option<DateTime<Utc>>,
    ) -> bool {
        // A stored attempt time can be at the calendar's edge: saturate.
        let earliest = attempted_at
            .checked_sub_signed(Self::CLOCK_SKEW)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let recent = created_at.is_some_and(|t| t >= earliest);
        recent && same_text(text, sent_text)
    }

    /// Whether the fingerprint has text to match on; a post without text
    /// cannot be told apart from other recent posts, and reconciling it by
    /// content would be a guess.
    pub fn has_text(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.trim().is_empty())
    }
}

/// Texts match when equal after trimming and normalising line endings.
fn same_text(a: Option<&str>, b: Option<&str>) -> bool {
    let norm = |s: Option<&str>| s.map(|s| s.replace("\r\n", "\n")).unwrap_or_default();
    norm(a).trim() == norm(b).trim()
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
///
/// Persisted as `{"type": "url", "url": ...}` or `{"type": "file", "path": ...}`.
/// Bytes in memory are not persisted: serializing them is an error.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaSource {
    /// A public URL the platform fetches itself (Instagram requires this for images).
    Url(Url),
    /// A local file, streamed from disk in chunks, never read whole.
    File(PathBuf),
    /// Bytes already in memory.
    Bytes(Bytes),
}

/// The stored form of a [`MediaSource`]: tagged, so a later version can add kinds.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StoredSource {
    Url { url: Url },
    File { path: PathBuf },
}

/// Why a post with in-memory media bytes cannot be queued.
const BYTES_NOT_PERSISTED: &str = "media given as in-memory bytes cannot be queued (a stored post keeps no media bytes); write the bytes to a file or give a URL";

impl Serialize for MediaSource {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let stored = match self {
            MediaSource::Url(url) => StoredSource::Url { url: url.clone() },
            MediaSource::File(path) => StoredSource::File { path: path.clone() },
            MediaSource::Bytes(_) => return Err(serde::ser::Error::custom(BYTES_NOT_PERSISTED)),
        };
        stored.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MediaSource {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        Ok(match StoredSource::deserialize(deserializer)? {
            StoredSource::Url { url } => MediaSource::Url(url),
            StoredSource::File { path } => MediaSource::File(path),
        })
    }
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Media {
    /// What it is.
    pub kind: MediaKind,
    /// Where its bytes come from.
    pub source: MediaSource,
    /// Its MIME type, when known (`image/jpeg`, `video/mp4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Alternative text for accessibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Its size in bytes, when known without touching the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    ///
    /// A path that is not a regular file (a directory, a device, a pipe) is
    /// an [`ErrorKind::MediaRejected`] error: its metadata says nothing about
    /// the bytes a read would give.
    pub async fn len(&self) -> Result<Option<u64>> {
        match &self.source {
            MediaSource::Bytes(b) => Ok(Some(b.len() as u64)),
            MediaSource::File(p) => {
                let meta = tokio::fs::metadata(p)
                    .await
                    .map_err(|e| media_io_error(p, e))?;
                regular_file_len(p, &meta).map(Some)
            }
            MediaSource::Url(_) => Ok(self.size_hint),
        }
    }

    /// Checks local media before any call and returns its length in bytes.
    ///
    /// Local bytes (a file or bytes in memory) must be a regular file, not
    /// empty, and at most `max_bytes` when a limit is given; each failure is an
    /// [`ErrorKind::MediaRejected`] error (a missing file is
    /// [`ErrorKind::InvalidContent`]) raised before anything is sent, so it is
    /// never mistaken for a network failure or an outcome the platform may
    /// have applied. Media given by URL has no local bytes: `Ok(None)`, unless
    /// its size hint is over the limit.
    pub async fn check_local(&self, max_bytes: Option<u64>) -> Result<Option<u64>> {
        let len = self.len().await?;
        let local = !matches!(self.source, MediaSource::Url(_));
        match len {
            Some(0) if local => Err(Error::new(
                ErrorKind::MediaRejected,
                format!("media {} is empty", self.describe()),
            )),
            Some(n) if max_bytes.is_some_and(|max| n > max) => Err(Error::new(
                ErrorKind::MediaRejected,
                format!(
                    "media {} is {n} bytes; the limit is {}",
                    self.describe(),
                    max_bytes.unwrap_or_default()
                ),
            )),
            Some(n) if local => Ok(Some(n)),
            _ => Ok(None),
        }
    }

    /// A short name for messages: the file's name, or what the media is.
    fn describe(&self) -> String {
        match &self.source {
            MediaSource::File(_) => format!("file {:?}", self.file_name()),
            MediaSource::Bytes(_) => "bytes".to_owned(),
            MediaSource::Url(u) => format!("at {}", u.host_str().unwrap_or("a URL")),
        }
    }

    /// Exactly bytes `[offset, offset + len)`, for a request body that
    /// declares that length: a file that no longer has them (it changed
    /// during the upload) is [`ErrorKind::MediaRejected`], before anything is
    /// sent. The part is held whole in memory, so the body can be sent again.
    ///
    /// ```
    /// # tokio_test_block_on(async {
    /// use postd_core::{Media, MediaKind, ErrorKind};
    ///
    /// let media = Media::bytes(MediaKind::Video, vec![7u8; 10]);
    /// assert_eq!(media.read_exact_chunk(4, 6).await.unwrap().len(), 6);
    /// let err = media.read_exact_chunk(4, 7).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::MediaRejected);
    /// # });
    /// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    /// # }
    /// ```
    pub async fn read_exact_chunk(&self, offset: u64, len: u64) -> Result<Bytes> {
        let want = usize::try_from(len).map_err(|_| {
            Error::new(
                ErrorKind::MediaRejected,
                format!("a part of {len} bytes does not fit in memory here"),
            )
        })?;
        let chunk = self.read_chunk(offset, want).await?;
        if chunk.len() != want {
            return Err(Error::new(
                ErrorKind::MediaRejected,
                format!(
                    "media {} changed during the upload: {} of the {want} bytes at offset {offset} are there",
                    self.describe(),
                    chunk.len()
                ),
            ));
        }
        Ok(chunk)
    }

    /// A reader of this media's parts, in order, that reads the next part
    /// while the current one is sent (see [`PartReader`]).
    pub fn part_reader(&self) -> PartReader<'_> {
        PartReader {
            media: self,
            ahead: None,
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
                // One blocking read straight into the chunk: tokio's file reads
                // go through its own 2 MiB buffer and copy twice.
                // The buffer is allocated here, not on the blocking thread: freed
                // on this thread too, it is reused by the next chunk instead of
                // growing one allocator arena per blocking thread.
                let path = p.clone();
                let buf = Vec::with_capacity(len.min(MAX_CHUNK_PREALLOC));
                tokio::task::spawn_blocking(move || read_file_chunk(&path, offset, len, buf))
                    .await
                    .map_err(|e| media_io_error(p, std::io::Error::other(e.to_string())))?
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
                let (file, size) = open_regular(p).await?;
                // Exactly the bytes the metadata promised, never more and never fewer:
                // a body must match the length declared for it.
                let expected = size.saturating_sub(offset).min(len);
                exact_stream(
                    file_blocks(file.into_std().await, offset, expected, chunk_size),
                    expected,
                    file_label(p),
                )
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

    /// Exactly `len` bytes from byte `offset`, for a request body that
    /// declared that length (a multipart part, a `Content-Length`).
    ///
    /// A file that has fewer bytes by the time they are read fails inside the
    /// stream with a [`MediaReadError`] (which the HTTP layer reports as a
    /// local failure); one that grew is cut at `len`. The body sent always has
    /// the length declared for it, or is not sent in full.
    pub async fn stream_exact(
        &self,
        offset: u64,
        len: u64,
        chunk_size: usize,
    ) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static + use<>> {
        let label = match &self.source {
            MediaSource::File(p) => file_label(p),
            _ => "bytes".to_owned(),
        };
        let inner = self.stream_range(offset, len, chunk_size).await?;
        Ok(exact_stream(inner, len, label))
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

/// Checks every media item of `post` with [`Media::check_local`], each
/// against the byte limit `limit(item)` gives (`None`: no limit), before any
/// call. The error names the item by its position.
pub async fn check_local_media(
    platform: crate::Platform,
    post: &Post,
    limit: impl Fn(&Media) -> Option<u64>,
) -> Result<()> {
    for (i, m) in post.media.iter().enumerate() {
        m.check_local(limit(m)).await.map_err(|e| {
            let message = format!("media item {}: {}", i + 1, e.message());
            e.with_platform(platform)
                .with_operation("validate")
                .with_message(message)
        })?;
    }
    Ok(())
}

/// A local media file failed while its bytes were being read for an upload.
///
/// A media stream yields it inside the `std::io::Error` it fails with; the
/// HTTP layer finds it in the failed request's source chain and reports a
/// local, permanent [`ErrorKind::MediaRejected`] error. A request whose body
/// broke off was never received whole, so the platform cannot have applied
/// it: this is never an unknown outcome and never worth a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaReadError {
    file: String,
    reason: String,
}

impl MediaReadError {
    /// The file's name (not its full path).
    pub fn file(&self) -> &str {
        &self.file
    }
}

impl fmt::Display for MediaReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "media file {:?} could not be read: {}",
            self.file, self.reason
        )
    }
}

impl std::error::Error for MediaReadError {}

impl MediaReadError {
    /// Finds a media read failure in an error's source chain, looking inside `std::io::Error`s.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a MediaReadError> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(m) = e.downcast_ref::<MediaReadError>() {
                return Some(m);
            }
            if let Some(m) = e
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<MediaReadError>())
            {
                return Some(m);
            }
            next = e.source();
        }
        None
    }

    fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Bytes `[offset, offset + len)` of a regular file (fewer at its end), read on the calling thread.
fn read_file_chunk(
    path: &std::path::Path,
    offset: u64,
    len: usize,
    mut buf: Vec<u8>,
) -> Result<Bytes> {
    use std::io::{Read, Seek};
    let mut file = std::fs::File::open(path).map_err(|e| media_io_error(path, e))?;
    let meta = file.metadata().map_err(|e| media_io_error(path, e))?;
    regular_file_len(path, &meta)?;
    file.seek(std::io::SeekFrom::Start(offset))
        .map_err(|e| media_io_error(path, e))?;
    // The file may be shorter than asked, or change while it is read: the
    // buffer grows or stops as read.
    file.take(len as u64)
        .read_to_end(&mut buf)
        .map_err(|e| media_io_error(path, e))?;
    Ok(Bytes::from(buf))
}

/// `expected` bytes of `file` from `offset`, as blocks of at most `block`
/// bytes, each read by one blocking call straight into its own buffer when
/// the body asks for it (tokio's file reads hop to the blocking pool per
/// read and copy through a buffer of their own, which halved the throughput
/// of a chunked upload). One block is in memory at a time: reading the next
/// one ahead kept two alive, and the allocator then returned and re-faulted
/// their pages for every block (220,000 page faults for a 1 GiB upload,
/// against 2,300). The blocks end early if the file does; [`exact_stream`]
/// reports that.
fn file_blocks(
    file: std::fs::File,
    offset: u64,
    expected: u64,
    block: usize,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let block = block.max(1) as u64;
    let state = (Some(file), Some(offset), expected);
    futures_util::stream::unfold(state, move |(file, seek, left)| async move {
        let file = file?;
        if left == 0 {
            return None;
        }
        let len = usize::try_from(left.min(block)).unwrap_or(usize::MAX);
        // Allocated on this thread, not the blocking one (see `read_chunk`).
        let buf = Vec::with_capacity(len.min(MAX_CHUNK_PREALLOC));
        let done = tokio::task::spawn_blocking(move || {
            let read = read_block(&file, seek, len, buf);
            (file, read)
        })
        .await;
        match done {
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), (None, None, 0))),
            Ok((_, Err(e))) => Some((Err(e), (None, None, 0))),
            Ok((_, Ok(bytes))) if bytes.is_empty() => None,
            Ok((file, Ok(bytes))) => {
                let left = left.saturating_sub(bytes.len() as u64);
                Some((Ok(bytes), (Some(file), None, left)))
            }
        }
    })
}

/// Reads up to `len` bytes (fewer only at the end of the file) into `buf`.
fn read_block(
    mut file: &std::fs::File,
    seek: Option<u64>,
    len: usize,
    mut buf: Vec<u8>,
) -> std::io::Result<Bytes> {
    use std::io::{Read, Seek};
    if let Some(at) = seek {
        file.seek(std::io::SeekFrom::Start(at))?;
    }
    file.take(len as u64).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}

/// Opens a file for reading, refusing anything but a regular file, and returns its length.
async fn open_regular(path: &std::path::Path) -> Result<(tokio::fs::File, u64)> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| media_io_error(path, e))?;
    // The metadata of the opened handle, not of the path: what is read is what was checked.
    let meta = file.metadata().await.map_err(|e| media_io_error(path, e))?;
    let len = regular_file_len(path, &meta)?;
    Ok((file, len))
}

fn regular_file_len(path: &std::path::Path, meta: &std::fs::Metadata) -> Result<u64> {
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(Error::new(
            ErrorKind::MediaRejected,
            format!("media file {:?} is {what}", file_label(path)),
        ));
    }
    Ok(meta.len())
}

/// Passes `expected` bytes through, then ends; a read error, or an end before
/// `expected` bytes, is a [`MediaReadError`].
fn exact_stream(
    inner: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    expected: u64,
    file: String,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    use futures_util::StreamExt;
    let inner = Box::pin(inner);
    futures_util::stream::unfold((inner, 0u64, false), move |(mut inner, seen, done)| {
        let file = file.clone();
        async move {
            if done {
                return None;
            }
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let seen = seen + chunk.len() as u64;
                    Some((Ok(chunk), (inner, seen, false)))
                }
                Some(Err(e)) => {
                    let err = MediaReadError {
                        file,
                        reason: e.to_string(),
                    };
                    Some((Err(err.into_io()), (inner, seen, true)))
                }
                None if seen < expected => {
                    let err = MediaReadError {
                        file,
                        reason: format!(
                            "it ended after {seen} of the {expected} bytes it had when the upload started"
                        ),
                    };
                    Some((Err(err.into_io()), (inner, seen, true)))
                }
                None => None,
            }
        }
    })
}

fn media_io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    let name = file_label(path);
    // A file that is not there is a wrong post; one that cannot be read is
    // unusable media. Neither is the platform's doing, and neither improves
    // with a retry.
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        ErrorKind::InvalidContent
    } else {
        ErrorKind::MediaRejected
    };
    Error::new(kind, format!("cannot read media file {name:?}")).with_source(e)
}

/// Typed options for individual platforms. A post sent to several targets
/// uses the options of each target's platform and ignores the rest.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PostOptions {
    /// Facebook Page options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facebook: Option<FacebookOptions>,
    /// Instagram options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram: Option<InstagramOptions>,
    /// LinkedIn options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<LinkedInOptions>,
    /// TikTok options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiktok: Option<TikTokOptions>,
    /// Google Business Profile options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gbp: Option<GbpOptions>,
    /// Mailchimp campaign options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailchimp: Option<MailchimpOptions>,
    /// X options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter: Option<TwitterOptions>,
}

/// Facebook Page post options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct FacebookOptions {
    /// A title for a video post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_title: Option<String>,
}

impl FacebookOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the title of a video post.
    pub fn with_video_title(mut self, video_title: impl Into<String>) -> Self {
        self.video_title = Some(video_title.into());
        self
    }
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InstagramOptions {
    /// The kind of post.
    pub kind: InstagramKind,
    /// For reels: also show the reel in the feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_to_feed: Option<bool>,
    /// For reels: a cover image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover_url: Option<Url>,
    /// For reels: the frame to use as thumbnail, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_offset_ms: Option<u64>,
    /// A location page id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

impl InstagramOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the kind of post.
    pub fn with_kind(mut self, kind: InstagramKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets whether a reel also shows in the feed.
    pub fn with_share_to_feed(mut self, share_to_feed: bool) -> Self {
        self.share_to_feed = Some(share_to_feed);
        self
    }

    /// Sets a reel's cover image URL.
    pub fn with_cover_url(mut self, cover_url: Url) -> Self {
        self.cover_url = Some(cover_url);
        self
    }

    /// Sets the reel frame used as thumbnail, in milliseconds.
    pub fn with_thumb_offset_ms(mut self, thumb_offset_ms: u64) -> Self {
        self.thumb_offset_ms = Some(thumb_offset_ms);
        self
    }

    /// Sets the location page id.
    pub fn with_location_id(mut self, location_id: impl Into<String>) -> Self {
        self.location_id = Some(location_id.into());
        self
    }
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkedInArticle {
    /// The article's URL.
    pub source: Url,
    /// Its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A thumbnail image, uploaded through the Images API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

    /// Sets the article's title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the article's description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets a thumbnail image.
    pub fn with_thumbnail(mut self, thumbnail: Media) -> Self {
        self.thumbnail = Some(thumbnail);
        self
    }
}

/// LinkedIn post options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LinkedInOptions {
    /// Who can see the post.
    pub visibility: LinkedInVisibility,
    /// An article attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<LinkedInArticle>,
    /// A title for a video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_title: Option<String>,
}

impl LinkedInOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets who can see the post.
    pub fn with_visibility(mut self, visibility: LinkedInVisibility) -> Self {
        self.visibility = visibility;
        self
    }

    /// Sets the article attachment.
    pub fn with_article(mut self, article: LinkedInArticle) -> Self {
        self.article = Some(article);
        self
    }

    /// Sets the title of a video.
    pub fn with_video_title(mut self, video_title: impl Into<String>) -> Self {
        self.video_title = Some(video_title.into());
        self
    }
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

/// How a TikTok post reaches the creator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TikTokMode {
    /// Posted to the creator's profile at once (Direct Post).
    #[default]
    DirectPost,
    /// Sent to the creator's TikTok inbox as a draft they finish in the app.
    Inbox,
}

/// The user's answer to TikTok's commercial content disclosure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TikTokCommercialContent {
    /// The post promotes the creator's own business ("Your brand": `brand_organic_toggle`).
    pub your_brand: bool,
    /// The post promotes another brand in return for something ("Branded content":
    /// `brand_content_toggle`); it cannot be private (`SELF_ONLY`).
    pub branded_content: bool,
}

impl TikTokCommercialContent {
    /// The user said the post is not commercial content.
    pub fn none() -> Self {
        Self::default()
    }

    /// Promotes the creator's own business.
    pub fn your_brand() -> Self {
        TikTokCommercialContent {
            your_brand: true,
            branded_content: false,
        }
    }

    /// Paid partnership content for another brand.
    pub fn branded_content() -> Self {
        TikTokCommercialContent {
            your_brand: false,
            branded_content: true,
        }
    }
}

/// TikTok post options: the choices TikTok requires the user to make on the
/// compose screen, each explicitly.
///
/// TikTok's Content Sharing Guidelines forbid defaults for these: no
/// preselected privacy level, no interaction switched on for the user, and the
/// commercial content disclosure and the Music Usage Confirmation answered
/// by the user. A field left `None` (or the confirmation left `false`) is not
/// filled in by POSTD: a Direct Post without it is refused by `validate`,
/// with a message naming it. Inbox drafts need none of them (the creator
/// makes the choices in the TikTok app).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TikTokOptions {
    /// Direct Post (the default) or an inbox draft.
    pub mode: TikTokMode,
    /// Who can see the post; one of the creator's allowed levels (`creator_info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<TikTokPrivacy>,
    /// Whether the user allowed comments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_comment: Option<bool>,
    /// Whether the user allowed duets (videos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_duet: Option<bool>,
    /// Whether the user allowed stitches (videos only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_stitch: Option<bool>,
    /// The user's commercial content disclosure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commercial_content: Option<TikTokCommercialContent>,
    /// The user agreed to TikTok's Music Usage Confirmation (and, for branded
    /// content, the Branded Content Policy) before posting.
    pub music_usage_confirmed: bool,
    /// The content is AI-generated (`is_aigc`).
    pub ai_generated: bool,
    /// A photo post's title (the post's text is its description).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Which frame of a video is its cover, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u64>,
    /// Which photo of a photo post is its cover (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_cover_index: Option<u32>,
    /// Let TikTok add music to a photo post.
    pub auto_add_music: bool,
}

impl TikTokOptions {
    /// Options with nothing chosen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every choice of a Direct Post made at once: privacy, comments (and
    /// duets and stitches, for videos), the commercial content disclosure,
    /// and the Music Usage Confirmation given.
    pub fn direct_post(
        privacy_level: TikTokPrivacy,
        allow_comment: bool,
        allow_duet: bool,
        allow_stitch: bool,
        commercial_content: TikTokCommercialContent,
    ) -> Self {
        TikTokOptions {
            privacy_level: Some(privacy_level),
            allow_comment: Some(allow_comment),
            allow_duet: Some(allow_duet),
            allow_stitch: Some(allow_stitch),
            commercial_content: Some(commercial_content),
            music_usage_confirmed: true,
            ..Self::default()
        }
    }

    /// An inbox draft: the creator makes the choices in the TikTok app.
    pub fn inbox() -> Self {
        TikTokOptions {
            mode: TikTokMode::Inbox,
            ..Self::default()
        }
    }

    /// Sets who can see the post.
    pub fn with_privacy_level(mut self, privacy_level: TikTokPrivacy) -> Self {
        self.privacy_level = Some(privacy_level);
        self
    }

    /// Sets whether the user allowed comments, duets and stitches.
    pub fn with_interactions(mut self, comment: bool, duet: bool, stitch: bool) -> Self {
        self.allow_comment = Some(comment);
        self.allow_duet = Some(duet);
        self.allow_stitch = Some(stitch);
        self
    }

    /// Sets the user's commercial content disclosure.
    pub fn with_commercial_content(mut self, disclosure: TikTokCommercialContent) -> Self {
        self.commercial_content = Some(disclosure);
        self
    }

    /// Records that the user agreed to the Music Usage Confirmation.
    pub fn with_music_usage_confirmed(mut self, confirmed: bool) -> Self {
        self.music_usage_confirmed = confirmed;
        self
    }

    /// Marks the content as AI-generated.
    pub fn with_ai_generated(mut self, ai_generated: bool) -> Self {
        self.ai_generated = ai_generated;
        self
    }

    /// Sets a photo post's title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the video frame used as the cover.
    pub fn with_video_cover_timestamp_ms(mut self, ms: u64) -> Self {
        self.video_cover_timestamp_ms = Some(ms);
        self
    }

    /// Sets which photo is the cover.
    pub fn with_photo_cover_index(mut self, index: u32) -> Self {
        self.photo_cover_index = Some(index);
        self
    }

    /// Lets TikTok add music to a photo post.
    pub fn with_auto_add_music(mut self, on: bool) -> Self {
        self.auto_add_music = on;
        self
    }
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GbpCallToAction {
    /// `BOOK`, `ORDER`, `SHOP`, `LEARN_MORE`, `SIGN_UP`, `CALL`.
    pub action_type: String,
    /// The button's URL (not used for `CALL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
}

impl GbpCallToAction {
    /// A button of `action_type` (`BOOK`, `ORDER`, `SHOP`, `LEARN_MORE`, `SIGN_UP`, `CALL`).
    pub fn new(action_type: impl Into<String>) -> Self {
        GbpCallToAction {
            action_type: action_type.into(),
            url: None,
        }
    }

    /// Sets the button's URL.
    pub fn with_url(mut self, url: Url) -> Self {
        self.url = Some(url);
        self
    }
}

/// A GBP event's title and schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GbpEvent {
    /// The event's title.
    pub title: String,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

impl GbpEvent {
    /// An event titled `title` from `start` to `end`.
    pub fn new(title: impl Into<String>, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        GbpEvent {
            title: title.into(),
            start,
            end,
        }
    }
}

/// A GBP offer's details.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct GbpOffer {
    /// A coupon code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
    /// Where to redeem online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redeem_online_url: Option<Url>,
    /// Terms and conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_conditions: Option<String>,
}

impl GbpOffer {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the coupon code.
    pub fn with_coupon_code(mut self, coupon_code: impl Into<String>) -> Self {
        self.coupon_code = Some(coupon_code.into());
        self
    }

    /// Sets where to redeem online.
    pub fn with_redeem_online_url(mut self, redeem_online_url: Url) -> Self {
        self.redeem_online_url = Some(redeem_online_url);
        self
    }

    /// Sets the terms and conditions.
    pub fn with_terms_conditions(mut self, terms_conditions: impl Into<String>) -> Self {
        self.terms_conditions = Some(terms_conditions.into());
        self
    }
}

/// Google Business Profile local post options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct GbpOptions {
    /// The topic type.
    pub topic: GbpTopic,
    /// The event (required for `EVENT` and `OFFER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<GbpEvent>,
    /// Offer details (for `OFFER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<GbpOffer>,
    /// A call-to-action button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_to_action: Option<GbpCallToAction>,
    /// The post's language (BCP 47).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

impl GbpOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the topic type.
    pub fn with_topic(mut self, topic: GbpTopic) -> Self {
        self.topic = topic;
        self
    }

    /// Sets the event.
    pub fn with_event(mut self, event: GbpEvent) -> Self {
        self.event = Some(event);
        self
    }

    /// Sets the offer details.
    pub fn with_offer(mut self, offer: GbpOffer) -> Self {
        self.offer = Some(offer);
        self
    }

    /// Sets the call-to-action button.
    pub fn with_call_to_action(mut self, call_to_action: GbpCallToAction) -> Self {
        self.call_to_action = Some(call_to_action);
        self
    }

    /// Sets the post's language (BCP 47).
    pub fn with_language_code(mut self, language_code: impl Into<String>) -> Self {
        self.language_code = Some(language_code.into());
        self
    }
}

/// Mailchimp campaign options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct MailchimpOptions {
    /// The subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_line: Option<String>,
    /// The preview text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_text: Option<String>,
    /// The campaign's internal title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The sender's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// The reply-to address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The HTML body; when absent the post text is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Send to this saved segment of the audience only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<u64>,
    /// Send a test email to these addresses before the campaign goes out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_emails: Vec<String>,
    /// Deliver a scheduled campaign at its time in each recipient's time zone (Timewarp).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timewarp: bool,
    /// Deliver a scheduled campaign in batches (not with Timewarp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_delivery: Option<MailchimpBatchDelivery>,
    /// Fill this saved template instead of sending `html` or the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<u64>,
    /// The template's editable sections (`mc:edit` names) and their HTML.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub template_sections: std::collections::BTreeMap<String, String>,
}

/// Batch delivery of a scheduled Mailchimp campaign: `batch_count` batches,
/// `batch_delay` minutes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MailchimpBatchDelivery {
    /// Minutes between batches.
    pub batch_delay: u32,
    /// How many batches.
    pub batch_count: u32,
}

impl MailchimpBatchDelivery {
    /// `count` batches, `delay_minutes` apart.
    pub fn new(count: u32, delay_minutes: u32) -> Self {
        MailchimpBatchDelivery {
            batch_delay: delay_minutes,
            batch_count: count,
        }
    }
}

impl MailchimpOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the subject line.
    pub fn with_subject_line(mut self, subject_line: impl Into<String>) -> Self {
        self.subject_line = Some(subject_line.into());
        self
    }

    /// Sets the preview text.
    pub fn with_preview_text(mut self, preview_text: impl Into<String>) -> Self {
        self.preview_text = Some(preview_text.into());
        self
    }

    /// Sets the campaign's internal title.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the sender's name.
    pub fn with_from_name(mut self, from_name: impl Into<String>) -> Self {
        self.from_name = Some(from_name.into());
        self
    }

    /// Sets the reply-to address.
    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    /// Sets the HTML body.
    pub fn with_html(mut self, html: impl Into<String>) -> Self {
        self.html = Some(html.into());
        self
    }

    /// Sends to a saved segment only.
    pub fn with_segment(mut self, segment_id: u64) -> Self {
        self.segment_id = Some(segment_id);
        self
    }

    /// Sends a test email to `addresses` first.
    pub fn with_test_emails<I, S>(mut self, addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.test_emails = addresses.into_iter().map(Into::into).collect();
        self
    }

    /// Delivers at the scheduled time in each recipient's time zone.
    pub fn with_timewarp(mut self) -> Self {
        self.timewarp = true;
        self
    }

    /// Delivers in batches.
    pub fn with_batch_delivery(mut self, batches: MailchimpBatchDelivery) -> Self {
        self.batch_delivery = Some(batches);
        self
    }

    /// Fills saved template `id` (its sections set with [`with_template_section`](Self::with_template_section)).
    pub fn with_template(mut self, id: u64) -> Self {
        self.template_id = Some(id);
        self
    }

    /// Sets a template section (`mc:edit` name) to `html`.
    pub fn with_template_section(
        mut self,
        name: impl Into<String>,
        html: impl Into<String>,
    ) -> Self {
        self.template_sections.insert(name.into(), html.into());
        self
    }
}

/// X post options.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TwitterOptions {
    /// Post as a reply to this post id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Quote this post id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_post_id: Option<String>,
    /// A poll (not with media or a quote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<TwitterPoll>,
    /// Who may reply; `None` is everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_settings: Option<TwitterReplySettings>,
    /// Discloses that the media was made with AI (X's `made_with_ai`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub made_with_ai: bool,
    /// Discloses a paid partnership (X's `paid_partnership`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paid_partnership: bool,
}

/// A poll on an X post: 2 to 4 options of at most 25 characters, open 5 to
/// 10,080 minutes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TwitterPoll {
    /// The options, in order.
    pub options: Vec<String>,
    /// How long the poll is open, in minutes.
    pub duration_minutes: u32,
}

impl TwitterPoll {
    /// A poll with `options`, open `duration_minutes`.
    pub fn new<I, S>(options: I, duration_minutes: u32) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TwitterPoll {
            options: options.into_iter().map(Into::into).collect(),
            duration_minutes,
        }
    }
}

/// Who may reply to an X post, besides the people it mentions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum TwitterReplySettings {
    /// People the author follows.
    Following,
    /// Only people mentioned.
    MentionedUsers,
    /// The author's subscribers.
    Subscribers,
    /// Verified accounts.
    Verified,
}

impl TwitterReplySettings {
    /// The value X's API takes.
    pub const fn as_str(self) -> &'static str {
        match self {
            TwitterReplySettings::Following => "following",
            TwitterReplySettings::MentionedUsers => "mentionedUsers",
            TwitterReplySettings::Subscribers => "subscribers",
            TwitterReplySettings::Verified => "verified",
        }
    }
}

impl TwitterOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the post id this one replies to.
    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    /// Sets the post id this one quotes.
    pub fn with_quote_post_id(mut self, quote_post_id: impl Into<String>) -> Self {
        self.quote_post_id = Some(quote_post_id.into());
        self
    }

    /// Adds a poll.
    pub fn with_poll(mut self, poll: TwitterPoll) -> Self {
        self.poll = Some(poll);
        self
    }

    /// Sets who may reply.
    pub fn with_reply_settings(mut self, settings: TwitterReplySettings) -> Self {
        self.reply_settings = Some(settings);
        self
    }

    /// Discloses AI-made media.
    pub fn with_made_with_ai(mut self, made_with_ai: bool) -> Self {
        self.made_with_ai = made_with_ai;
        self
    }

    /// Discloses a paid partnership.
    pub fn with_paid_partnership(mut self, paid: bool) -> Self {
        self.paid_partnership = paid;
        self
    }
}

/// Reads the parts of an upload that goes in order, one part ahead: the
/// next part is read from disk while the current one is sent, so the read
/// and the send overlap (two parts in memory). Made by
/// [`Media::part_reader`].
///
/// ```
/// # tokio_test_block_on(async {
/// use postd_core::{Media, MediaKind};
///
/// let media = Media::bytes(MediaKind::Video, (0..10u8).collect::<Vec<u8>>());
/// let mut parts = media.part_reader();
/// let first = parts.part(0, 4).await.unwrap();
/// // "Send" the first part while the second is read.
/// let sent = parts.while_sending(async { first.len() }, Some((4, 4))).await;
/// assert_eq!(sent, 4);
/// assert_eq!(&parts.part(4, 4).await.unwrap()[..], &[4, 5, 6, 7]);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct PartReader<'a> {
    media: &'a Media,
    /// The part read ahead: its offset and length, and what the read gave.
    ahead: Option<(u64, u64, Result<Bytes>)>,
}

impl PartReader<'_> {
    /// Exactly bytes `[offset, offset + len)`, as
    /// [`Media::read_exact_chunk`] reads them: the part read ahead when it
    /// is this one (its read error, if the read failed), otherwise read now.
    pub async fn part(&mut self, offset: u64, len: u64) -> Result<Bytes> {
        match self.ahead.take() {
            Some((at, n, bytes)) if at == offset && n == len => bytes,
            _ => self.media.read_exact_chunk(offset, len).await,
        }
    }

    /// Runs `send` and, meanwhile, reads part `next` (`(offset, len)`), kept
    /// for [`part`](Self::part). A part asked for later that is not this one
    /// is read then, and this read is dropped.
    pub async fn while_sending<F: std::future::Future>(
        &mut self,
        send: F,
        next: Option<(u64, u64)>,
    ) -> F::Output {
        let media = self.media;
        let (sent, ahead) = tokio::join!(send, async {
            match next {
                Some((offset, len)) => {
                    Some((offset, len, media.read_exact_chunk(offset, len).await))
                }
                None => None,
            }
        });
        self.ahead = ahead;
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn a_part_read_ahead_is_the_one_given_and_any_other_is_read_then() {
        let dir = std::env::temp_dir().join(format!("postd-core-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("video.mp4");
        std::fs::write(&path, [1u8; 12]).unwrap();
        let media = Media::file(MediaKind::Video, &path);
        let mut parts = media.part_reader();
        assert_eq!(&parts.part(0, 4).await.unwrap()[..], &[1; 4]);
        let sent = parts.while_sending(async { "sent" }, Some((4, 4))).await;
        assert_eq!(sent, "sent");
        // The file changes after the read ahead: the part is what was read then.
        std::fs::write(&path, [2u8; 12]).unwrap();
        assert_eq!(&parts.part(4, 4).await.unwrap()[..], &[1; 4]);
        // A part other than the one read ahead is read when asked for.
        parts.while_sending(async {}, Some((4, 4))).await;
        assert_eq!(&parts.part(8, 4).await.unwrap()[..], &[2; 4]);
        // A read ahead that failed is that part's error, at its turn.
        std::fs::write(&path, [3u8; 6]).unwrap();
        parts.while_sending(async {}, Some((4, 4))).await;
        std::fs::write(&path, [3u8; 12]).unwrap();
        assert_eq!(
            parts.part(4, 4).await.unwrap_err().kind(),
            ErrorKind::MediaRejected
        );
        // Nothing is kept after it was taken.
        assert_eq!(&parts.part(4, 4).await.unwrap()[..], &[3; 4]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
    async fn local_media_is_checked_before_any_call() {
        let dir = std::env::temp_dir().join(format!("postd-core-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        let ok = dir.join("ok.jpg");
        std::fs::write(&ok, [1u8; 10]).unwrap();

        for (media, kind) in [
            (
                Media::file(MediaKind::Image, &dir),
                ErrorKind::MediaRejected,
            ),
            (
                Media::file(MediaKind::Video, "/dev/zero"),
                ErrorKind::MediaRejected,
            ),
            (
                Media::file(MediaKind::Image, &empty),
                ErrorKind::MediaRejected,
            ),
            (
                Media::bytes(MediaKind::Image, Vec::<u8>::new()),
                ErrorKind::MediaRejected,
            ),
            (Media::file(MediaKind::Image, &ok), ErrorKind::MediaRejected), // over the limit below
            (
                Media::file(MediaKind::Image, dir.join("absent.jpg")),
                ErrorKind::InvalidContent,
            ),
        ] {
            let err = media.check_local(Some(5)).await.unwrap_err();
            assert_eq!(err.kind(), kind, "{media:?}: {err}");
            assert!(!err.is_temporary());
        }
        assert_eq!(
            Media::file(MediaKind::Image, &ok)
                .check_local(Some(10))
                .await
                .unwrap(),
            Some(10)
        );
        let url = Media::url(
            MediaKind::Image,
            Url::parse("https://cdn.example/a.jpg").unwrap(),
        );
        assert_eq!(url.check_local(Some(5)).await.unwrap(), None);
        // Streams refuse non-regular files too, whoever asks.
        let dev = Media::file(MediaKind::Video, "/dev/zero");
        assert!(dev.stream(1024).await.is_err());
        assert!(dev.read_chunk(0, 1024).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_stream_that_runs_short_fails_with_a_media_read_error() {
        let dir = std::env::temp_dir().join(format!("postd-core-short-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clip.mp4");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let media = Media::file(MediaKind::Video, &path);
        // Declared 2,000 bytes; the file has 1,000: the stream must not just end.
        let mut s = Box::pin(media.stream_exact(0, 2000, 256).await.unwrap());
        let mut got = 0;
        let mut failure = None;
        while let Some(item) = s.next().await {
            match item {
                Ok(c) => got += c.len(),
                Err(e) => failure = Some(e),
            }
        }
        assert_eq!(got, 1000);
        let failure = failure.expect("a short file ends in an error");
        let found = MediaReadError::find(&failure).expect("the error names the media");
        assert_eq!(found.file(), "clip.mp4");
        // A file that grew is cut at the declared length.
        let mut s = Box::pin(media.stream_exact(100, 300, 64).await.unwrap());
        let mut n = 0;
        while let Some(item) = s.next().await {
            n += item.unwrap().len();
        }
        assert_eq!(n, 300);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_file_cut_short_while_it_streams_fails_and_blocks_stay_bounded() {
        let dir = std::env::temp_dir().join(format!("postd-core-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cut.mp4");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let media = Media::file(MediaKind::Video, &path);
        let mut s = Box::pin(media.stream_exact(500, 9_500, 1_000).await.unwrap());
        let first = s.next().await.unwrap().unwrap();
        assert_eq!(&first[..], &data[500..1_500]);
        // Cut the file while the next block may be in flight.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(3_000)
            .unwrap();
        let mut got = first.len();
        let mut failure = None;
        while let Some(item) = s.next().await {
            match item {
                Ok(c) => {
                    assert!(c.len() <= 1_000, "a block of {}", c.len());
                    got += c.len();
                }
                Err(e) => failure = Some(e),
            }
        }
        assert!(
            got <= 3_000 - 500,
            "read {got} bytes of a 3,000-byte file from 500"
        );
        assert!(MediaReadError::find(&failure.expect("cut short")).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fingerprints_match_text_and_time_with_clock_skew() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let post = Post::new(ClientRef::new("r").unwrap()).with_text(" Hello\r\nworld ");
        let f = post.fingerprint(at);
        let skew = Fingerprint::CLOCK_SKEW;
        assert!(f.matches(Some("Hello\nworld"), Some(at)));
        assert!(f.matches(Some("Hello\nworld"), Some(at - skew)));
        assert!(!f.matches(
            Some("Hello\nworld"),
            Some(at - skew - chrono::Duration::seconds(1))
        ));
        assert!(!f.matches(Some("Hello world"), Some(at)));
        assert!(!f.matches(Some("Hello\nworld"), None));
        assert!(f.has_text());
        assert!(
            !Post::new(ClientRef::new("r").unwrap())
                .with_text("  ")
                .fingerprint(at)
                .has_text()
        );
    }

    #[test]
    fn options_build_in_one_expression() {
        let post = Post::new(ClientRef::new("r").unwrap())
            .with_facebook(FacebookOptions::new().with_video_title("T"))
            .with_tiktok(
                TikTokOptions::new()
                    .with_privacy_level(TikTokPrivacy::SelfOnly)
                    .with_interactions(true, false, false),
            )
            .with_gbp(
                GbpOptions::new()
                    .with_topic(GbpTopic::Offer)
                    .with_offer(GbpOffer::new().with_coupon_code("SAVE10"))
                    .with_call_to_action(GbpCallToAction::new("LEARN_MORE")),
            )
            .with_mailchimp(MailchimpOptions::new().with_subject_line("Hi"))
            .with_twitter(TwitterOptions::new().with_reply_to("123"));
        assert_eq!(
            post.options.facebook.unwrap().video_title.as_deref(),
            Some("T")
        );
        assert_eq!(post.options.tiktok.unwrap().allow_duet, Some(false));
        let gbp = post.options.gbp.unwrap();
        assert_eq!(gbp.topic, GbpTopic::Offer);
        assert_eq!(gbp.offer.unwrap().coupon_code.as_deref(), Some("SAVE10"));
        assert_eq!(
            post.options.mailchimp.unwrap().subject_line.as_deref(),
            Some("Hi")
        );
        assert_eq!(
            post.options.twitter.unwrap().reply_to.as_deref(),
            Some("123")
        );
        // Reply settings are stored with the names X's API takes.
        for r in [
            TwitterReplySettings::Following,
            TwitterReplySettings::MentionedUsers,
            TwitterReplySettings::Subscribers,
            TwitterReplySettings::Verified,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    fn round_trip<T>(value: &T) -> T
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, value, "{json}");
        back
    }

    fn full_post() -> Post {
        let at = DateTime::parse_from_rfc3339("2026-12-24T18:00:00Z")
            .unwrap()
            .to_utc();
        let url = |s: &str| Url::parse(s).unwrap();
        Post::new(ClientRef::new("post-42").unwrap())
            .with_text("Merry")
            .with_link(url("https://example.com/x"))
            .with_schedule_at(at)
            .with_media(
                Media::url(MediaKind::Image, url("https://cdn.example/a.jpg"))
                    .with_mime_type("image/jpeg")
                    .with_alt_text("a tree")
                    .with_size_hint(1234),
            )
            .with_media(Media::file(MediaKind::Video, "/srv/media/clip.mp4"))
            .with_facebook(FacebookOptions::new().with_video_title("Clip"))
            .with_instagram(
                InstagramOptions::new()
                    .with_kind(InstagramKind::Reel)
                    .with_share_to_feed(true)
                    .with_cover_url(url("https://cdn.example/cover.jpg"))
                    .with_thumb_offset_ms(1500)
                    .with_location_id("loc-1"),
            )
            .with_linkedin(
                LinkedInOptions::new()
                    .with_visibility(LinkedInVisibility::Connections)
                    .with_video_title("Video")
                    .with_article(
                        LinkedInArticle::new(url("https://example.com/post"))
                            .with_title("Title")
                            .with_description("Desc")
                            .with_thumbnail(Media::url(
                                MediaKind::Image,
                                url("https://cdn.example/t.jpg"),
                            )),
                    ),
            )
            .with_tiktok(
                TikTokOptions::new()
                    .with_privacy_level(TikTokPrivacy::MutualFollowFriends)
                    .with_interactions(false, false, true)
                    .with_commercial_content(TikTokCommercialContent::your_brand())
                    .with_music_usage_confirmed(true),
            )
            .with_gbp(
                GbpOptions::new()
                    .with_topic(GbpTopic::Event)
                    .with_event(GbpEvent::new("Fair", at, at + chrono::Duration::hours(3)))
                    .with_offer(
                        GbpOffer::new()
                            .with_coupon_code("C")
                            .with_redeem_online_url(url("https://example.com/r"))
                            .with_terms_conditions("T&C"),
                    )
                    .with_call_to_action(
                        GbpCallToAction::new("BOOK").with_url(url("https://example.com/b")),
                    )
                    .with_language_code("en-GB"),
            )
            .with_mailchimp(
                MailchimpOptions::new()
                    .with_subject_line("S")
                    .with_preview_text("P")
                    .with_title("T")
                    .with_from_name("F")
                    .with_reply_to("r@example.com")
                    .with_html("<p>x</p>"),
            )
            .with_twitter(
                TwitterOptions::new()
                    .with_reply_to("1")
                    .with_quote_post_id("2"),
            )
    }

    #[test]
    fn posts_and_every_option_type_round_trip_through_json() {
        let post = full_post();
        round_trip(&post);
        let o = &post.options;
        round_trip(o.facebook.as_ref().unwrap());
        round_trip(o.instagram.as_ref().unwrap());
        round_trip(o.linkedin.as_ref().unwrap());
        round_trip(o.linkedin.as_ref().unwrap().article.as_ref().unwrap());
        round_trip(o.tiktok.as_ref().unwrap());
        round_trip(o.gbp.as_ref().unwrap());
        round_trip(o.gbp.as_ref().unwrap().event.as_ref().unwrap());
        round_trip(o.gbp.as_ref().unwrap().offer.as_ref().unwrap());
        round_trip(o.gbp.as_ref().unwrap().call_to_action.as_ref().unwrap());
        round_trip(o.mailchimp.as_ref().unwrap());
        round_trip(o.twitter.as_ref().unwrap());
        round_trip(&PostOptions::default());
        round_trip(&Post::new(ClientRef::new("bare").unwrap()));
        for m in &post.media {
            round_trip(m);
        }
    }

    #[test]
    fn a_post_stored_by_this_version_still_reads() {
        // The stored form, pinned: a change that breaks it breaks queued posts.
        let stored = r#"{
            "text": "Merry",
            "media": [
                {"kind": "image", "source": {"type": "url", "url": "https://cdn.example/a.jpg"}, "mime_type": "image/jpeg"},
                {"kind": "video", "source": {"type": "file", "path": "/srv/media/clip.mp4"}}
            ],
            "link": "https://example.com/x",
            "schedule_at": "2026-12-24T18:00:00Z",
            "client_ref": "post-42",
            "options": {
                "instagram": {"kind": "reel", "share_to_feed": true},
                "linkedin": {"visibility": "CONNECTIONS"},
                "tiktok": {"privacy_level": "SELF_ONLY", "allow_duet": false},
                "gbp": {"topic": "OFFER", "call_to_action": {"action_type": "LEARN_MORE"}},
                "a_platform_added_later": {"anything": 1}
            },
            "a_field_added_later": [1, 2, 3]
        }"#;
        let post: Post = serde_json::from_str(stored).unwrap();
        assert_eq!(post.client_ref.as_str(), "post-42");
        assert_eq!(post.media.len(), 2);
        assert_eq!(
            post.media[1].source,
            MediaSource::File("/srv/media/clip.mp4".into())
        );
        assert_eq!(
            post.options.instagram.as_ref().unwrap().kind,
            InstagramKind::Reel
        );
        assert_eq!(
            post.options.tiktok.as_ref().unwrap().privacy_level,
            Some(TikTokPrivacy::SelfOnly)
        );
        assert_eq!(
            post.options.tiktok.as_ref().unwrap().allow_duet,
            Some(false)
        );
        assert_eq!(post.options.gbp.as_ref().unwrap().topic, GbpTopic::Offer);
        // The smallest stored post: a reference.
        let bare: Post = serde_json::from_str(r#"{"client_ref":"r"}"#).unwrap();
        assert_eq!(bare, Post::new(ClientRef::new("r").unwrap()));
        // A bad reference is refused on the way in, as ClientRef::new refuses it.
        assert!(serde_json::from_str::<Post>(r#"{"client_ref":"has space"}"#).is_err());
    }

    #[test]
    fn in_memory_media_is_refused_when_a_post_is_queued() {
        let post = Post::new(ClientRef::new("b").unwrap())
            .with_text("x")
            .with_media(Media::bytes(MediaKind::Image, vec![1u8, 2, 3]));
        let err = post.check_persistable().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
        assert!(err.message().contains("write the bytes to a file"), "{err}");
        let ser = serde_json::to_string(&post).unwrap_err();
        assert!(ser.to_string().contains("in-memory bytes"), "{ser}");
        assert!(full_post().check_persistable().is_ok());
        let thumb = Post::new(ClientRef::new("t").unwrap()).with_linkedin(
            LinkedInOptions::new().with_article(
                LinkedInArticle::new(Url::parse("https://e.x").unwrap())
                    .with_thumbnail(Media::bytes(MediaKind::Image, vec![1u8])),
            ),
        );
        assert_eq!(
            thumb.check_persistable().unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
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
