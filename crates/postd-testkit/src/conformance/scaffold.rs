//! The checks that need no fake: identity and coherent capabilities, a
//! scaffold's `NotImplemented` answers, validation without I/O, and `Debug`
//! output that hides a secret.
//!
//! Each check panics with a message naming the connector and the rule it
//! broke.

use std::fmt::Debug;

use postd_core::oauth::AuthorizationRequest;
use postd_core::{
    ClientRef, Connector, Credentials, ErrorKind, Media, MediaKind, Post, Target, TokenSet,
    WebhookRequest,
};

/// `platform()` and `capabilities().platform` agree, and the capabilities are coherent.
pub fn check_identity(c: &dyn Connector) {
    let caps = c.capabilities();
    assert_eq!(
        caps.platform,
        c.platform(),
        "{c:?}: capabilities name another platform"
    );
    assert!(
        caps.media.max_items > 0 || caps.media.kinds.is_empty(),
        "{c:?}: media kinds but no items"
    );
    assert!(
        caps.text_only || !caps.media.kinds.is_empty(),
        "{c:?}: needs media but accepts none"
    );
    if let Some(w) = caps.native_scheduling {
        assert!(w.min_ahead < w.max_ahead, "{c:?}: empty scheduling window");
    }
}

/// A scaffold answers every operation with `NotImplemented`, naming its platform and spec.
pub async fn check_scaffold(c: &dyn Connector, target: &Target) {
    check_identity(c);
    assert!(
        !c.capabilities().implemented,
        "{c:?}: a scaffold must say it is not implemented"
    );
    let creds = Credentials::OAuth(TokenSet::new("scaffold-token"));
    let post = Post::new(ClientRef::new("conformance").unwrap()).with_text("hello");
    let redirect = url::Url::parse("https://app.example/callback").unwrap();
    let now = chrono::Utc::now();
    let range = postd_core::DateRange::new(now - chrono::Duration::days(1), now).unwrap();
    let handle = postd_core::PublishHandle::new(c.platform(), &target.id, "scaffold", "h1");
    let errors = vec![
        (
            "authorize_url",
            c.authorize_url(&AuthorizationRequest::new(redirect)).err(),
        ),
        ("refresh", c.refresh(&creds).await.err()),
        ("targets", c.targets(&creds).await.err()),
        ("validate", c.validate(target, &post).err()),
        ("publish", c.publish(&creds, target, &post).await.err()),
        (
            "publish_status",
            c.publish_status(&creds, &handle).await.err(),
        ),
        (
            "find_published",
            c.find_published(&creds, target, &post.fingerprint(now))
                .await
                .err(),
        ),
        (
            "post_metrics",
            c.post_metrics(&creds, target, "p1").await.err(),
        ),
        (
            "target_metrics",
            c.target_metrics(&creds, target, range).await.err(),
        ),
        (
            "webhook_challenge",
            c.webhook_challenge(&WebhookRequest::default()).err(),
        ),
        (
            "verify_webhook",
            c.verify_webhook(&WebhookRequest::default()).err(),
        ),
        ("health_check", c.health_check(&creds).await.err()),
    ];
    // The default refresh plan is computed from the capabilities' refresh
    // model and the credentials' own expiries: facts, not placeholders.
    assert!(c.refresh_plan(&creds, now).is_ok(), "{c:?}: refresh_plan");
    for (op, err) in errors {
        let err = err.unwrap_or_else(|| {
            panic!("{c:?}: {op} returned data; a scaffold must never answer with placeholders")
        });
        assert_eq!(err.kind(), ErrorKind::NotImplemented, "{c:?}: {op}: {err}");
        assert_eq!(
            err.platform(),
            Some(c.platform()),
            "{c:?}: {op} error names no platform"
        );
        assert_eq!(
            err.message(),
            c.platform().scaffold_message(),
            "{c:?}: {op}"
        );
    }
}

/// `validate` rejects, without I/O, posts the capabilities rule out.
pub fn check_validate_rejects_bad_posts(c: &dyn Connector, target: &Target) {
    let caps = c.capabilities();
    let post = |text: &str| Post::new(ClientRef::new("conformance").unwrap()).with_text(text);
    if let Some(max) = caps.text_max_chars {
        let err = c
            .validate(target, &post(&"a".repeat(max + 1)))
            .expect_err("oversized text must fail");
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidContent,
            "{c:?}: oversized text: {err}"
        );
    }
    let empty = Post::new(ClientRef::new("conformance").unwrap());
    let err = c
        .validate(target, &empty)
        .expect_err("an empty post must fail");
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidContent,
        "{c:?}: empty post: {err}"
    );

    let kind = caps
        .media
        .kinds
        .first()
        .copied()
        .unwrap_or(MediaKind::Image);
    let mut crowded = post("too many");
    for _ in 0..=caps.media.max_items {
        crowded = crowded.with_media(Media::bytes(kind, vec![0u8; 16]));
    }
    let err = c
        .validate(target, &crowded)
        .expect_err("too many media items must fail");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::InvalidContent | ErrorKind::MediaRejected
        ),
        "{c:?}: too many media: {err}"
    );
    if !caps.media.kinds.contains(&MediaKind::Document) {
        let doc = post("doc").with_media(Media::bytes(MediaKind::Document, vec![0u8; 16]));
        let err = c
            .validate(target, &doc)
            .expect_err("an unsupported media kind must fail");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::MediaRejected | ErrorKind::InvalidContent | ErrorKind::Unsupported
            ),
            "{c:?}: document media: {err}"
        );
    }
}

/// `value`'s `Debug` output does not contain `canary`.
pub fn check_debug_hides(value: &dyn Debug, canary: &str) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        assert!(
            !text.contains(canary),
            "Debug output leaks a secret: {text}"
        );
    }
}
