//! Where a post goes: a page, an account, an organization, a location, an audience.

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

/// The kind of a [`Target`], in the platforms' own terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetKind {
    /// A Facebook Page.
    FacebookPage,
    /// An Instagram professional (business or creator) account.
    InstagramAccount,
    /// A LinkedIn member (person URN).
    LinkedInPerson,
    /// A LinkedIn organization page (organization URN).
    LinkedInOrganization,
    /// A TikTok creator account.
    TikTokAccount,
    /// A Google Business Profile location.
    GbpLocation,
    /// A Mailchimp audience (list).
    MailchimpAudience,
    /// An X account.
    TwitterAccount,
}

impl TargetKind {
    /// The platform this kind of target belongs to.
    pub const fn platform(self) -> Platform {
        match self {
            TargetKind::FacebookPage | TargetKind::InstagramAccount => Platform::Meta,
            TargetKind::LinkedInPerson | TargetKind::LinkedInOrganization => Platform::LinkedIn,
            TargetKind::TikTokAccount => Platform::TikTok,
            TargetKind::GbpLocation => Platform::Gbp,
            TargetKind::MailchimpAudience => Platform::Mailchimp,
            TargetKind::TwitterAccount => Platform::Twitter,
        }
    }
}

/// A place a credential can publish to.
///
/// Targets carry no secrets: a token derived for a target (a Facebook page
/// token) lives in [`TokenSet::derived`](crate::TokenSet::derived) under the target's id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Target {
    /// What the target is.
    pub kind: TargetKind,
    /// The platform's id (page id, IG user id, `urn:li:organization:123`, `locations/456`, list id).
    pub id: String,
    /// A display name, when the platform gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The id of the object this target hangs off (the Facebook Page behind an Instagram account,
    /// the GBP account of a location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Whether the platform says this target can take posts: `Some(false)`
    /// for a target listed but not publishable (a Business Profile location
    /// that cannot operate local posts), which `validate` refuses with
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied);
    /// `None` when unknown (a target built by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_publish: Option<bool>,
}

impl Target {
    /// A target of `kind` with `id`.
    pub fn new(kind: TargetKind, id: impl Into<String>) -> Self {
        Target {
            kind,
            id: id.into(),
            name: None,
            parent_id: None,
            can_publish: None,
        }
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the parent id.
    pub fn with_parent(mut self, parent_id: impl Into<String>) -> Self {
        self.parent_id = Some(parent_id.into());
        self
    }

    /// Records whether the platform says this target can take posts.
    pub fn with_can_publish(mut self, can_publish: bool) -> Self {
        self.can_publish = Some(can_publish);
        self
    }

    /// The platform of this target.
    pub fn platform(&self) -> Platform {
        self.kind.platform()
    }
}
