//! The secrets a request carries, so an echo of one in an answer can be removed.

use reqwest::header;

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
];

/// Every secret a request carries: the authorization header and sensitive
/// query and form parameters, so that an echo in an error body can be removed.
pub(super) fn request_secrets(request: &reqwest::Request) -> Vec<String> {
    let mut out = Vec::new();
    for value in request.headers().get_all(header::AUTHORIZATION) {
        if let Ok(v) = value.to_str() {
            let token = v.split_once(' ').map(|(_, t)| t).unwrap_or(v);
            out.push(token.trim().to_owned());
        }
    }
    let sensitive = |k: &str| SENSITIVE_PARAMS.contains(&k.to_ascii_lowercase().as_str());
    for (k, v) in request.url().query_pairs() {
        if sensitive(&k) {
            out.push(v.into_owned());
        }
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        for (k, v) in url::form_urlencoded::parse(body) {
            if sensitive(&k) {
                out.push(v.into_owned());
            }
        }
    }
    out.retain(|s| s.len() >= 4);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_collected_from_header_query_and_form() {
        crate::http::install_crypto_provider();
        let client = reqwest::Client::new();
        let req = client
            .post("http://localhost/x?access_token=QUERYTOKEN&fields=id")
            .header(header::AUTHORIZATION, "Bearer HEADERTOKEN")
            .form(&[
                ("client_secret", "FORMSECRET"),
                ("grant_type", "authorization_code"),
            ])
            .build()
            .unwrap();
        let s = request_secrets(&req);
        for want in ["QUERYTOKEN", "HEADERTOKEN", "FORMSECRET"] {
            assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
        }
        assert!(!s.iter().any(|x| x == "authorization_code" || x == "id"));
    }
}
