//! A stateful fake of the Mailchimp Marketing API v3: API keys and their data center, OAuth 2
//! and its metadata endpoint, audiences with members, segments and tags, campaigns (content,
//! send checklist, send, schedule, test), batch operations, reports, list webhooks, the limit
//! of simultaneous connections, and problem-detail errors.
//!
//! [`MailchimpFake`] is also a [`PlatformFake`](crate::conformance::PlatformFake) for the
//! behaviour suite (`TargetKind::MailchimpAudience`, the target id the list id; see
//! `conformance.rs` for what a "post" is).
//!
//! [`MailchimpFake`] models the platform as Mailchimp documents it on
//! mailchimp.com/developer (each module cites its pages), not as any client uses it. One fake
//! server plays two hosts, told apart by path:
//!
//! | path | real host |
//! |---|---|
//! | `/3.0/...` | `https://{dc}.api.mailchimp.com` ([`MailchimpFakeConfig::dc`], `us6` by default) |
//! | `POST /oauth2/token`, `GET /oauth2/metadata` | `https://login.mailchimp.com` |
//!
//! What it models (<https://mailchimp.com/developer/marketing/docs/fundamentals/>):
//!
//! - **Authentication**: HTTP Basic with any user name and the API key as password (a bearer
//!   carrying a key is accepted too), or `Authorization: Bearer <OAuth token>`. A key is
//!   `<32 hex>-<dc>`; the fake serves one data center, and a key of another one, an unknown,
//!   revoked or missing key or token answers `401 API Key Invalid` ("Your API key may be
//!   invalid, or you've attempted to access the wrong datacenter.") or `401 API Key Missing`
//!   ([`MailchimpFakeConfig::wrong_dc_forbidden`] answers the other data center
//!   `403 Wrong Datacenter` instead). OAuth codes, tokens that never expire (`expires_in: 0`,
//!   no refresh) and the metadata endpoint: `oauth.rs`.
//! - **Connections**: at most [`MailchimpFakeConfig::max_connections`] (10) requests in
//!   flight per key or token, `429 Too Many Requests` beyond; [`MailchimpFake::throttle`]
//!   answers every call of a credential `429`; [`MailchimpFake::max_in_flight`] reports the
//!   most seen at once.
//! - **Audiences, members, segments, webhooks**: `lists.rs`, `members.rs` (subscriber hashes,
//!   [`subscriber_hash`]; statuses and compliance refusals).
//! - **Campaigns**: `campaigns.rs` (states, checklist, actions); [`MailchimpFake::sends`]
//!   counts the deliveries of a campaign.
//! - **Batches and reports**: `batches.rs`.
//! - `GET /3.0/ping` (`{"health_status": "Everything's Chimpy!"}`) and `GET /3.0/` (the account).
//! - **Partial responses**: `fields` and `exclude_fields` on every `GET` and write answer.
//! - **Webhook deliveries**: Mailchimp signs nothing; deliveries are form-encoded `POST`s
//!   (`type`, `fired_at` as `YYYY-MM-DD HH:MM:SS`, `data[...]`;
//!   <https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/>), built
//!   by [`webhook_form`] and queued by API-made changes in [`MailchimpFake::deliveries`].
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the
//! requests that took effect (a created campaign, an accepted `actions/send`, a member
//! write, a token exchange) after the effect. Every request under `/3.0/` or `/oauth2/` the
//! fake does not model is answered with the loud `421` and fails the test.
//!
//! Choices where the docs are silent are stated in each module. Not modelled: the authorize
//! page, other campaign types (A/B, RSS, multivariate) and actions (`replicate`,
//! `create-resend`), content by `url` or `archive`, creating lists, merge-field and interest
//! definitions, saved-segment conditions, e-commerce, automations, templates, file manager,
//! the report drill-downs, the batch results archive, `DELETE /batches`, webhook delivery
//! itself (the fake queues the bodies), and Mailchimp's 120-second request timeout.
//!
//! ```
//! use postd_testkit::mailchimp::MailchimpFake;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = MailchimpFake::start().await;
//! let account = fake.seed_account("Acme");
//! let key = fake.seed_api_key(&account);
//! let resp = postd_core::reqwest::Client::new()
//!     .get(format!("{}/3.0/ping", fake.uri()))
//!     .basic_auth("anystring", Some(&key))
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 200);
//! # });
//! ```

mod batches;
mod campaigns;
mod checklist;
mod conformance;
mod errors;
mod hash;
mod lists;
mod members;
mod oauth;
mod records;
mod request;
mod routing;
mod state;
#[cfg(test)]
mod tests;

pub use self::errors::{
    API_KEY_INVALID_DETAIL, ERROR_TYPE, INVALID_RESOURCE_DETAIL, NOT_READY_DETAIL,
    QUARTER_HOUR_DETAIL, TOO_MANY_REQUESTS_DETAIL, oauth_error, problem,
};
pub use self::hash::subscriber_hash;
pub use self::records::{
    MailchimpBatchResult, MailchimpCampaign, MailchimpDelivery, MailchimpFakeConfig,
    MailchimpMember, MailchimpReport, MailchimpWebhook,
};

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::json;
use url::Url;

use self::routing::Router;
use self::state::{
    AccountRec, CampaignRec, CodeRec, CredRec, ListRec, MemberRec, SegmentRec, State,
};
use crate::FakeServer;

/// The Mailchimp fake. Start it, seed accounts, keys and audiences, point the connector's
/// API base (without `/3.0`) and login base at [`MailchimpFake::uri`], and read the
/// platform's state back through the accessors.
pub struct MailchimpFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: MailchimpFakeConfig,
}

impl fmt::Debug for MailchimpFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("MailchimpFake")
            .field("uri", &self.server.uri())
            .field("accounts", &st.accounts.len())
            .field("lists", &st.lists.len())
            .field("campaigns", &st.campaigns.len())
            .finish_non_exhaustive()
    }
}

/// A form-encoded webhook body: `type={kind}&fired_at={fired_at}&data[k]=v...`, the keys of
/// `data` written inside `data[...]` (so `merges][FNAME` gives `data[merges][FNAME]`).
pub fn webhook_form(kind: &str, fired_at: &str, data: &[(&str, &str)]) -> Vec<u8> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("type", kind)
        .append_pair("fired_at", fired_at);
    for (k, v) in data {
        s.append_pair(&format!("data[{k}]"), v);
    }
    s.finish().into_bytes()
}

/// `body` as Mailchimp delivers it: a `POST` with `Content-Type:
/// application/x-www-form-urlencoded` and `User-Agent: MailChimp`, and no signature.
pub fn webhook_request(body: &[u8]) -> postd_core::WebhookRequest {
    use postd_core::reqwest::header::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert("user-agent", HeaderValue::from_static("MailChimp"));
    postd_core::WebhookRequest::post(headers, body.to_vec())
}

impl MailchimpFake {
    /// Starts a fake with the default [`MailchimpFakeConfig`].
    pub async fn start() -> MailchimpFake {
        MailchimpFake::start_with(MailchimpFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: MailchimpFakeConfig) -> MailchimpFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit mailchimp", move |req| router.handle(req))
            .await;
        MailchimpFake {
            server,
            state,
            config,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = self.state.lock().unwrap();
        st.tick();
        st
    }

    /// The underlying [`FakeServer`] (fault injection, unmatched requests, wiremock).
    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// The base URI, `http://127.0.0.1:PORT`: the API is under `/3.0`, OAuth under `/oauth2`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The configuration the fake was started with.
    pub fn config(&self) -> &MailchimpFakeConfig {
        &self.config
    }

    /// A new account (on a paid plan) named `name`; returns its `account_id`.
    pub fn seed_account(&self, name: &str) -> String {
        self.seed_account_with(name, None)
    }

    fn seed_account_with(&self, name: &str, canary: Option<&str>) -> String {
        let mut st = self.st();
        let id = st.hex_id(25);
        let user_id = st.next();
        let login = name.to_lowercase().replace(' ', "");
        st.accounts.insert(
            id.clone(),
            AccountRec {
                id: id.clone(),
                name: name.to_owned(),
                user_id,
                login_name: login.clone(),
                login_email: format!("{login}@example.com"),
                paid: true,
                unverified_domains: Default::default(),
                canary: canary.map(str::to_owned),
            },
        );
        id
    }

    /// A new API key of `account` for the fake's data center.
    pub fn seed_api_key(&self, account: &str) -> String {
        let dc = self.config.dc.clone();
        self.seed_api_key_for_dc(account, &dc)
    }

    /// A new API key of `account` whose suffix names data center `dc` (another data center's
    /// key is refused by this one).
    pub fn seed_api_key_for_dc(&self, account: &str, dc: &str) -> String {
        let mut st = self.st();
        let key = format!("{}-{dc}", st.hex_id(32));
        st.keys.insert(
            key.clone(),
            CredRec {
                account: account.to_owned(),
                revoked: false,
            },
        );
        key
    }

    /// Revokes (deletes) an API key: every call with it answers `401 API Key Invalid`.
    pub fn revoke_key(&self, key: &str) {
        if let Some(k) = self.st().keys.get_mut(key) {
            k.revoked = true;
        }
    }

    /// A new OAuth access token of `account`, as an exchange would have issued it.
    pub fn seed_token(&self, account: &str) -> String {
        let mut st = self.st();
        let mut token = st.hex_id(32);
        if let Some(c) = st.accounts.get(account).and_then(|a| a.canary.clone()) {
            token = format!("{c}{token}");
        }
        st.tokens.insert(
            token.clone(),
            CredRec {
                account: account.to_owned(),
                revoked: false,
            },
        );
        token
    }

    /// The user removed the app: the token answers `401` and the metadata endpoint
    /// `invalid_token`.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// A one-time authorization code, as if `account`'s user approved the app and Mailchimp
    /// redirected to `redirect_uri`.
    pub fn issue_code(&self, account: &str, redirect_uri: &str) -> String {
        let mut st = self.st();
        let code = st.hex_id(32);
        st.codes.insert(
            code.clone(),
            CodeRec {
                account: account.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                used: false,
            },
        );
        code
    }

    /// Puts `account` on a paid plan or on the free one (which cannot schedule campaigns).
    pub fn set_paid_plan(&self, account: &str, paid: bool) {
        if let Some(a) = self.st().accounts.get_mut(account) {
            a.paid = paid;
        }
    }

    /// Marks `domain` verified or not for `account`; a reply-to address on an unverified
    /// domain fails the send checklist. Domains are verified until marked otherwise.
    pub fn set_domain_verified(&self, account: &str, domain: &str, verified: bool) {
        if let Some(a) = self.st().accounts.get_mut(account) {
            let d = domain.to_ascii_lowercase();
            if verified {
                a.unverified_domains.remove(&d);
            } else {
                a.unverified_domains.insert(d);
            }
        }
    }

    /// A new audience of `account` with its `campaign_defaults`; returns the list id.
    pub fn seed_list(
        &self,
        account: &str,
        name: &str,
        from_name: &str,
        from_email: &str,
    ) -> String {
        let mut st = self.st();
        let id = st.hex_id(10);
        let web_id = st.next();
        let now = st.now();
        st.lists.insert(
            id.clone(),
            ListRec {
                id: id.clone(),
                web_id,
                account: account.to_owned(),
                name: name.to_owned(),
                from_name: from_name.to_owned(),
                from_email: from_email.to_owned(),
                date_created: now,
            },
        );
        id
    }

    /// Puts `email` on `list` with `status` (no webhook event); returns its subscriber hash.
    pub fn seed_member(&self, list: &str, email: &str, status: &str) -> String {
        let mut st = self.st();
        let hash = subscriber_hash(email);
        let web_id = st.next();
        let now = st.now();
        st.members.insert(
            (list.to_owned(), hash.clone()),
            MemberRec {
                email: email.to_owned(),
                status: status.to_owned(),
                merge_fields: json!({}),
                tags: Vec::new(),
                web_id,
                timestamp_opt: now,
            },
        );
        hash
    }

    /// A saved segment of `list` holding `emails`; returns its id.
    pub fn seed_segment(&self, list: &str, name: &str, emails: &[&str]) -> u64 {
        let mut st = self.st();
        let id = st.next();
        st.segments.push(SegmentRec {
            id,
            list_id: list.to_owned(),
            name: name.to_owned(),
            kind: "saved",
            members: emails.iter().map(|e| subscriber_hash(e)).collect(),
            processing: false,
        });
        id
    }

    /// Marks a segment as still processing (the checklist refuses it) or done.
    pub fn set_segment_processing(&self, segment_id: u64, processing: bool) {
        if let Some(s) = self.st().segments.iter_mut().find(|s| s.id == segment_id) {
            s.processing = processing;
        }
    }

    /// Every campaign, in creation order.
    pub fn campaigns(&self) -> Vec<MailchimpCampaign> {
        self.st().campaigns.iter().map(public_campaign).collect()
    }

    /// The campaign `id`.
    pub fn campaign(&self, id: &str) -> Option<MailchimpCampaign> {
        self.st()
            .campaigns
            .iter()
            .find(|c| c.id == id)
            .map(public_campaign)
    }

    /// How many times campaign `id` started delivery (0 for an unknown id).
    pub fn sends(&self, id: &str) -> u32 {
        self.st()
            .campaigns
            .iter()
            .find(|c| c.id == id)
            .map_or(0, |c| c.sends)
    }

    /// Sets the engagement the report of campaign `id` answers once it is `sent`.
    pub fn set_report(&self, id: &str, report: MailchimpReport) {
        if let Some(c) = self.st().campaigns.iter_mut().find(|c| c.id == id) {
            c.report = report;
        }
    }

    /// Every campaign that is `sending` is `sent` (as if delivery had finished).
    pub fn finish_sending(&self) {
        let mut st = self.st();
        let sending: Vec<usize> = (0..st.campaigns.len())
            .filter(|&i| st.campaigns[i].status == "sending")
            .collect();
        for i in sending {
            st.finish_sending(i);
        }
    }

    /// The member `email` of `list` (archived ones included).
    pub fn member(&self, list: &str, email: &str) -> Option<MailchimpMember> {
        let hash = subscriber_hash(email);
        self.st()
            .members
            .get(&(list.to_owned(), hash.clone()))
            .map(|m| MailchimpMember {
                list_id: list.to_owned(),
                email_address: m.email.clone(),
                id: hash,
                status: m.status.clone(),
                tags: m.tags.clone(),
                merge_fields: m.merge_fields.clone(),
            })
    }

    /// The webhooks of `list`.
    pub fn webhooks(&self, list: &str) -> Vec<MailchimpWebhook> {
        self.st()
            .webhooks
            .iter()
            .filter(|w| w.list_id == list)
            .map(|w| MailchimpWebhook {
                id: w.id.clone(),
                list_id: w.list_id.clone(),
                url: w.url.clone(),
                events: w.events.clone(),
                sources: w.sources.clone(),
            })
            .collect()
    }

    /// With `reachable` false, Mailchimp's validation `GET` of `url` fails and a webhook
    /// with it is refused.
    pub fn set_url_reachable(&self, url: &str, reachable: bool) {
        let mut st = self.st();
        if reachable {
            st.unreachable.remove(url);
        } else {
            st.unreachable.insert(url.to_owned());
        }
    }

    /// The URLs Mailchimp sent its validation `GET` to, in order.
    pub fn webhook_validations(&self) -> Vec<String> {
        self.st().validations.clone()
    }

    /// Every delivery Mailchimp would have POSTed to a list webhook, in order.
    pub fn deliveries(&self) -> Vec<MailchimpDelivery> {
        self.st().outbox.clone()
    }

    /// The results of batch `id`, once it has finished.
    pub fn batch_results(&self, id: &str) -> Option<Vec<MailchimpBatchResult>> {
        self.st()
            .batches
            .iter()
            .find(|b| b.id == id)
            .and_then(|b| b.results.clone())
    }

    /// With `on`, every API call with `credential` (a key or a token) answers `429 Too Many
    /// Requests`; without, the connection limit alone applies.
    pub fn throttle(&self, credential: &str, on: bool) {
        let mut st = self.st();
        if on {
            st.throttled.insert(credential.to_owned());
        } else {
            st.throttled.remove(credential);
        }
    }

    /// The most requests of `credential` the fake had in flight at once.
    pub fn max_in_flight(&self, credential: &str) -> usize {
        self.st()
            .max_in_flight
            .get(credential)
            .copied()
            .unwrap_or(0)
    }

    /// Moves the fake clock forward (or back) by `seconds`; campaigns and batches move on.
    pub fn advance_time(&self, seconds: i64) {
        self.state.lock().unwrap().clock_offset += seconds;
        drop(self.st());
    }

    /// The fake clock, unix seconds.
    pub fn now(&self) -> i64 {
        self.st().now()
    }

    /// Every request the fake answered, as `METHOD /path[?query]`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }
}

fn public_campaign(c: &CampaignRec) -> MailchimpCampaign {
    MailchimpCampaign {
        id: c.id.clone(),
        account_id: c.account.clone(),
        list_id: c.list_id.clone(),
        segment_id: c.segment_id,
        status: c.status.clone(),
        settings: c.settings.clone(),
        html: c.html.clone(),
        plain_text: c.plain_text.clone(),
        schedule_time: c.schedule_time,
        send_time: c.send_time,
        emails_sent: c.emails_sent,
        sends: c.sends,
        tests: c.tests.clone(),
    }
}
