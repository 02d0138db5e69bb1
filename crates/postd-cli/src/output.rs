//! What `postd` prints: aligned tables and `key: value` lines for people,
//! JSON (one document on stdout) for scripts.
//!
//! Nothing printed here ever holds a token: the values come from records and
//! views that carry no secrets, and the library types' `Debug` redacts.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use postd_core::TargetKind;
use postd_engine::DeliveryTarget;
use serde::Serialize;

use crate::error::{CliError, Result};

/// Writes `text` to stdout. A closed pipe (`postd ... | head`) is not an error.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!("cannot write the output: {e}"))),
    }
}

/// Prints `value` as pretty JSON.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(format!("cannot render the output as JSON: {e}")))?;
    text.push('\n');
    print(&text)
}

/// A table: headers and rows of cells, printed with aligned columns.
#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub(crate) fn new(headers: &[&'static str]) -> Self {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty, extra cells are dropped).
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, columns two spaces apart.
    pub(crate) fn render(&self) -> String {
        let n = self.headers.len();
        let cell = |row: &[String], i: usize| row.get(i).map(|c| one_line(c)).unwrap_or_default();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(cell(row, i).chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let c = cell(row, i);
                line.push_str(&c);
                if i + 1 < n {
                    let pad = w.saturating_sub(c.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key: value` lines with the values aligned.
pub(crate) fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(&format!("{k:<width$}  {}\n", one_line(v)));
    }
    out
}

/// A time as RFC 3339 in UTC, to the second; `-` for none.
pub(crate) fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// `-` for an empty or missing value.
pub(crate) fn or_dash(value: Option<impl AsRef<str>>) -> String {
    match value {
        Some(v) if !v.as_ref().is_empty() => v.as_ref().to_owned(),
        _ => "-".to_owned(),
    }
}

/// `yes` or `no`.
pub(crate) fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Every target kind `postd` knows, by its serde (snake_case) name.
pub(crate) const TARGET_KINDS: [TargetKind; 8] = [
    TargetKind::FacebookPage,
    TargetKind::InstagramAccount,
    TargetKind::LinkedInPerson,
    TargetKind::LinkedInOrganization,
    TargetKind::TikTokAccount,
    TargetKind::GbpLocation,
    TargetKind::MailchimpAudience,
    TargetKind::TwitterAccount,
];

/// A target kind's serde name (`facebook_page`, `linked_in_person`, ...).
pub(crate) fn kind_name(kind: TargetKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

/// A target kind from its serde name, ignoring case, `_` and `-`
/// (`linkedin_person` names `linked_in_person` too).
pub(crate) fn parse_kind(text: &str) -> Option<TargetKind> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = squash(text);
    TARGET_KINDS
        .into_iter()
        .find(|k| squash(&kind_name(*k)) == wanted)
}

/// `TENANT/ACCOUNT/KIND:ID`, the form `postd schedule --to` takes.
pub(crate) fn delivery_label(to: Option<&DeliveryTarget>) -> String {
    to.map_or_else(
        || "-".to_owned(),
        |to| {
            format!(
                "{}/{}/{}:{}",
                to.tenant,
                to.account,
                kind_name(to.target.kind),
                to.target.id
            )
        },
    )
}

/// Text from elsewhere (a platform's message, a name) on one line.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_aligns_its_columns_and_trims_line_ends() {
        let mut t = Table::new(&["ID", "STATE"]);
        t.row(vec!["1".into(), "published".into()]);
        t.row(vec!["1234".into(), "dead\nreally".into()]);
        assert_eq!(
            t.render(),
            "ID    STATE\n1     published\n1234  dead really\n"
        );
    }

    #[test]
    fn target_kinds_read_with_or_without_the_serde_underscores() {
        assert_eq!(kind_name(TargetKind::LinkedInPerson), "linked_in_person");
        assert_eq!(
            parse_kind("linkedin_person"),
            Some(TargetKind::LinkedInPerson)
        );
        assert_eq!(parse_kind("Facebook-Page"), Some(TargetKind::FacebookPage));
        assert_eq!(parse_kind("myspace_page"), None);
    }

    #[test]
    fn times_are_utc_to_the_second_and_missing_ones_a_dash() {
        let at = DateTime::parse_from_rfc3339("2026-05-01T10:00:00.123+02:00")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        assert_eq!(time(at), "2026-05-01T08:00:00Z");
        assert_eq!(time(None), "-");
    }
}
