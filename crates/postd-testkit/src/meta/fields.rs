//! Field selection (`fields=a,b{c,d}`), and the small formats answers share: paging cursors and
//! Graph times.

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::errors::{GraphErr, nonexisting_field};
use crate::util::hex;

#[derive(Clone, Debug)]
pub(super) struct FieldSel {
    pub(super) name: String,
    sub: Vec<FieldSel>,
}

pub(super) fn parse_fields(s: &str) -> Vec<FieldSel> {
    fn list(chars: &[char], pos: &mut usize) -> Vec<FieldSel> {
        let mut out = Vec::new();
        let mut name = String::new();
        let mut sub = Vec::new();
        let mut depth_paren = 0;
        while *pos < chars.len() {
            let c = chars[*pos];
            *pos += 1;
            match c {
                '(' => depth_paren += 1,
                ')' => depth_paren -= 1,
                _ if depth_paren > 0 => {}
                '{' => sub = list(chars, pos),
                '}' => break,
                ',' => {
                    push(&mut out, &mut name, &mut sub);
                }
                c if c.is_whitespace() => {}
                c => name.push(c),
            }
        }
        push(&mut out, &mut name, &mut sub);
        out
    }
    fn push(out: &mut Vec<FieldSel>, name: &mut String, sub: &mut Vec<FieldSel>) {
        // Strip modifiers such as `.limit(10)` or `.as(x)`.
        let base = name.split('.').next().unwrap_or("").to_owned();
        if !base.is_empty() {
            out.push(FieldSel {
                name: base,
                sub: std::mem::take(sub),
            });
        }
        name.clear();
        sub.clear();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    list(&chars, &mut pos)
}

/// Keeps the selected fields of a node (with `id` always), checking each
/// selected name against what the node type has.
pub(super) fn select(
    full: &Map<String, Value>,
    sel: Option<&[FieldSel]>,
    defaults: &[&str],
    known: &[&str],
    node: &str,
) -> Result<Value, GraphErr> {
    let owned: Vec<FieldSel>;
    let sel = match sel {
        Some(s) if !s.is_empty() => s,
        _ => {
            owned = defaults
                .iter()
                .map(|d| FieldSel {
                    name: (*d).to_owned(),
                    sub: Vec::new(),
                })
                .collect();
            &owned
        }
    };
    let mut out = Map::new();
    for f in sel {
        if !known.contains(&f.name.as_str()) && !full.contains_key(&f.name) {
            return Err(nonexisting_field(&f.name, node));
        }
        if let Some(v) = full.get(&f.name) {
            out.insert(f.name.clone(), nested(v, &f.sub));
        }
    }
    if let Some(id) = full.get("id") {
        out.insert("id".into(), id.clone());
    }
    Ok(Value::Object(out))
}

fn nested(v: &Value, sub: &[FieldSel]) -> Value {
    match v {
        Value::Object(o) if o.contains_key("id") && !o.contains_key("data") => {
            let mut m = Map::new();
            for f in sub {
                if let Some(x) = o.get(&f.name) {
                    m.insert(f.name.clone(), nested(x, &f.sub));
                }
            }
            m.insert("id".into(), o["id"].clone());
            Value::Object(m)
        }
        other => other.clone(),
    }
}

pub(super) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub(super) fn encode_cursor(index: usize) -> String {
    format!("QVFIU{}", hex(index.to_string().as_bytes()))
}

pub(super) fn decode_cursor(c: &str) -> Option<usize> {
    let h = c.strip_prefix("QVFIU")?;
    let bytes: Option<Vec<u8>> = (0..h.len())
        .step_by(2)
        .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()?.parse().ok()
}

pub(super) fn parse_time(s: &str, now: i64) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t.timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    // A few of PHP strtotime()'s relative forms: "+2 weeks", "+90 minutes", "tomorrow".
    if s.eq_ignore_ascii_case("tomorrow") {
        return Some((now / 86_400 + 1) * 86_400);
    }
    let rest = s.strip_prefix('+')?;
    let mut it = rest.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    let unit = it.next()?.trim_end_matches('s').to_ascii_lowercase();
    let secs = match unit.as_str() {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return None,
    };
    Some(now + n * secs)
}

pub(super) fn fb_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}
