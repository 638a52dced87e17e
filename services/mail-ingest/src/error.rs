//! The service's one error type, mapped once into the platform's [`ApiError`].
//!
//! Expected failures carry what the client needs to know; anything else (a query failure, a
//! broken connection) becomes an opaque 500 or 503 whose cause [`ApiError`] logs once.

use std::collections::BTreeMap;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use penny_platform::db::DbError;
use penny_platform::http::ApiError;

use crate::crypto::CryptoError;
use crate::fetch::imap::ImapError;
use crate::oauth::OAuthError;

/// Everything a mail-ingest operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// 400 `validation_failed`, naming each offending field.
    #[error("invalid fields: {0:?}")]
    Validation(BTreeMap<String, String>),
    /// 400 with a specific code (a bad cursor, a bad filter, ...).
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    /// 404: no such object for this caller (including another user's).
    #[error("not found")]
    NotFound,
    /// 409: the request conflicts with the object's state.
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    /// 409: the job was cancelled (a fetch stops at its next batch boundary with this).
    #[error("the job was cancelled")]
    Cancelled,
    /// 409: the account already exists.
    #[error("this mailbox is already connected")]
    DuplicateAccount,
    /// 413: the upload exceeds the configured limit; nothing of it was kept.
    #[error("the upload exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// 415: the body is not of an accepted media type.
    #[error("expected a body of type {0}")]
    UnsupportedMediaType(&'static str),
    /// 400: the request body broke off or could not be read; nothing of it was kept.
    #[error("the request body could not be read: {0}")]
    Payload(#[from] PayloadError),
    /// 422 for refused credentials, 502 for an unreachable or misbehaving mail server.
    #[error(transparent)]
    Imap(#[from] ImapError),
    /// 409 for a provider not configured, 400 for a refused state, 502 for a provider failure.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// 500: a secret could not be sealed or opened (wrong or missing key, tampered data).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// 500 or 404 (diesel's `NotFound`).
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// 503 for pool and connection failures, 500 otherwise.
    #[error(transparent)]
    Db(#[from] DbError),
    /// 503: no connection available.
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// 500: anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IngestError {
    /// A validation error about one field.
    pub fn field(name: impl Into<String>, reason: impl Into<String>) -> Self {
        IngestError::Validation(BTreeMap::from([(name.into(), reason.into())]))
    }

    /// A 400 with its own code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        IngestError::BadRequest { code, message: message.into() }
    }
}

impl From<serde_json::Error> for IngestError {
    fn from(error: serde_json::Error) -> Self {
        IngestError::Internal(error.into())
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Validation(fields) => ApiError::validation(fields),
            IngestError::BadRequest { code, message } => ApiError::bad_request(code, message),
            IngestError::NotFound | IngestError::Query(diesel::result::Error::NotFound) => {
                ApiError::not_found()
            }
            IngestError::Conflict { code, message } => ApiError::conflict(code, message),
            IngestError::Cancelled => ApiError::conflict("job_cancelled", "the job was cancelled"),
            IngestError::DuplicateAccount => {
                ApiError::conflict("duplicate_account", "this mailbox is already connected")
            }
            IngestError::TooLarge { limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the upload exceeds the limit of {limit} bytes; nothing was stored"),
            ),
            IngestError::UnsupportedMediaType(expected) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected a body of type {expected}"),
            ),
            IngestError::Payload(_) => ApiError::bad_request(
                "incomplete_body",
                "the request body broke off or could not be read; nothing was stored",
            ),
            IngestError::Imap(ImapError::LoginFailed) => {
                ApiError::unprocessable("login_failed", "the mail server refused these credentials")
            }
            IngestError::Imap(ImapError::Connect(message)) => {
                ApiError::unprocessable("mail_server_unreachable", message)
            }
            IngestError::Imap(ImapError::NoMailbox(mailbox)) => ApiError::unprocessable(
                "no_such_mailbox",
                format!("the mail server has no mailbox `{mailbox}`"),
            ),
            IngestError::Imap(other) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "mail_server_error",
                format!("the mail server misbehaved: {other}"),
            ),
            IngestError::OAuth(OAuthError::NotConfigured(provider)) => ApiError::conflict(
                "provider_not_configured",
                format!(
                    "{provider} is not configured on this server: the operator must set its OAuth client (see docs/OAUTH.md)"
                ),
            ),
            IngestError::OAuth(OAuthError::InvalidState(reason)) => {
                ApiError::bad_request("invalid_state", reason.to_string())
            }
            IngestError::OAuth(OAuthError::Config(message)) => {
                ApiError::internal(anyhow::anyhow!("invalid OAuth configuration: {message}"))
            }
            IngestError::OAuth(other) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "provider_error",
                format!("the mail provider failed: {other}"),
            ),
            IngestError::Crypto(CryptoError::NoKeys) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "secret_keys_missing",
                "this server cannot store mailbox credentials: no secret key is configured",
            ),
            IngestError::Crypto(error) => ApiError::internal(error),
            IngestError::Query(error) => ApiError::internal(error),
            IngestError::Db(error) => ApiError::from(error),
            IngestError::Pool(error) => ApiError::unavailable(error),
            IngestError::Internal(error) => ApiError::internal(error),
        }
    }
}

/// Whether a query failed on a unique constraint.
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
