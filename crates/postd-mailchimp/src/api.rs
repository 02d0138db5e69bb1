//! The API client: the data center of each credential, the `/3.0` root,
//! Basic (API key) or Bearer (OAuth) authentication, problem-detail errors,
//! and a gate per account below Mailchimp's 10 simultaneous connections
//! (<https://mailchimp.com/developer/marketing/docs/fundamentals/>).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use postd_core::http::{HttpClient, HttpResponse, RequestContext};
use postd_core::reqwest::header::{AUTHORIZATION, HeaderValue};
use postd_core::reqwest::{Method, RequestBuilder};
use postd_core::secrecy::ExposeSecret;
use postd_core::{Credentials, Error, ErrorKind, Platform, Result};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::config::MailchimpConfig;
use crate::error::parse_error;

/// The key under which OAuth credentials keep their data center
/// (`TokenSet::derived`; read from the metadata call at connect).
pub const DC_KEY: &str = "mailchimp_dc";

/// A data center: `us6`, lowercase letters then digits; it becomes part of a
/// host name, so nothing else is taken.
pub(crate) fn valid_dc(dc: &str) -> bool {
    let letters = dc.bytes().take_while(u8::is_ascii_lowercase).count();
    let digits = dc.len() - letters;
    (2..=4).contains(&letters)
        && (1..=3).contains(&digits)
        && dc.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// The data center of an API key (`{32 hex}-{dc}`), checked before any request.
pub(crate) fn key_dc(key: &str) -> Result<&str> {
    let bad = |why: &str| {
        Error::config(format!(
            "this is not a Mailchimp API key ({why}): a key ends in its data center, like 0123…cdef-us6"
        ))
        .with_platform(Platform::Mailchimp)
    };
    let (head, dc) = key.rsplit_once('-').ok_or_else(|| bad("no -dc suffix"))?;
    if head.len() < 16 || !head.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("the part before the data center is not a key"));
    }
    if !valid_dc(dc) {
        return Err(bad("the data center suffix is malformed"));
    }
    Ok(dc)
}

/// Where and how one credential calls the API.
pub(crate) struct Account {
    /// `{host}/3.0/`.
    pub(crate) root: Url,
    authorization: HeaderValue,
    /// The gate's key: a digest of the credential, never the credential.
    pub(crate) gate: String,
}

fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) cfg: Arc<MailchimpConfig>,
    pub(crate) http: HttpClient,
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The data center of OAuth tokens stored without one, by token digest.
    dcs: Mutex<HashMap<String, String>>,
    /// Bare `403`s and "Request Blocked" pages in a row, by account gate.
    blocked: Mutex<HashMap<String, u32>>,
}

/// Bare `403`s or "Request Blocked" pages in a row after which an account's
/// calls are refused for good (a firewall block, not throttling): a person
/// must act, and the jobs go to the dead-letter queue instead of waiting forever.
pub(crate) const BLOCKED_IN_A_ROW: u32 = 3;

impl Api {
    pub(crate) fn new(cfg: MailchimpConfig, http: HttpClient) -> Self {
        Api {
            cfg: Arc::new(cfg),
            http,
            gates: Mutex::new(HashMap::new()),
            dcs: Mutex::new(HashMap::new()),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, dc: &str) -> Result<Url> {
        match &self.cfg.base_url {
            Some(base) => Ok(base.clone()),
            None => Url::parse(&format!("https://{dc}.api.mailchimp.com/")).map_err(|_| {
                Error::config("the data center does not make a host name")
                    .with_platform(Platform::Mailchimp)
            }),
        }
    }

    /// The data center of an OAuth token: kept with it, or asked of the
    /// metadata endpoint once (tokens stored by other tools carry none).
    async fn token_dc(&self, tokens: &postd_core::TokenSet) -> Result<String> {
        if let Some(dc) = tokens
            .derived
            .get(DC_KEY)
            .map(|d| d.expose_secret().to_owned())
            .filter(|d| valid_dc(d))
        {
            return Ok(dc);
        }
        let key = digest(tokens.access_token.expose_secret());
        let cached = self
            .dcs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(dc) = cached {
            return Ok(dc);
        }
        let (dc, _) = crate::auth::metadata(self, &tokens.access_token).await?;
        self.dcs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, dc.clone());
        Ok(dc)
    }

    /// The root, authentication and gate of `credentials`.
    pub(crate) async fn account(&self, credentials: &Credentials) -> Result<Account> {
        let (dc, authorization, gate) = match credentials {
            Credentials::ApiKey(key) => {
                let key = key.expose_secret();
                let dc = key_dc(key)?;
                // Mailchimp ignores the user name of Basic authentication.
                let value = postd_core::oauth::basic_auth("postd", key)?;
                (dc.to_owned(), value, format!("key:{}", digest(key)))
            }
            Credentials::OAuth(tokens) => {
                let dc = self.token_dc(tokens).await?;
                let token = tokens.access_token.expose_secret();
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        Error::new(
                            ErrorKind::ReauthRequired,
                            "the Mailchimp token is not header text",
                        )
                        .with_platform(Platform::Mailchimp)
                    })?;
                value.set_sensitive(true);
                (dc, value, format!("oauth:{}", digest(token)))
            }
            _ => {
                return Err(
                    Error::config("Mailchimp takes an API key or OAuth credentials")
                        .with_platform(Platform::Mailchimp),
                );
            }
        };
        let host = self.host(&dc)?;
        Ok(Account {
            root: postd_core::config::join(&host, &["3.0", ""]),
            authorization,
            gate,
        })
    }

    /// `{root}{path}` with a query; `path` segments are checked by the caller.
    pub(crate) fn url(&self, account: &Account, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = account.root.clone();
        url.set_path(&format!("{}{path}", account.root.path()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub(crate) fn request(&self, account: &Account, method: Method, url: Url) -> RequestBuilder {
        self.http
            .request(method, url)
            .header(AUTHORIZATION, account.authorization.clone())
            .header("accept", "application/json")
    }

    fn gate(&self, account: &Account) -> Arc<Semaphore> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        gates
            .entry(account.gate.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.cfg.max_concurrency)))
            .clone()
    }

    /// Sends a request, holding one of the account's connection slots for
    /// the whole exchange.
    pub(crate) async fn send(
        &self,
        ctx: RequestContext,
        account: &Account,
        builder: RequestBuilder,
    ) -> Result<HttpResponse> {
        self.send_hiding(ctx, account, builder, &[]).await
    }

    /// [`send`](Self::send) for a request whose body carries `hidden`
    /// secrets (a webhook URL's tag) the HTTP client cannot see: an answer
    /// echoing one has it removed before the parser cuts the answer short.
    pub(crate) async fn send_hiding(
        &self,
        ctx: RequestContext,
        account: &Account,
        builder: RequestBuilder,
        hidden: &[String],
    ) -> Result<HttpResponse> {
        let request = builder.build().map_err(|e| {
            Error::config("could not build the Mailchimp request")
                .with_source(e.without_url())
                .with_platform(Platform::Mailchimp)
        })?;
        let gate = self.gate(account);
        let _slot = gate.acquire_owned().await.map_err(|_| {
            Error::unexpected("the connection gate closed").with_platform(Platform::Mailchimp)
        })?;
        let parse = |status, headers: &postd_core::reqwest::header::HeaderMap, body: &[u8]| {
            parse_error(
                status,
                headers,
                &postd_core::error::replace_secrets(body, hidden),
            )
        };
        let result = self
            .http
            .execute(ctx, request, &parse)
            .await
            .map_err(|e| self.scrub(e));
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(r) => {
                blocked.remove(&account.gate);
                Ok(r)
            }
            Err(e) if e.platform_code() == Some(crate::error::BLOCKED) => {
                let n = blocked.entry(account.gate.clone()).or_insert(0);
                *n = n.saturating_add(1);
                if *n >= BLOCKED_IN_A_ROW {
                    let message = format!(
                        "{} ({BLOCKED_IN_A_ROW} refusals in a row: Mailchimp's firewall is blocking this server; ask Mailchimp support, or send from another address)",
                        e.message()
                    );
                    Err(e
                        .with_kind(ErrorKind::PermissionDenied)
                        .with_message(message)
                        .permanent())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `e` without the OAuth client secret or a webhook secret in its message.
    pub(crate) fn scrub(&self, e: Error) -> Error {
        let secrets: Vec<String> = self
            .cfg
            .client_secret
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .chain(crate::config::secrets(&self.cfg).map(str::to_owned))
            .filter(|s| !s.is_empty())
            .collect();
        if secrets.iter().any(|s| e.message().contains(s.as_str())) {
            let clean = postd_core::error::redact(e.message(), &secrets);
            e.with_message(clean)
        } else {
            e
        }
    }

    /// A `GET`, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        account: &Account,
        url: Url,
    ) -> Result<T> {
        let response = self
            .send(ctx, account, self.request(account, Method::GET, url))
            .await?;
        response.json(&ctx)
    }

    /// A JSON request (`POST`, `PUT`, `PATCH`), decoded.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        account: &Account,
        method: Method,
        url: Url,
        body: &serde_json::Value,
    ) -> Result<T> {
        self.json_hiding(ctx, account, method, url, body, &[]).await
    }

    /// [`json`](Self::json) for a body carrying `hidden` secrets (see [`send_hiding`](Self::send_hiding)).
    pub(crate) async fn json_hiding<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        account: &Account,
        method: Method,
        url: Url,
        body: &serde_json::Value,
        hidden: &[String],
    ) -> Result<T> {
        let builder = self.request(account, method, url).json(body);
        let response = self.send_hiding(ctx, account, builder, hidden).await?;
        response.json(&ctx)
    }

    /// A request whose answer has no body to read (`204`).
    pub(crate) async fn call(
        &self,
        ctx: RequestContext,
        account: &Account,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<HttpResponse> {
        let mut builder = self.request(account, method, url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        self.send(ctx, account, builder).await
    }
}

/// An id Mailchimp issues (a list, campaign, webhook or batch id): 1 to 64 of
/// `A-Z a-z 0-9 - _`, so nothing that changes a path gets in.
pub(crate) fn id<'a>(what: &str, value: &'a str) -> Result<&'a str> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(value)
    } else {
        Err(Error::invalid_content(format!(
            "{what} {:?} is not a Mailchimp id",
            value.chars().take(80).collect::<String>()
        ))
        .with_platform(Platform::Mailchimp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_data_center_and_nothing_else() {
        assert_eq!(
            key_dc("0123456789abcdef0123456789abcdef-us6").unwrap(),
            "us6"
        );
        for bad in [
            "0123456789abcdef0123456789abcdef",
            "0123456789abcdef0123456789abcdef-",
            "0123456789abcdef0123456789abcdef-evil.com/x",
            "0123456789abcdef0123456789abcdef-US6",
            "0123456789abcdef0123456789abcdef-us6666",
            "short-us6",
        ] {
            let e = key_dc(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
            assert!(
                !e.message().contains("0123456789abcdef"),
                "the key is not echoed"
            );
        }
    }
}
