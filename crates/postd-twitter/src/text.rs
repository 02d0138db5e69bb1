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
//! media; [`comparable`] undoes what can be undone so reconciliation can
//! compare what was sent with what X holds.

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

fn weigh(s: &str) -> usize {
    let mut total = 0;
    let mut prev_emoji = false;
    let mut joined = false;
    for c in s.chars() {
        let cp = u32::from(c);
        if prev_emoji && (cp == 0xFE0F || (0x1F3FB..=0x1F3FF).contains(&cp)) {
            continue;
        }
        if prev_emoji && cp == 0x200D {
            joined = true;
            continue;
        }
        if joined {
            // The part after a zero-width joiner belongs to the sequence.
            joined = false;
            prev_emoji = true;
            continue;
        }
        let light = cp <= 0x10FF
            || (0x2000..=0x200D).contains(&cp)
            || (0x2010..=0x201F).contains(&cp)
            || (0x2032..=0x2037).contains(&cp);
        prev_emoji = is_emoji(cp);
        total += if light { 1 } else { 2 };
    }
    total
}

/// The mark every URL becomes in [`comparable`].
const URL_MARK: &str = "\u{1}url";

/// `text` in a form that compares equal for what was sent and what X hands
/// back: NFC, entities unescaped, every URL one mark, trailing URLs (X's
/// media links, or a link X moved) dropped, whitespace runs collapsed.
pub(crate) fn comparable(text: &str) -> String {
    let unescaped = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let nfc: String = unescaped.nfc().collect();
    let mut parts: Vec<String> = nfc
        .split_whitespace()
        .map(|w| match url_span(w) {
            Some((lead, trail)) => format!("{lead}{URL_MARK}{trail}"),
            None => w.to_owned(),
        })
        .collect();
    while parts.last().is_some_and(|p| p == URL_MARK) {
        parts.pop();
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
        // An emoji with a skin tone, a ZWJ family, a flag-free heart with a selector: 2 each.
        assert_eq!(weighted_length("👍🏽"), 2);
        assert_eq!(weighted_length("👩\u{200d}👩\u{200d}👧"), 2);
        assert_eq!(weighted_length("❤\u{fe0f}"), 2);
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
        assert_eq!(
            comparable("Fish &amp; chips https://t.co/abc  tonight https://t.co/media"),
            comparable("Fish & chips https://example.com/menu tonight")
        );
        assert_ne!(comparable("Fish & chips"), comparable("Fish & peas"));
        assert_eq!(comparable("  a\r\nb "), "a b");
    }
}
