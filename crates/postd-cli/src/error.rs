//! The one error `postd` reports: a single line saying what happened and
//! what to do, printed as `postd: ...` with exit code 1.

use std::fmt;

use postd_core::ErrorKind;

/// A failed command, as one line for the operator.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
}

impl CliError {
    /// An error with this message (what happened; what to do).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
        }
    }

    /// A POSTD error, with a hint for its kind unless `hint` is given.
    pub(crate) fn from_postd(e: &postd_core::Error, hint: Option<&str>) -> Self {
        let hint = hint.unwrap_or_else(|| default_hint(e.kind()));
        let mut message = e.message().to_owned();
        let mut extra = Vec::new();
        if let Some(status) = e.http_status() {
            extra.push(format!("HTTP {status}"));
        }
        if let Some(code) = e.platform_code() {
            extra.push(format!("code {code}"));
        }
        if !extra.is_empty() {
            message.push_str(&format!(" ({})", extra.join(", ")));
        }
        if let Some(p) = e.platform()
            && !message.starts_with(p.display_name())
        {
            message = format!("{}: {message}", p.display_name());
        }
        if !hint.is_empty() {
            message.push_str("; ");
            message.push_str(hint);
        }
        CliError::new(message)
    }

    /// Maps a POSTD error: `not_found` gets `missing`, anything else the default hint.
    pub(crate) fn or_not_found(e: postd_core::Error, missing: impl FnOnce() -> String) -> Self {
        if e.kind() == ErrorKind::NotFound {
            CliError::new(missing())
        } else {
            CliError::from_postd(&e, None)
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever went into it.
        let line: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        f.write_str(&line)
    }
}

impl From<postd_core::Error> for CliError {
    fn from(e: postd_core::Error) -> Self {
        CliError::from_postd(&e, None)
    }
}

/// What to do about an error of `kind`, when the command has nothing better to say.
fn default_hint(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Auth | ErrorKind::ReauthRequired => {
            "connect the account again with postd connect"
        }
        ErrorKind::PermissionDenied => {
            "grant the missing permission and connect the account again with postd connect"
        }
        ErrorKind::RateLimited => "the platform asks to slow down; try again later",
        ErrorKind::Unavailable | ErrorKind::Timeout => {
            "check that the database and the platform are reachable, then try again"
        }
        ErrorKind::UnknownOutcome => {
            "it may have gone through; check on the platform before trying again"
        }
        ErrorKind::Config => "set it in the environment (see .env.example)",
        ErrorKind::NotImplemented | ErrorKind::Unsupported => "",
        ErrorKind::InvalidContent | ErrorKind::MediaRejected => "change the post and try again",
        _ => "",
    }
}

/// `Result` with a [`CliError`].
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postd_error_becomes_one_line_with_its_hint() {
        let e = postd_core::Error::new(ErrorKind::Unavailable, "database is locked\nreally")
            .with_status(503);
        let line = CliError::from_postd(&e, None).to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.starts_with("database is locked really (HTTP 503); check"),
            "{line}"
        );
    }

    #[test]
    fn not_found_gets_the_commands_own_message() {
        let e = postd_core::Error::new(ErrorKind::NotFound, "no post");
        let line = CliError::or_not_found(e, || "no such post x".to_owned()).to_string();
        assert_eq!(line, "no such post x");
    }
}
