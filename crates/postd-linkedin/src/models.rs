//! LinkedIn wire types (private to this crate).

use serde::Deserialize;

/// `GET /v2/userinfo`.
#[derive(Deserialize, Debug)]
pub(crate) struct UserInfo {
    pub(crate) sub: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
}

/// A Rest.li collection.
#[derive(Deserialize, Debug)]
pub(crate) struct Elements<T> {
    #[serde(default = "Vec::new")]
    pub(crate) elements: Vec<T>,
}

/// An entry of `/rest/organizationAcls`.
#[derive(Deserialize, Debug)]
pub(crate) struct OrganizationAcl {
    pub(crate) organization: String,
    #[serde(default)]
    pub(crate) role: Option<String>,
    #[serde(default)]
    pub(crate) state: Option<String>,
}

/// `GET /rest/organizations?ids=List(...)`.
#[derive(Deserialize, Debug)]
pub(crate) struct BatchOrganizations {
    #[serde(default)]
    pub(crate) results: std::collections::BTreeMap<String, Organization>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Organization {
    #[serde(default)]
    pub(crate) localized_name: Option<String>,
}

/// `POST /oauth/v2/introspectToken`.
#[derive(Deserialize, Debug)]
pub(crate) struct Introspection {
    #[serde(default)]
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) expires_at: Option<i64>,
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

/// `{"value": ...}`, the answer of Rest.li actions.
#[derive(Deserialize, Debug)]
pub(crate) struct Value<T> {
    pub(crate) value: T,
}

/// `POST /rest/images?action=initializeUpload`.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageUpload {
    pub(crate) upload_url: String,
    pub(crate) image: String,
}

/// `POST /rest/videos?action=initializeUpload`.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VideoUpload {
    pub(crate) video: String,
    #[serde(default)]
    pub(crate) upload_token: Option<String>,
    #[serde(default)]
    pub(crate) upload_instructions: Vec<UploadInstruction>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UploadInstruction {
    pub(crate) upload_url: String,
    pub(crate) first_byte: u64,
    pub(crate) last_byte: u64,
}

/// `GET /rest/videos/{urn}` and `/rest/images/{urn}`.
#[derive(Deserialize, Debug)]
pub(crate) struct AssetStatus {
    #[serde(default)]
    pub(crate) status: Option<String>,
}

/// A post as `GET /rest/posts?q=author` lists it.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostEntry {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) commentary: Option<String>,
    #[serde(default)]
    pub(crate) created_at: Option<i64>,
    #[serde(default)]
    pub(crate) published_at: Option<i64>,
    #[serde(default)]
    pub(crate) last_modified_at: Option<i64>,
}
