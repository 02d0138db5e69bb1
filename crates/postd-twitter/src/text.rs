//! Text as X counts it and as X hands it back
//! (<https://docs.x.com/resources/fundamentals/counting-characters>).
//!
//! The count: the text is NFC-normalised; code points in U+0000–U+10FF,
//! U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 weigh 1, every other code
//! point 2; an emoji sequence (with its skin-tone modifiers, variation
//! selectors and zero-width-joined parts) weighs 2; every URL weighs 23,
//! whatever its length, because X wraps it in a `t.co` link.
//!
//! Read back, a Post's text has its URLs replaced by `t.co` links, `&`, `<`
//! and `>` escaped as entities, and a trailing `t.co` link per attached
//! media. [`unescape`] undoes the entities (the links are resolved from the
//! Post's `entities` by the reconciliation in `publish.rs`), and
//! [`comparable`] puts what was sent and what X holds in one form.

use unicode_normalization::UnicodeNormalization;

/// What a URL weighs.
pub const URL_WEIGHT: usize = 23;

/// Top-level domains recognised in a URL without a scheme (`example.com`).
/// twitter-text knows every TLD; these are the common ones.
const BARE_TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "uk", "dev", "app", "ly", "me", "ai", "gg", "tv", "info",
    "biz", "de", "fr", "jp", "us", "eu", "xyz", "ca", "au", "in", "es", "it", "nl", "br", "ru",
    "ch", "se", "no", "fi", "pl", "be", "at", "dk", "ie", "nz", "edu", "gov", "shop", "blog",
    "news", "site", "online", "tech", "store",
];

/// X's weighted length of `text`.
///
/// ```
/// use postd_twitter::weighted_length;
///
/// assert_eq!(weighted_length("hello"), 5);
/// assert_eq!(weighted_length("日本"), 4);
/// assert_eq!(weighted_length("see https://example.com/a/very/long/path"), 4 + 23);
/// assert_eq!(weighted_length("👍🏽"), 2);
/// ```
pub fn weighted_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let mut total = 0;
    for word in words(&text) {
        match url_span(word) {
            Some((lead, trail)) => total += weigh(lead) + URL_WEIGHT + weigh(trail),
            None => total += weigh(word),
        }
    }
    total
}

/// Splits on whitespace, keeping the whitespace runs as words of their own.
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in text.char_indices() {
        let sp = c.is_whitespace();
        if in_space.is_some_and(|s| s != sp) {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = Some(sp);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// When `word` is a URL with punctuation around it: the leading and trailing punctuation.
fn url_span(word: &str) -> Option<(&str, &str)> {
    let core = word.trim_end_matches(['.', ',', ')', '!', '?', ':', ';', '"', '\'']);
    let inner = core.trim_start_matches(['(', '"', '\'']);
    if !is_url(inner) {
        return None;
    }
    Some((&core[..core.len() - inner.len()], &word[core.len()..]))
}

fn is_url(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        return host.contains('.') && !host.starts_with('.') && !host.ends_with('.');
    }
    let host = lower.split(['/', '?', '#']).next().unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|tld| BARE_TLDS.contains(tld))
}

fn is_emoji(cp: u32) -> bool {
    (0x1F000..=0x1FAFF).contains(&cp) || (0x2600..=0x27BF).contains(&cp)
}

fn is_regional_indicator(cp: u32) -> bool {
    (0x1F1E6..=0x1F1FF).contains(&cp)
}

/// What continues an emoji sequence without weighing: the emoji variation
/// selector, skin tones, the keycap mark and tag characters (subdivision flags).
fn is_emoji_modifier(cp: u32) -> bool {
    cp == 0xFE0F
        || cp == 0x20E3
        || (0x1F3FB..=0x1F3FF).contains(&cp)
        || (0xE0020..=0xE007F).contains(&cp)
}

fn light(cp: u32) -> bool {
    cp <= 0x10FF
        || (0x2000..=0x200D).contains(&cp)
        || (0x2010..=0x201F).contains(&cp)
        || (0x2032..=0x2037).contains(&cp)
}

/// The weight of text without URLs: each emoji sequence (a flag's two
/// regional indicators, a keycap, a character shown as emoji by U+FE0F, an
/// emoji with its modifiers and zero-width-joined emoji) weighs 2, as X
/// counts it; other code points by their range.
fn weigh(s: &str) -> usize {
    let chars: Vec<u32> = s.chars().map(u32::from).collect();
    let mut total = 0;
    let mut i = 0;
    while i < chars.len() {
        let cp = chars[i];
        let next = chars.get(i + 1).copied();
        if is_regional_indicator(cp) && next.is_some_and(is_regional_indicator) {
            total += 2;
            i += 2;
            continue;
        }
        if cp == 0xFE0F {
            // A stray selector adds nothing.
            i += 1;
            continue;
        }
        let sequence = is_emoji(cp) || next.is_some_and(|n| n == 0xFE0F || n == 0x20E3);
        if !sequence {
            total += if light(cp) { 1 } else { 2 };
            i += 1;
            continue;
        }
        total += 2;
        i += 1;
        loop {
            match (chars.get(i).copied(), chars.get(i + 1).copied()) {
                (Some(m), _) if is_emoji_modifier(m) => i += 1,
                // A joiner continues the sequence only into another emoji.
                (Some(0x200D), Some(n)) if is_emoji(n) => i += 2,
                _ => break,
            }
        }
    }
    total
}

/// The mark every URL becomes in [`comparable`].
const URL_MARK: &str = "\u{1}url";

/// Text X handed back with its entities undone: `&amp;`, `&lt;`, `&gt;`.
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A URL as compared: without its scheme (X expands `example.com` to
/// `http://example.com`), the host lower case, no trailing `/`.
fn canonical_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (host, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    format!(
        "//{}{}",
        host.to_ascii_lowercase(),
        path.trim_end_matches('/')
    )
}

/// `text` (as sent, or as X handed it back with [`unescape`] and its `t.co`
/// links resolved) in a form that compares equal for both: NFC, whitespace
/// runs collapsed, URLs compared without case in the host or a trailing
/// `/`. With `loose`, every URL is one mark and trailing URLs are dropped,
/// for text whose `t.co` links could not be resolved (it matches more
/// texts than it should, so it is a last resort).
pub(crate) fn comparable(text: &str, loose: bool) -> String {
    let nfc: String = text.nfc().collect();
    let mut parts: Vec<String> = nfc
        .split_whitespace()
        .map(|w| match url_span(w) {
            Some((lead, trail)) if loose => format!("{lead}{URL_MARK}{trail}"),
            Some((lead, trail)) => {
                let url = &w[lead.len()..w.len() - trail.len()];
                format!("{lead}{}{trail}", canonical_url(url))
            }
            None => w.to_owned(),
        })
        .collect();
    if loose {
        while parts.last().is_some_and(|p| p == URL_MARK) {
            parts.pop();
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_counting_characters_page() {
        assert_eq!(weighted_length(""), 0);
        assert_eq!(weighted_length(&"a".repeat(280)), 280);
        assert_eq!(weighted_length(&"字".repeat(140)), 280);
        // The light punctuation ranges weigh 1.
        assert_eq!(weighted_length("\u{2014}\u{201c}\u{2032}"), 3);
        // An emoji with a skin tone, a ZWJ family, a heart with a selector: 2 each.
        assert_eq!(weighted_length("👍🏽"), 2);
        assert_eq!(weighted_length("👩\u{200d}👩\u{200d}👧"), 2);
        assert_eq!(weighted_length("❤\u{fe0f}"), 2);
        // A flag, a keycap, a subdivision flag, a text symbol shown as emoji: 2 each.
        assert_eq!(weighted_length("🇫🇷"), 2);
        assert_eq!(weighted_length("1\u{fe0f}\u{20e3}"), 2);
        assert_eq!(
            weighted_length("🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}"),
            2
        );
        assert_eq!(weighted_length("©\u{fe0f}"), 2);
        // A joiner after an emoji into something that is not one joins nothing.
        assert_eq!(weighted_length(&"😀\u{200d}字".repeat(3)), 3 * (2 + 1 + 2));
        // URLs weigh 23, with or without a scheme, punctuation apart.
        assert_eq!(weighted_length("(example.com)."), 1 + 23 + 2);
        assert_eq!(
            weighted_length(&format!("https://x.co/{}", "a".repeat(500))),
            23
        );
        assert_eq!(weighted_length("not.a.url"), 9);
        // NFC first: e + combining acute is one code point.
        assert_eq!(weighted_length("e\u{301}"), 1);
    }

    #[test]
    fn text_read_back_compares_equal_to_what_was_sent() {
        // Resolved links compare exactly, ignoring host case and a trailing slash.
        assert_eq!(
            comparable(
                &unescape("Fish &amp; chips HTTPS://Example.com/menu/"),
                false
            ),
            comparable("Fish & chips https://example.com/menu", false)
        );
        assert_ne!(
            comparable("News https://a.example/1", false),
            comparable("News https://a.example/2", false)
        );
        // A URL typed without a scheme is the one X expands.
        assert_eq!(
            comparable("Visit example.com", false),
            comparable("Visit http://example.com", false)
        );
        // Unresolved t.co links compare loosely, media links dropped.
        assert_eq!(
            comparable(
                "Fish & chips https://t.co/abc tonight https://t.co/media",
                true
            ),
            comparable("Fish & chips https://example.com/menu tonight", true)
        );
        assert_ne!(
            comparable("Fish & chips", false),
            comparable("Fish & peas", false)
        );
        assert_eq!(comparable("  a\r\nb ", false), "a b");
        // What the user typed is not unescaped: "&amp;" sent stays "&amp;".
        assert_ne!(comparable("&amp;", false), comparable("&", false));
    }
}
