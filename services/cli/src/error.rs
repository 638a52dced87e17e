//! The CLI's one error type and the exit code each kind of failure gives.
//!
//! | exit | meaning |
//! |---|---|
//! | 1 | the API (or RabbitMQ) answered with an error, a followed job FAILED, was CANCELLED or outlasted `--wait-timeout`, or a local file could not be read or written |
//! | 2 | usage: bad arguments or an option combination that makes no sense |
//! | 3 | the gateway or RabbitMQ could not be reached |
//! | 4 | not logged in, or the session expired and could not be refreshed |

use std::fmt::Write as _;

use serde::Deserialize;

/// Exit code for usage errors (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API answered with `{"error": {"code", "message"}}` (or an error status without it).
    #[error("{message} ({code})")]
    Api { status: u16, code: String, message: String },

    /// No stored session for this gateway.
    #[error("not logged in to {url}: run `penny login` first")]
    NotLoggedIn { url: String },

    /// The stored session could not be refreshed (expired, revoked or reused).
    #[error("the session for {url} has expired or was revoked: run `penny login` again")]
    SessionExpired { url: String },

    /// Nothing answered at `url` (refused, timed out, DNS).
    #[error("cannot reach {what} at {url}: {detail}")]
    Connection { what: &'static str, url: String, detail: String },

    /// Bad arguments.
    #[error("{0}")]
    Usage(String),

    /// A followed job ended FAILED or CANCELLED.
    #[error("job {id} ({job_type}) ended {status}{detail}")]
    JobUnsuccessful { id: String, job_type: String, status: String, detail: String },

    /// `--wait-timeout` passed before a followed job ended.
    #[error("gave up waiting for job {id}, still {status} (--wait-timeout)")]
    WaitTimeout { id: String, status: String },

    /// A local file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// An answer that does not have the shape the contract promises.
    #[error("unexpected answer from {what}: {detail}")]
    Protocol { what: &'static str, detail: String },

    /// RabbitMQ refused an operation (a channel or connection error after connecting).
    #[error("RabbitMQ: {0}")]
    Broker(String),

    /// A program the CLI runs (e.g. `penny-mail-ingest rotate-secrets`) failed.
    #[error("{program} {outcome}")]
    Subprocess { program: String, outcome: String },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Connection { .. } => 3,
            CliError::NotLoggedIn { .. } | CliError::SessionExpired { .. } => 4,
            CliError::Api { .. }
            | CliError::JobUnsuccessful { .. }
            | CliError::WaitTimeout { .. }
            | CliError::Io { .. }
            | CliError::Protocol { .. }
            | CliError::Broker(_)
            | CliError::Subprocess { .. } => 1,
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io { context: context.into(), source }
    }

    /// Maps a reqwest failure: connection-level problems become [`CliError::Connection`], the
    /// rest a protocol error. The URL is given by the caller (redacted), never taken from the
    /// error, which may carry credentials.
    pub fn from_http(what: &'static str, url: &str, error: reqwest::Error) -> Self {
        let connection = error.is_connect() || error.is_timeout() || error.is_request();
        let detail = chain(&error.without_url());
        if connection {
            CliError::Connection { what, url: url.to_owned(), detail }
        } else {
            CliError::Protocol { what, detail }
        }
    }
}

/// Every message of an error's source chain, joined by `: `, without repeats.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            let _ = write!(text, ": {message}");
        }
        source = cause.source();
    }
    text
}

/// The error body every Penny service and the gateway answer with.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    /// Validation errors name each bad field.
    #[serde(default)]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ErrorBody {
    /// The error an answer with status `status` and body `body` stands for.
    pub fn into_error(body: &[u8], status: reqwest::StatusCode) -> CliError {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => {
                let mut message = error.message;
                if let Some(fields) = error.fields.filter(|f| !f.is_empty()) {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(name, reason)| match reason.as_str() {
                            Some(text) => format!("{name}: {text}"),
                            None => format!("{name}: {reason}"),
                        })
                        .collect();
                    let _ = write!(message, " [{}]", parts.join("; "));
                }
                CliError::Api { status: status.as_u16(), code: error.code, message }
            }
            Err(_) => CliError::Api {
                status: status.as_u16(),
                code: format!("http_{}", status.as_u16()),
                message: status.canonical_reason().unwrap_or("error").to_lowercase(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_becomes_message_and_code() {
        let body = br#"{"error":{"code":"invalid_credentials","message":"wrong login or password"}}"#;
        let error = ErrorBody::into_error(body, reqwest::StatusCode::UNAUTHORIZED);
        assert_eq!(error.to_string(), "wrong login or password (invalid_credentials)");
        assert_eq!(error.exit_code(), 1);
    }

    #[test]
    fn validation_fields_are_named() {
        let body = br#"{"error":{"code":"validation_failed","message":"invalid input","fields":{"limit":"1 to 500"}}}"#;
        let error = ErrorBody::into_error(body, reqwest::StatusCode::BAD_REQUEST);
        assert_eq!(error.to_string(), "invalid input [limit: 1 to 500] (validation_failed)");
    }

    #[test]
    fn a_body_that_is_not_the_contract_still_gives_a_clear_error() {
        let error = ErrorBody::into_error(b"<html>", reqwest::StatusCode::BAD_GATEWAY);
        assert_eq!(error.to_string(), "bad gateway (http_502)");
    }

    #[test]
    fn exit_codes_tell_failures_apart() {
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        let refused = CliError::Connection { what: "the gateway", url: "u".into(), detail: "d".into() };
        assert_eq!(refused.exit_code(), 3);
        assert_eq!(CliError::NotLoggedIn { url: "u".into() }.exit_code(), 4);
    }
}
