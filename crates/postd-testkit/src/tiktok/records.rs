//! The fake's public configuration ([`TikTokFakeConfig`]), the creator settings it answers
//! `creator_info/query` with ([`TtCreator`]), and the records its accessors hand back.

use serde_json::Value;

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TikTokFakeConfig {
    /// The app's `client_key`. Default `"awfakeclientkey01"`.
    pub client_key: String,
    /// The app's `client_secret` (it also signs webhooks). Default `"tt-client-secret"`.
    pub client_secret: String,
    /// `expires_in` of a user access token, seconds. Default 7,200 (the 2026 token
    /// management pages: "2 hours"; the classic page said 86,400).
    pub access_ttl: i64,
    /// `refresh_expires_in` of a refresh token, seconds. Default 15,552,000 (180 days, the
    /// 2026 pages; the classic page said 31,536,000).
    pub refresh_ttl: i64,
    /// A refresh answers a new `refresh_token` and the one sent stops working ("Refresh
    /// tokens are rotated"). False answers the same refresh token back, with its remaining
    /// lifetime. Default true.
    pub rotate_refresh_tokens: bool,
    /// How long an authorization code can be exchanged, seconds. The docs give no number.
    /// Default 300.
    pub code_ttl: i64,
    /// The app passed the Direct Post audit. When false, posts must be `SELF_ONLY`
    /// (`403 unaudited_client_can_only_post_to_private_accounts`) and at most 5 users may
    /// post per UTC day. Default true.
    pub audited: bool,
    /// How many status fetches answer each processing stage (`PROCESSING_UPLOAD` after the
    /// last chunk, `PROCESSING_DOWNLOAD` for a pull) before the next one. Default 1.
    pub polls_per_stage: u32,
    /// How many status fetches answer `PUBLISH_COMPLETE` with an empty
    /// `publicaly_available_post_id` (moderation) before the post id appears. Default 0.
    pub moderation_polls: u32,
    /// The chunk sizes the media transfer guide's "5 MB", "64 MB" and "128 MB" mean.
    /// Default [`ChunkLimits::lenient`].
    pub chunk_limits: ChunkLimits,
    /// The largest `video_size` accepted. Default 4,000,000,000 (the transfer guide's 4 GB).
    pub max_video_size: u64,
    /// How many bytes a `PULL_FROM_URL` video "downloads" (`downloaded_bytes`). Default 1,000,000.
    pub pulled_video_size: u64,
    /// Direct posts one creator may make in 24 hours before `spam_risk_too_many_posts`.
    /// The docs give no number. Default `None` (no cap).
    pub daily_post_cap: Option<u32>,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording), for
    /// large uploads.
    pub record_requests: bool,
}

impl Default for TikTokFakeConfig {
    fn default() -> Self {
        TikTokFakeConfig {
            client_key: "awfakeclientkey01".to_owned(),
            client_secret: "tt-client-secret".to_owned(),
            access_ttl: 7_200,
            refresh_ttl: 15_552_000,
            rotate_refresh_tokens: true,
            code_ttl: 300,
            audited: true,
            polls_per_stage: 1,
            moderation_polls: 0,
            chunk_limits: ChunkLimits::lenient(),
            max_video_size: 4_000_000_000,
            pulled_video_size: 1_000_000,
            daily_post_cap: None,
            record_requests: true,
        }
    }
}

/// The byte sizes behind the media transfer guide's chunk rules ("Each chunk must be at
/// least 5 MB but no greater than 64 MB, except for the final chunk, which can be greater
/// than chunk_size (up to 128 MB)"). The guide does not say whether a MB is 10^6 or 2^20
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLimits {
    /// The smallest chunk; videos smaller than this go as one whole chunk.
    pub min: u64,
    /// The largest chunk (but the final); videos larger than this must be chunked.
    pub max: u64,
    /// The largest final chunk (it absorbs the trailing bytes).
    pub final_max: u64,
}

impl ChunkLimits {
    /// Both readings accepted: 5,000,000 / 67,108,864 / 134,217,728 bytes.
    pub const fn lenient() -> Self {
        ChunkLimits {
            min: 5_000_000,
            max: 64 * 1024 * 1024,
            final_max: 128 * 1024 * 1024,
        }
    }

    /// Only what both readings accept: 5,242,880 / 64,000,000 / 128,000,000 bytes.
    pub const fn strict() -> Self {
        ChunkLimits {
            min: 5 * 1024 * 1024,
            max: 64_000_000,
            final_max: 128_000_000,
        }
    }
}

/// What `creator_info/query` answers for a creator, settable with
/// [`TikTokFake::set_creator`](super::TikTokFake::set_creator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtCreator {
    /// `creator_username`.
    pub username: String,
    /// `creator_nickname`.
    pub nickname: String,
    /// `creator_avatar_url`.
    pub avatar_url: String,
    /// `privacy_level_options`: `PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY` for a
    /// public account, `FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY` for a private one.
    pub privacy_level_options: Vec<String>,
    /// `comment_disabled`.
    pub comment_disabled: bool,
    /// `duet_disabled`.
    pub duet_disabled: bool,
    /// `stitch_disabled`.
    pub stitch_disabled: bool,
    /// `max_video_post_duration_sec`.
    pub max_video_post_duration_sec: u32,
}

impl TtCreator {
    /// A public account named `username`: all three public options, nothing disabled, 600 s.
    pub fn public(username: &str) -> Self {
        TtCreator {
            username: username.to_owned(),
            nickname: format!("{username} (nickname)"),
            avatar_url: format!("https://p16-sign.tiktokcdn-us.example/{username}.webp"),
            privacy_level_options: strings(&[
                "PUBLIC_TO_EVERYONE",
                "MUTUAL_FOLLOW_FRIENDS",
                "SELF_ONLY",
            ]),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        }
    }

    /// A private account: the private options, and duet and stitch disabled (the docs say
    /// both are `true` for private accounts).
    pub fn private(username: &str) -> Self {
        TtCreator {
            privacy_level_options: strings(&[
                "FOLLOWER_OF_CREATOR",
                "MUTUAL_FOLLOW_FRIENDS",
                "SELF_ONLY",
            ]),
            duet_disabled: true,
            stitch_disabled: true,
            ..TtCreator::public(username)
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Why a creator cannot post right now ([`TikTokFake::block_posting`](super::TikTokFake::block_posting)):
/// `creator_info/query` answers the code with HTTP 200, the inits with 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PostingBlock {
    /// `spam_risk_too_many_posts`: the creator hit the daily post cap.
    TooManyPosts,
    /// `spam_risk_user_banned_from_posting`.
    BannedFromPosting,
}

impl PostingBlock {
    /// The `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            PostingBlock::TooManyPosts => "spam_risk_too_many_posts",
            PostingBlock::BannedFromPosting => "spam_risk_user_banned_from_posting",
        }
    }
}

/// Which init created a publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishKind {
    /// `/v2/post/publish/video/init/` (Direct Post).
    VideoDirectPost,
    /// `/v2/post/publish/inbox/video/init/` (upload to the creator's inbox).
    VideoInbox,
    /// `/v2/post/publish/content/init/` with `post_mode: DIRECT_POST`.
    PhotoDirectPost,
    /// `/v2/post/publish/content/init/` with `post_mode: MEDIA_UPLOAD`.
    PhotoMediaUpload,
}

impl PublishKind {
    /// Direct posts are published by the app; the others wait in the creator's inbox.
    pub fn is_direct(self) -> bool {
        matches!(
            self,
            PublishKind::VideoDirectPost | PublishKind::PhotoDirectPost
        )
    }

    /// The webhook `publish_type`: `DIRECT_PUBLISH` or `INBOX_SHARE`.
    pub fn publish_type(self) -> &'static str {
        if self.is_direct() {
            "DIRECT_PUBLISH"
        } else {
            "INBOX_SHARE"
        }
    }
}

/// A publish the fake holds, created by one of the inits.
#[derive(Clone, Debug, PartialEq)]
pub struct TtPublish {
    /// The `publish_id` the init answered.
    pub publish_id: String,
    /// The creator's `open_id`.
    pub open_id: String,
    /// Which init created it.
    pub kind: PublishKind,
    /// `FILE_UPLOAD` or `PULL_FROM_URL`.
    pub source: String,
    /// `PROCESSING_UPLOAD`, `PROCESSING_DOWNLOAD`, `SEND_TO_USER_INBOX`, `PUBLISH_COMPLETE` or `FAILED`.
    pub status: String,
    /// The `fail_reason` once `FAILED`.
    pub fail_reason: Option<String>,
    /// `post_info.privacy_level` as sent (inbox uploads have none).
    pub privacy_level: Option<String>,
    /// `post_info` as sent (`Value::Null` for inbox video uploads).
    pub post_info: Value,
    /// `video_size`, `chunk_size`, `total_chunk_count` of a `FILE_UPLOAD`.
    pub chunk_plan: Option<(u64, u64, u64)>,
    /// Chunks received so far.
    pub uploaded_chunks: u64,
    /// Bytes received so far.
    pub uploaded_bytes: u64,
    /// A running FNV-1a checksum of the bytes received, in order: equal to
    /// [`upload_checksum`](super::upload_checksum) of the whole file once complete.
    pub checksum: u64,
    /// `video_url` or `photo_images` of a `PULL_FROM_URL`.
    pub urls: Vec<String>,
    /// The public post id, once `publicaly_available_post_id` carries it.
    pub post_id: Option<String>,
    /// When the init was answered (unix seconds, fake clock).
    pub created_at: i64,
}

/// A video's counts, as `/v2/video/query/` and `/v2/video/list/` answer them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TtMetrics {
    /// `view_count`.
    pub views: u64,
    /// `like_count`.
    pub likes: u64,
    /// `comment_count`.
    pub comments: u64,
    /// `share_count`.
    pub shares: u64,
}

/// A webhook delivery the fake would have sent, in the order the events happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TtWebhook {
    /// The `event`: `post.publish.complete`, `post.publish.failed`,
    /// `post.publish.inbox_delivered`, `post.publish.publicly_available`, `authorization.removed`.
    pub event: String,
    /// The JSON body exactly as delivered (sign it with
    /// [`TikTokFake::signed_webhook`](super::TikTokFake::signed_webhook)).
    pub body: Vec<u8>,
}
