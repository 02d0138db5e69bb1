//! Meta webhook verification and parsing.
//!
//! - `verify+parse 2KiB event`: `X-Hub-Signature-256` check plus parsing of a
//!   2 KiB delivery (events per second on one core: 1 / time per iteration).
//! - `verify 1MiB body`: signature verification throughput, to compare with
//!   `openssl speed -evp sha256 -bytes 1048576` on the same machine.
//!
//! ```text
//! cargo bench --bench meta_webhook
//! ```

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly on bad setup

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postd::Connector;
use postd::config::Vars;
use postd::connectors::meta::MetaConfig;
use postd::http::HttpClient;
use postd::reqwest::header::{HeaderMap, HeaderValue};
use postd::webhook::{SignatureEncoding, WebhookRequest, hmac_sha256_hex, verify_hmac_sha256};

const SECRET: &str = "bench-app-secret";

fn delivery_of_about(bytes: usize) -> Vec<u8> {
    let head = r#"{"object":"page","entry":[{"id":"102030405060708","time":1732700000,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"102030405060708_998877665544","created_time":1732700000,"from":{"id":"102030405060708","name":"Bench Page"},"message":""#;
    let tail = r#""}}]}]}"#;
    let fill = bytes.saturating_sub(head.len() + tail.len());
    let mut body = Vec::with_capacity(bytes);
    body.extend_from_slice(head.as_bytes());
    body.extend(std::iter::repeat_n(b'x', fill));
    body.extend_from_slice(tail.as_bytes());
    body
}

fn bench(c: &mut Criterion) {
    let vars = Vars::from_pairs([("META_CLIENT_ID", "1234"), ("META_CLIENT_SECRET", SECRET)]);
    let meta = MetaConfig::from_vars(&vars)
        .expect("config")
        .build(HttpClient::builder().build().expect("client"));

    let body = delivery_of_about(2048);
    assert_eq!(body.len(), 2048);
    let mut headers = HeaderMap::new();
    let sig = format!("sha256={}", hmac_sha256_hex(SECRET.as_bytes(), &body));
    headers.insert(
        "x-hub-signature-256",
        HeaderValue::from_str(&sig).expect("header"),
    );
    let request = WebhookRequest::post(headers, body);
    assert_eq!(meta.verify_webhook(&request).expect("valid").len(), 1);

    let mut g = c.benchmark_group("meta_webhook");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify+parse 2KiB event", |b| {
        b.iter(|| black_box(meta.verify_webhook(black_box(&request)).expect("valid")))
    });

    let big = vec![0x5au8; 1024 * 1024];
    let big_sig = hmac_sha256_hex(SECRET.as_bytes(), &big);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("verify 1MiB body", |b| {
        b.iter(|| {
            verify_hmac_sha256(
                SECRET.as_bytes(),
                black_box(&big),
                &big_sig,
                SignatureEncoding::Hex,
            )
            .expect("valid")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
