//! Little text, the markup of post commentary: how LinkedIn cuts and shows it
//! (learn.microsoft.com, `…/community-management/shares/little-text-format`).

/// LinkedIn silently cuts post commentary to this many characters.
pub const MAX_COMMENTARY_CHARS: usize = 3000;

/// The characters little text reserves; unescaped, LinkedIn cuts the post off
/// at the first one that does not start a valid element.
pub const LITTLE_TEXT_RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// Renders `commentary` the way LinkedIn shows it: cut to
/// [`MAX_COMMENTARY_CHARS`] characters, backslash escapes resolved
/// (`\(` → `(`), mention templates `@[Name](urn:li:person:…)` /
/// `@[Name](urn:li:organization:…)` shown as `Name`, hashtag templates
/// `{hashtag|#|tag}` and plain `#tag` hashtags shown as `#tag`, and the text
/// cut off at the first unescaped reserved character
/// ([`LITTLE_TEXT_RESERVED`]) that does not start one of those elements.
pub fn render_little_text(commentary: &str) -> String {
    let chars: Vec<char> = commentary.chars().take(MAX_COMMENTARY_CHARS).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => match chars.get(i + 1) {
                Some(n) if LITTLE_TEXT_RESERVED.contains(n) => {
                    out.push(*n);
                    i += 2;
                }
                _ => break,
            },
            '@' => match mention_at(&chars, i) {
                Some((name, next)) => {
                    out.push_str(&name);
                    i = next;
                }
                None => break,
            },
            '{' => match hashtag_template_at(&chars, i) {
                Some((sign, tag, next)) => {
                    out.push(sign);
                    out.push_str(&tag);
                    i = next;
                }
                None => break,
            },
            '#' | '\u{FF03}' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|ch| !ch.is_alphanumeric())
                    .map_or(chars.len(), |p| i + 1 + p);
                if end == i + 1 {
                    if c == '#' {
                        break;
                    }
                    out.push(c);
                    i += 1;
                    continue;
                }
                out.extend(&chars[i..end]);
                i = end;
            }
            c if LITTLE_TEXT_RESERVED.contains(&c) => break,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `@[Name](urn:li:person:…|urn:li:organization:…)` at `i`: the shown name and
/// the index after the template.
fn mention_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i + 1) != Some(&'[') {
        return None;
    }
    let mut j = i + 2;
    let mut name = String::new();
    loop {
        match chars.get(j)? {
            '\\' => {
                let n = chars.get(j + 1)?;
                if !LITTLE_TEXT_RESERVED.contains(n) {
                    return None;
                }
                name.push(*n);
                j += 2;
            }
            ']' => break,
            c if LITTLE_TEXT_RESERVED.contains(c) => return None,
            c => {
                name.push(*c);
                j += 1;
            }
        }
    }
    if name.is_empty() || chars.get(j + 1) != Some(&'(') {
        return None;
    }
    let start = j + 2;
    let close = chars[start..].iter().position(|c| *c == ')')? + start;
    let urn: String = chars[start..close].iter().collect();
    let id = urn
        .strip_prefix("urn:li:person:")
        .or_else(|| urn.strip_prefix("urn:li:organization:"))?;
    if id.is_empty() || id.chars().any(|c| LITTLE_TEXT_RESERVED.contains(&c)) {
        return None;
    }
    Some((name, close + 1))
}

/// `{hashtag|#|tag}` (or with the full-width `＃`) at `i`: the sign, the tag
/// and the index after the template.
fn hashtag_template_at(chars: &[char], i: usize) -> Option<(char, String, usize)> {
    let rest: String = chars[i..].iter().take(10).collect();
    if !rest.starts_with("{hashtag|") {
        return None;
    }
    let sign = *chars.get(i + 9)?;
    if !(sign == '#' || sign == '\u{FF03}') || chars.get(i + 10) != Some(&'|') {
        return None;
    }
    let start = i + 11;
    let close = chars[start..].iter().position(|c| *c == '}')? + start;
    let tag: String = chars[start..close].iter().collect();
    if tag.is_empty() || tag.chars().any(|c| LITTLE_TEXT_RESERVED.contains(&c)) {
        return None;
    }
    Some((sign, tag, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_text_cuts_at_the_first_unescaped_reserved_character() {
        assert_eq!(render_little_text("plain text"), "plain text");
        assert_eq!(render_little_text("before (after)"), "before ");
        assert_eq!(render_little_text("before \\(after\\)"), "before (after)");
        assert_eq!(render_little_text("a_b"), "a");
        assert_eq!(render_little_text("a\\_b \\\\ c"), "a_b \\ c");
        assert_eq!(render_little_text("trailing \\"), "trailing ");
        assert_eq!(render_little_text("50% off ~ today"), "50% off ");
    }

    #[test]
    fn little_text_keeps_hashtags_and_mentions() {
        assert_eq!(render_little_text("#rust is #fun"), "#rust is #fun");
        assert_eq!(render_little_text("# alone"), "");
        assert_eq!(render_little_text("{hashtag|#|Tech} yes"), "#Tech yes");
        assert_eq!(
            render_little_text("hi @[Acme Corp](urn:li:organization:1234)!"),
            "hi Acme Corp!"
        );
        assert_eq!(
            render_little_text("hi @[Eddy](urn:li:person:ab-12) there"),
            "hi Eddy there"
        );
        assert_eq!(render_little_text("mail me @ home"), "mail me ");
        assert_eq!(render_little_text("@[Bad](urn:li:share:1)"), "");
    }

    #[test]
    fn little_text_applies_the_3000_character_cut_first() {
        let long = "x".repeat(3100);
        assert_eq!(render_little_text(&long).chars().count(), 3000);
        let late = format!("{}(", "y".repeat(3000));
        assert_eq!(render_little_text(&late).chars().count(), 3000);
    }
}
