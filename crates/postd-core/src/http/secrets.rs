//! The secrets a request carries, so an echo of one in an answer can be removed.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use reqwest::header::{self, HeaderValue};

/// Names whose values in a query string or form body are secret.
const SENSITIVE_PARAMS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "code_verifier",
    "fb_exchange_token",
    "input_token",
    "appsecret_proof",
    "id_token",
    "token",
    "apikey",
    "api_key",
    // TikTok's upload URLs carry one: the right to write the creator's video.
    "upload_token",
];

/// The secrets a request carries (its authorization header and sensitive
/// query and form parameters), so that an echo in an error body can be
/// removed.
///
/// Most answers are successes that need none of this, so only the raw parts
/// are kept (cheap copies: a header value, the query, the form body's
/// shared bytes) and the values are picked out the first time an error asks
/// for them.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Option<Arc<Raw>>);

struct Raw {
    authorization: Vec<HeaderValue>,
    query: Option<Box<str>>,
    form: Option<Bytes>,
    values: OnceLock<Box<[String]>>,
}

impl Secrets {
    /// The raw parts of `request` that may carry secrets.
    pub(crate) fn of(request: &reqwest::Request) -> Secrets {
        let authorization: Vec<HeaderValue> = request
            .headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .cloned()
            .collect();
        let query = request.url().query().map(Box::from);
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let form = is_form
            .then(|| request.body().and_then(|b| b.as_bytes()))
            .flatten()
            .map(Bytes::copy_from_slice);
        if authorization.is_empty() && query.is_none() && form.is_none() {
            return Secrets(None);
        }
        Secrets(Some(Arc::new(Raw {
            authorization,
            query,
            form,
            values: OnceLock::new(),
        })))
    }

    /// The secret values (at least 4 characters each), picked out on first use.
    pub(crate) fn values(&self) -> &[String] {
        match &self.0 {
            None => &[],
            Some(raw) => raw.values.get_or_init(|| raw.pick()),
        }
    }
}

impl Raw {
    fn pick(&self) -> Box<[String]> {
        let mut out = Vec::new();
        for value in &self.authorization {
            if let Ok(v) = value.to_str() {
                let (scheme, token) = v.split_once(' ').unwrap_or(("", v));
                let token = token.trim();
                out.push(token.to_owned());
                // Basic carries the client secret inside base64: an echo of the
                // secret itself is as much a leak as one of the header.
                if scheme.eq_ignore_ascii_case("basic") {
                    basic_secret(token, &mut out);
                }
            }
        }
        if let Some(query) = &self.query {
            sensitive_values(query.as_bytes(), &mut out);
        }
        if let Some(form) = &self.form {
            sensitive_values(form, &mut out);
        }
        out.retain(|s| s.len() >= 4);
        out.into_boxed_slice()
    }
}

/// Pushes the (form-decoded) password of a Basic `user:password` token.
fn basic_secret(token: &str, out: &mut Vec<String>) {
    use base64::Engine as _;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(token) else {
        return;
    };
    let Ok(text) = String::from_utf8(raw) else {
        return;
    };
    if let Some((_, password)) = text.split_once(':') {
        let decoded: String = url::form_urlencoded::parse(format!("={password}").as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        out.push(decoded);
    }
}

/// Every secret a request carries, picked out at once.
#[cfg(test)]
fn request_secrets(request: &reqwest::Request) -> Vec<String> {
    Secrets::of(request).values().to_vec()
}

/// Pushes the decoded values of the sensitive pairs of an
/// `application/x-www-form-urlencoded` string (a query or a form body).
///
/// Every request runs this, so it decodes only the values it keeps: the
/// names it looks for are plain ASCII, so a name is compared as it is sent
/// (an encoded name is decoded first).
fn sensitive_values(encoded: &[u8], out: &mut Vec<String>) {
    for pair in encoded.split(|b| *b == b'&') {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let plain = !name.iter().any(|b| matches!(b, b'%' | b'+'));
        let hit = if plain {
            SENSITIVE_PARAMS
                .iter()
                .any(|s| s.as_bytes().eq_ignore_ascii_case(name))
        } else {
            let decoded: String = url::form_urlencoded::parse(name)
                .map(|(k, _)| k.into_owned())
                .collect();
            SENSITIVE_PARAMS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&decoded))
        };
        if !hit {
            continue;
        }
        if value.iter().any(|b| matches!(b, b'%' | b'+')) {
            // `parse` of `=value` yields the one pair, with the value decoded.
            let mut one = Vec::with_capacity(value.len() + 1);
            one.push(b'=');
            one.extend_from_slice(value);
            out.extend(url::form_urlencoded::parse(&one).map(|(_, v)| v.into_owned()));
        } else {
            out.push(String::from_utf8_lossy(value).into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_collected_from_header_query_and_form() {
        crate::http::install_crypto_provider();
        let client = reqwest::Client::new();
        let req = client
            .post("http://localhost/x?access_token=QUERYTOKEN&fields=id&upload_token=UPLOADTOKEN")
            .header(header::AUTHORIZATION, "Bearer HEADERTOKEN")
            .form(&[
                ("client_secret", "FORMSECRET"),
                ("grant_type", "authorization_code"),
            ])
            .build()
            .unwrap();
        let s = request_secrets(&req);
        for want in ["QUERYTOKEN", "HEADERTOKEN", "FORMSECRET", "UPLOADTOKEN"] {
            assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
        }
        assert!(!s.iter().any(|x| x == "authorization_code" || x == "id"));

        // A client secret sent with HTTP Basic is picked out of the base64.
        let basic = client
            .post("http://localhost/token")
            .header(
                header::AUTHORIZATION,
                crate::oauth::basic_auth("client", "BASIC+SECRET").unwrap(),
            )
            .build()
            .unwrap();
        let s = request_secrets(&basic);
        assert!(s.iter().any(|x| x == "BASIC+SECRET"), "{s:?}");
    }

    #[test]
    fn encoded_names_and_values_are_decoded_and_names_match_in_any_case() {
        let mut out = Vec::new();
        sensitive_values(
            b"fields=id&Access_Token=PLAIN1&%61ccess_token=ENCNAME&token=a%2Bb+c&code&x=1",
            &mut out,
        );
        assert_eq!(out, ["PLAIN1", "ENCNAME", "a+b c", ""]);
    }
}
