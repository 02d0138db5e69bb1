//! Media behaviours: media that cannot be sent is refused before any call.

use std::path::{Path, PathBuf};

use postd_core::{ErrorKind, Media, MediaKind, Post, Retry, Target};

use super::{Outcome, Subject, ensure, sample_post, unique};

/// A scratch folder for one behaviour, removed when it ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let dir = std::env::temp_dir().join(unique("postd-conformance-media"));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn with_only(s: &Subject<'_>, target: &Target, media: Media) -> Post {
    let mut post = sample_post(s, target, "media");
    post.media.clear();
    post.with_media(media)
}

/// Media no upload can send (a directory, a device such as `/dev/zero`, an
/// empty file, empty bytes, a file over the target's size limit) is
/// [`ErrorKind::MediaRejected`], permanently, and the platform is never
/// called. Kinds the target takes from no local file are checked with
/// empty bytes only (and the behaviour says so).
pub async fn media_unusable_is_refused_before_any_call(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "media: unusable media is MediaRejected before any call";
    let seeded = s.seed();
    let target = &seeded.target;
    let caps = s.caps(target);
    if caps.media.kinds.is_empty() {
        return Outcome::Skipped("the target takes no media".into());
    }
    let scratch = Scratch::new().unwrap_or_else(|e| s.fail(RULE, format!("scratch folder: {e}")));
    let mut notes = Vec::new();
    let mut cases: Vec<(String, Media)> = Vec::new();
    for &kind in caps.media.kinds {
        let (mime, ext) = match kind {
            MediaKind::Video => ("video/mp4", "mp4"),
            MediaKind::Gif => ("image/gif", "gif"),
            MediaKind::Document => ("application/pdf", "pdf"),
            _ => ("image/jpeg", "jpg"),
        };
        let media = |path: &Path| Media::file(kind, path).with_mime_type(mime);
        cases.push((
            format!("empty {kind:?} bytes"),
            Media::bytes(kind, Vec::<u8>::new()).with_mime_type(mime),
        ));
        let probe = with_only(s, target, media(&scratch.path(&format!("probe.{ext}"))));
        if let Err(e) = s.connector.validate(target, &probe) {
            notes.push(format!(
                "the target takes no {kind:?} from a local file ({e}): only empty bytes checked"
            ));
            continue;
        }
        let dir = scratch.path(&format!("folder.{ext}"));
        let empty = scratch.path(&format!("empty.{ext}"));
        let made = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&empty, b""));
        made.unwrap_or_else(|e| s.fail(RULE, format!("scratch files: {e}")));
        cases.push((format!("a directory as {kind:?}"), media(&dir)));
        cases.push((format!("an empty {kind:?} file"), media(&empty)));
        let device = Path::new("/dev/zero");
        if device.exists() {
            cases.push((format!("/dev/zero as {kind:?}"), media(device)));
        } else {
            notes.push("this system has no /dev/zero".into());
        }
        let limit = match kind {
            MediaKind::Video => caps.media.max_video_bytes,
            _ => caps.media.max_image_bytes,
        };
        if let Some(limit) = limit {
            let big = scratch.path(&format!("big.{ext}"));
            // A sparse file: its length is over the limit, its blocks are not written.
            let sized = std::fs::File::create(&big).and_then(|f| f.set_len(limit + 1));
            sized.unwrap_or_else(|e| s.fail(RULE, format!("sparse file: {e}")));
            cases.push((
                format!("a {kind:?} file one byte over {limit}"),
                media(&big),
            ));
        }
    }
    let posts = s.fake.post_ids(target).len();
    let before = s.received_count().await;
    for (what, media) in cases {
        let post = with_only(s, target, media);
        let result = s
            .connector
            .publish(&seeded.credentials, target, &post)
            .await;
        let e = s.expect_kind(RULE, &what, result, ErrorKind::MediaRejected);
        ensure!(
            s,
            RULE,
            e.retry() == Retry::Permanent,
            "{what}: {e} is not permanent"
        );
    }
    let seen = s.received_since(before).await;
    ensure!(
        s,
        RULE,
        seen.is_empty(),
        "unusable media reached the platform: {seen:?}"
    );
    ensure!(
        s,
        RULE,
        s.fake.post_ids(target).len() == posts,
        "unusable media made a post"
    );
    if notes.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Partial(notes)
    }
}
