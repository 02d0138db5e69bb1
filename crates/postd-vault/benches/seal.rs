//! Seal + open of a typical credential (an OAuth token set with a refresh
//! token and two page tokens, about 600 bytes of JSON).
//!
//! ```text
//! cargo bench -p postd-vault --bench seal
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly on bad setup

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use postd_vault::KeyRing;
use postd_vault::seal::{SealContext, open, seal};

fn bench(c: &mut Criterion) {
    let ring = KeyRing::from_keys([(1, [7u8; 32])]).unwrap();
    let ctx = SealContext {
        tenant: "tenant-42",
        account: "acct-1234",
        platform: "meta",
        field: "credentials",
    };
    let credential = serde_json::json!({
        "kind": "oauth",
        "access_token": "EAAG".to_owned() + &"x".repeat(180),
        "refresh_token": null,
        "derived": [["102030405060708", "EAAP".to_owned() + &"y".repeat(180)], ["17841400000000003", "EAAP".to_owned() + &"z".repeat(180)]],
        "expires_at": 1_790_000_000_000i64,
        "scopes": ["pages_show_list", "pages_manage_posts", "instagram_basic", "instagram_content_publish"],
        "subject": "10001",
        "obtained_at": 1_785_000_000_000i64,
    })
    .to_string()
    .into_bytes();
    let sealed = seal(&ring, &ctx, &credential).unwrap();
    let mut g = c.benchmark_group("vault");
    g.bench_function("seal", |b| {
        b.iter(|| seal(&ring, &ctx, black_box(&credential)).unwrap())
    });
    g.bench_function("open", |b| {
        b.iter(|| open(&ring, &ctx, black_box(&sealed)).unwrap())
    });
    g.bench_function("seal+open", |b| {
        b.iter(|| {
            let s = seal(&ring, &ctx, black_box(&credential)).unwrap();
            open(&ring, &ctx, &s).unwrap()
        })
    });
    g.finish();
    println!(
        "credential payload: {} bytes, sealed: {} bytes",
        credential.len(),
        sealed.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
