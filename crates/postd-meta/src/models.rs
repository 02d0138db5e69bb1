//! Graph API wire types (private to this crate).

use serde::Deserialize;

use crate::error::GraphError;

/// `{"id": "..."}`, the answer of most creates.
#[derive(Deserialize, Debug)]
pub(crate) struct Id {
    pub(crate) id: String,
}

/// `POST /{page}/photos`.
#[derive(Deserialize, Debug)]
pub(crate) struct PhotoCreated {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) post_id: Option<String>,
}

/// A page of a Graph collection.
#[derive(Deserialize, Debug)]
pub(crate) struct Paged<T> {
    #[serde(default = "Vec::new")]
    pub(crate) data: Vec<T>,
    #[serde(default)]
    pub(crate) paging: Option<Paging>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct Paging {
    #[serde(default)]
    pub(crate) cursors: Option<Cursors>,
    #[serde(default)]
    pub(crate) next: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct Cursors {
    #[serde(default)]
    pub(crate) after: Option<String>,
}

impl<T> Paged<T> {
    /// The cursor of the next page, when there is one.
    pub(crate) fn next_cursor(&self) -> Option<String> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.clone()
    }
}

/// An entry of `/me/accounts`.
#[derive(Deserialize, Debug)]
pub(crate) struct Account {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<postd_core::secrecy::SecretString>,
    #[serde(default)]
    pub(crate) tasks: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) instagram_business_account: Option<InstagramAccount>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct InstagramAccount {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) username: Option<String>,
}

/// `GET /debug_token`.
#[derive(Deserialize, Debug)]
pub(crate) struct DebugToken {
    pub(crate) data: DebugTokenData,
}

#[derive(Deserialize, Debug, Default)]
pub(crate) struct DebugTokenData {
    #[serde(default)]
    pub(crate) is_valid: bool,
    /// 0 means the token does not expire.
    #[serde(default)]
    pub(crate) expires_at: Option<i64>,
    #[serde(default)]
    pub(crate) data_access_expires_at: Option<i64>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    #[serde(default)]
    pub(crate) user_id: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<GraphError>,
}

/// `GET /{container}?fields=status_code,status`.
#[derive(Deserialize, Debug)]
pub(crate) struct ContainerStatus {
    #[serde(default)]
    pub(crate) status_code: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
}

/// `POST /{ig}/media` with `upload_type=resumable`.
#[derive(Deserialize, Debug)]
pub(crate) struct ResumableContainer {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) uri: Option<String>,
}

/// `GET /{ig}/content_publishing_limit`.
#[derive(Deserialize, Debug)]
pub(crate) struct PublishingLimit {
    #[serde(default)]
    pub(crate) quota_usage: Option<u64>,
    #[serde(default)]
    pub(crate) config: Option<PublishingLimitConfig>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct PublishingLimitConfig {
    #[serde(default)]
    pub(crate) quota_total: Option<u64>,
}

/// An Instagram media object (`/{ig}/media`, `/{media}`).
#[derive(Deserialize, Debug)]
pub(crate) struct IgMedia {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) caption: Option<String>,
    #[serde(default)]
    pub(crate) timestamp: Option<String>,
    #[serde(default)]
    pub(crate) permalink: Option<String>,
    #[serde(default)]
    pub(crate) media_product_type: Option<String>,
}

/// A Facebook Page post (`/{page}/published_posts`, `/scheduled_posts`).
#[derive(Deserialize, Debug)]
pub(crate) struct PagePost {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) created_time: Option<String>,
    #[serde(default)]
    pub(crate) permalink_url: Option<String>,
}

/// `GET /{video}?fields=status`.
#[derive(Deserialize, Debug)]
pub(crate) struct VideoStatus {
    #[serde(default)]
    pub(crate) status: Option<VideoStatusInner>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct VideoStatusInner {
    #[serde(default)]
    pub(crate) video_status: Option<String>,
}

/// `GET /upload:<session>`.
#[derive(Deserialize, Debug)]
pub(crate) struct UploadOffset {
    #[serde(default)]
    pub(crate) file_offset: Option<u64>,
}

/// An insights row.
#[derive(Deserialize, Debug)]
pub(crate) struct InsightRow {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) period: Option<String>,
    #[serde(default)]
    pub(crate) values: Vec<InsightValue>,
    #[serde(default)]
    pub(crate) total_value: Option<InsightValue>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct InsightValue {
    #[serde(default)]
    pub(crate) value: serde_json::Value,
    #[serde(default)]
    pub(crate) end_time: Option<String>,
}

/// Parses Graph's time strings (`2025-01-01T07:00:00+0000`) and RFC 3339.
pub(crate) fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_times_parse() {
        assert!(parse_time("2025-01-01T07:00:00+0000").is_some());
        assert!(parse_time("2025-01-01T07:00:00Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
