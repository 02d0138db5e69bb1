//! The fake's public configuration ([`LinkedInFakeConfig`]) and the records its accessors hand
//! back: posts, images and videos.

use std::ops::RangeInclusive;

use serde_json::Value;

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedInFakeConfig {
    /// The app's client id. Default `"li-client-id"`.
    pub client_id: String,
    /// The app's client secret. Default `"li-client-secret"`.
    pub client_secret: String,
    /// The app is approved for programmatic refresh tokens: token answers carry
    /// `refresh_token` / `refresh_token_expires_in` and `grant_type=refresh_token`
    /// works. Default true.
    pub refresh_tokens: bool,
    /// `LinkedIn-Version` months (`YYYYMM`) the fake treats as active; anything
    /// else answers `426 NONEXISTENT_VERSION`. Default `202511..=202611`.
    pub active_versions: RangeInclusive<u32>,
    /// The byte size of a video upload part (the last part may be shorter).
    /// LinkedIn uses 4,194,304; tests may use small parts. Default 4,194,304.
    pub video_part_size: u64,
    /// How many `GET /rest/videos/{urn}` polls answer `PROCESSING` after
    /// `finalizeUpload` before the video is `AVAILABLE` (or
    /// `PROCESSING_FAILED`). Default 1.
    pub video_polls: u32,
    /// The `fileSizeBytes` a video may declare. LinkedIn documents 75 KB to
    /// 500 MB; the default lower bound is 1 byte so tests can use tiny files.
    /// Default `1..=524_288_000`.
    pub video_size_limits: RangeInclusive<u64>,
    /// Calls one member may make to one resource per UTC day (per app).
    /// Default 1,000,000.
    pub member_daily_limit: u32,
    /// Calls the app may make to one resource per UTC day. Default 1,000,000.
    pub app_daily_limit: u32,
    /// Reject URN path keys that are not percent-encoded (`/rest/posts/urn:li:share:1`)
    /// with a `400`, as the Rest.li 2.0 docs require them encoded. Default true.
    pub strict_path_encoding: bool,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording), for
    /// large uploads.
    pub record_requests: bool,
}

impl Default for LinkedInFakeConfig {
    fn default() -> Self {
        LinkedInFakeConfig {
            client_id: "li-client-id".to_owned(),
            client_secret: "li-client-secret".to_owned(),
            refresh_tokens: true,
            active_versions: 202_511..=202_611,
            video_part_size: 4_194_304,
            video_polls: 1,
            video_size_limits: 1..=524_288_000,
            member_daily_limit: 1_000_000,
            app_daily_limit: 1_000_000,
            strict_path_encoding: true,
            record_requests: true,
        }
    }
}

/// A post created through `POST /rest/posts`.
#[derive(Clone, Debug, PartialEq)]
pub struct LiPost {
    /// `urn:li:share:{n}`.
    pub urn: String,
    /// The author URN (`urn:li:person:{sub}` or `urn:li:organization:{id}`).
    pub author: String,
    /// The `commentary` exactly as sent (the API answers it cut to
    /// [`MAX_COMMENTARY_CHARS`](super::MAX_COMMENTARY_CHARS) characters).
    pub commentary: String,
    /// What LinkedIn would show: the commentary cut to
    /// [`MAX_COMMENTARY_CHARS`](super::MAX_COMMENTARY_CHARS) characters, then parsed as little text
    /// ([`render_little_text`](super::render_little_text)).
    pub rendered: String,
    /// `PUBLIC`, `CONNECTIONS`, `LOGGED_IN` or `CONTAINER`.
    pub visibility: String,
    /// `PUBLISHED` or `DRAFT`.
    pub lifecycle_state: String,
    /// The `content` object as sent (`Value::Null` for a text post).
    pub content: Value,
    /// When the post was created (ms since the epoch, fake clock).
    pub created_at: i64,
    /// Deleted with `DELETE /rest/posts/{urn}`.
    pub deleted: bool,
}

/// An image registered with `POST /rest/images?action=initializeUpload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiImage {
    /// `urn:li:image:{id}`.
    pub urn: String,
    /// The `owner` URN.
    pub owner: String,
    /// Bytes received by the last upload.
    pub uploaded_bytes: u64,
    /// [`upload_checksum`](super::upload_checksum) of the last upload.
    pub checksum: u64,
    /// `WAITING_UPLOAD` before the bytes arrived, `AVAILABLE` after.
    pub status: String,
}

/// A video registered with `POST /rest/videos?action=initializeUpload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiVideo {
    /// `urn:li:video:{id}`.
    pub urn: String,
    /// The `owner` URN.
    pub owner: String,
    /// The declared `fileSizeBytes`.
    pub file_size: u64,
    /// How many upload parts `initializeUpload` handed out.
    pub parts: usize,
    /// How many of them have been uploaded.
    pub uploaded_parts: usize,
    /// Bytes received over all parts (a re-sent part counts once).
    pub uploaded_bytes: u64,
    /// A running FNV-1a checksum of the parts' bytes in part order, whatever
    /// order they arrived in (LinkedIn assembles parts by position): equal to
    /// [`upload_checksum`](super::upload_checksum) of the whole file once every part is in.
    /// Re-sending an identical part is ignored; re-sending a part with other
    /// bytes after it was counted spoils the checksum.
    pub checksum: u64,
    /// `WAITING_UPLOAD`, `PROCESSING`, `AVAILABLE` or `PROCESSING_FAILED`.
    pub status: String,
    /// `finalizeUpload` succeeded.
    pub finalized: bool,
    /// A captions file was uploaded to `captionsUploadUrl`.
    pub captions_uploaded: bool,
    /// A thumbnail was uploaded to `thumbnailUploadUrl`.
    pub thumbnail_uploaded: bool,
}
