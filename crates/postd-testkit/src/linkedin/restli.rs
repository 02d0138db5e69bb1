//! Rest.li 2.0 encoding: structured query values (`List(...)`, `(key:value)`) and
//! percent-encoded URN path keys (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>).

use crate::util::pct_decode;

/// A Rest.li 2.0 value: a string leaf, a `List(...)` or a `(key:value,...)` map.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Rv {
    S(String),
    L(Vec<Rv>),
    M(Vec<(String, Rv)>),
}

impl Rv {
    pub(super) fn get(&self, key: &str) -> Option<&Rv> {
        match self {
            Rv::M(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn str(&self) -> Option<&str> {
        match self {
            Rv::S(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses a raw (still percent-encoded) Rest.li 2.0 value: the structural
/// `List(`, `(`, `)`, `,` and `:` must be unencoded, and leaves are
/// percent-decoded.
pub(super) fn parse_restli(raw: &str) -> Result<Rv, String> {
    struct P<'a> {
        s: &'a str,
        i: usize,
    }
    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.as_bytes().get(self.i).copied()
        }
        fn leaf(&mut self) -> String {
            let start = self.i;
            while let Some(c) = self.peek() {
                if b"(),:".contains(&c) {
                    break;
                }
                self.i += 1;
            }
            pct_decode(&self.s[start..self.i].replace('+', " "))
        }
        fn value(&mut self) -> Result<Rv, String> {
            if self.s[self.i..].starts_with("List(") {
                self.i += 5;
                let mut items = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Rv::L(items));
                }
                loop {
                    items.push(self.value()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Rv::L(items));
                        }
                        _ => return Err(format!("malformed List at offset {}", self.i)),
                    }
                }
            }
            if self.peek() == Some(b'(') {
                self.i += 1;
                let mut entries = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Rv::M(entries));
                }
                loop {
                    let key = self.leaf();
                    if self.peek() != Some(b':') || key.is_empty() {
                        return Err(format!("malformed map entry at offset {}", self.i));
                    }
                    self.i += 1;
                    let v = self.value()?;
                    entries.push((key, v));
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Rv::M(entries));
                        }
                        _ => return Err(format!("malformed map at offset {}", self.i)),
                    }
                }
            }
            Ok(Rv::S(self.leaf()))
        }
    }
    let mut p = P { s: raw, i: 0 };
    let v = p.value()?;
    if p.i != raw.len() {
        return Err(format!("unexpected `{}`", &raw[p.i..]));
    }
    Ok(v)
}

/// Percent-encodes a URN for a Rest.li 2.0 path key.
pub(super) fn encode_key(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restli_values_parse_with_encoded_leaves() {
        assert_eq!(
            parse_restli("List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)").unwrap(),
            Rv::L(vec![
                Rv::S("urn:li:share:1".to_owned()),
                Rv::S("urn:li:share:2".to_owned())
            ])
        );
        let v = parse_restli("(timeRange:(start:1,end:2),timeGranularityType:DAY)").unwrap();
        assert_eq!(
            v.get("timeRange").and_then(|r| r.get("end")),
            Some(&Rv::S("2".to_owned()))
        );
        assert!(parse_restli("List(urn:li:share:1)").is_err());
        assert!(parse_restli("(share:urn:li:share:1)").is_err());
        assert_eq!(
            parse_restli("List%28urn%3Ali%3Ashare%3A1%29").unwrap(),
            Rv::S("List(urn:li:share:1)".to_owned())
        );
    }
}
