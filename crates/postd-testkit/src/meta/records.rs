//! The fake's public configuration ([`MetaFakeConfig`]) and the records its accessors hand
//! back: posts, photos, videos, upload sessions, containers, media, token uses.

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFakeConfig {
    /// The app id (`client_id`). Default `"1234567890"`.
    pub app_id: String,
    /// The app secret. Default `"fake-app-secret"`.
    pub app_secret: String,
    /// The Verify Token set in the app dashboard's Webhooks product, which
    /// Meta's endpoint verification request carries as `hub.verify_token`
    /// (<https://developers.facebook.com/docs/graph-api/webhooks/getting-started#configure-webhooks-product>).
    /// Default `"fake-verify-token"`.
    pub webhook_verify_token: String,
    /// How many status polls a video / reel / video-story container answers
    /// `IN_PROGRESS` before `FINISHED`. Default 2.
    pub container_polls: u32,
    /// The same for image and carousel containers. Default 0 (ready at once).
    pub image_container_polls: u32,
    /// How many `?fields=status` polls a Facebook video answers `processing`
    /// before `ready`. Default 1.
    pub video_polls: u32,
    /// `config.quota_total` of `content_publishing_limit`: API-published posts
    /// allowed per rolling 24 h. Default 100.
    pub quota_total: u32,
    /// Every call made with a user or page token must carry `appsecret_proof`
    /// ("Require App Secret" switched on). Default false.
    pub require_appsecret_proof: bool,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording), for
    /// large uploads.
    pub record_requests: bool,
}

impl Default for MetaFakeConfig {
    fn default() -> Self {
        MetaFakeConfig {
            app_id: "1234567890".to_owned(),
            app_secret: "fake-app-secret".to_owned(),
            webhook_verify_token: "fake-verify-token".to_owned(),
            container_polls: 2,
            image_container_polls: 0,
            video_polls: 1,
            quota_total: 100,
            require_appsecret_proof: false,
            record_requests: true,
        }
    }
}

/// A post on a Facebook Page's feed (a status, link, multi-photo or photo post).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbPost {
    /// `{page-id}_{post-id}`.
    pub id: String,
    /// The `message`.
    pub message: Option<String>,
    /// The `link`.
    pub link: Option<String>,
    /// Visible on the Page: published now, or scheduled and its time has come.
    pub published: bool,
    /// The scheduled publish time (unix seconds), for scheduled posts.
    pub scheduled_publish_time: Option<i64>,
    /// The `media_fbid`s of `attached_media` (or the photo of a photo post).
    pub attached_media: Vec<String>,
    /// When the post was created (unix seconds, fake clock).
    pub created_time: i64,
}

/// A photo uploaded to a Page's `/photos` edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbPhoto {
    /// The photo id.
    pub id: String,
    /// Published as its own post (`published` defaulted or was true).
    pub published: bool,
    /// The `url` it was fetched from, when given.
    pub url: Option<String>,
    /// Bytes of a multipart `source` file (0 for `url`).
    pub uploaded_bytes: usize,
    /// The `caption` (or `message`).
    pub caption: Option<String>,
    /// Uploaded with `temporary=true`.
    pub temporary: bool,
    /// The feed post the photo made, when published.
    pub post_id: Option<String>,
}

/// A video posted to a Page's `/videos` edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbVideo {
    /// The video id.
    pub id: String,
    /// The `title`.
    pub title: Option<String>,
    /// The `description`.
    pub description: Option<String>,
    /// The Resumable Upload API handle given as `fbuploader_video_file_chunk`.
    pub upload_handle: Option<String>,
    /// The `file_url`, when given.
    pub file_url: Option<String>,
    /// Published (`published` defaulted or was true and no schedule).
    pub published: bool,
    /// Bytes of a multipart `source` file, or of the upload behind `upload_handle`.
    pub uploaded_bytes: u64,
}

/// A Resumable Upload API session (`upload:{id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSession {
    /// The session id as returned, `upload:...` (including any `?sig=`).
    pub id: String,
    /// The declared `file_length`.
    pub file_length: u64,
    /// Bytes received so far.
    pub received: u64,
    /// The file handle (`h`), once every byte arrived.
    pub handle: Option<String>,
    /// The declared `file_type`.
    pub file_type: String,
    /// The declared `file_name`, when given.
    pub file_name: Option<String>,
    /// FNV-1a 64 of the bytes received so far, in order (see
    /// [`upload_checksum`](super::upload_checksum)).
    pub checksum: u64,
}

/// An Instagram media container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    /// The container id (`creation_id`).
    pub id: String,
    /// The Instagram professional account it belongs to.
    pub ig_user_id: String,
    /// The requested `media_type`: `IMAGE` (the default), `VIDEO`, `REELS`, `STORIES` or `CAROUSEL`.
    pub media_type: String,
    /// `status_code` as the next poll would see it before counting that poll:
    /// `IN_PROGRESS`, `FINISHED`, `ERROR`, `EXPIRED` or `PUBLISHED`.
    pub status_code: String,
    /// The caption.
    pub caption: Option<String>,
    /// Carousel children, in order.
    pub children: Vec<String>,
    /// Bytes received through the resumable upload host.
    pub uploaded_bytes: u64,
    /// Created with `is_carousel_item=true`.
    pub is_carousel_item: bool,
    /// The `image_url`.
    pub image_url: Option<String>,
    /// The `video_url` (or the `file_url` header of a hosted resumable upload).
    pub video_url: Option<String>,
    /// The `upload_type` (`resumable`).
    pub upload_type: Option<String>,
    /// FNV-1a 64 of the bytes received through the resumable upload host (see
    /// [`upload_checksum`](super::upload_checksum)).
    pub checksum: u64,
}

/// A published Instagram media object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgMedia {
    /// The IG media id (`media_publish`'s answer).
    pub id: String,
    /// The container it was published from.
    pub container_id: String,
    /// The caption.
    pub caption: Option<String>,
    /// `IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// `FEED`, `REELS` or `STORY`.
    pub media_product_type: String,
    /// The permalink.
    pub permalink: String,
    /// When it was published (unix seconds, fake clock).
    pub timestamp: i64,
}

/// How a request carried its access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenVia {
    /// `Authorization: Bearer <token>`.
    BearerHeader,
    /// `Authorization: OAuth <token>`.
    OAuthHeader,
    /// An `access_token` query parameter.
    Query,
    /// An `access_token` field of a form, JSON or multipart body.
    Body,
    /// No access token.
    None,
}

/// One request's token transport, as recorded by the fake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUse {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// How the token travelled.
    pub via: TokenVia,
    /// True when the query string carried `access_token` (even if a header did too).
    pub in_query: bool,
}
