//! The ledger's one error type, mapped once into the platform's [`ApiError`].
//!
//! Expected failures say which field or rule was broken; anything else (a query failure, a
//! broken connection) becomes an opaque 500 or 503 whose cause is logged once by [`ApiError`].

use std::collections::BTreeMap;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use penny_platform::db::DbError;
use penny_platform::http::ApiError;

/// Everything a ledger operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// 400 `validation_failed`, naming each offending field.
    #[error("invalid fields: {0:?}")]
    Validation(BTreeMap<String, String>),
    /// 400 with a specific code (a malformed CSV file, a bad cursor, ...).
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    /// 404: no such object for this caller (including another user's).
    #[error("not found")]
    NotFound,
    /// 409: a category of that name exists.
    #[error("a category with this name already exists")]
    DuplicateCategory,
    /// 409: system categories cannot be deleted or changed.
    #[error("system categories cannot be deleted or changed")]
    SystemCategory,
    /// 415: the body is not of the expected media type.
    #[error("expected a {0} body")]
    UnsupportedMediaType(&'static str),
    /// 400: the request body broke off or could not be read.
    #[error("the request body could not be read: {0}")]
    Payload(#[from] PayloadError),
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

impl LedgerError {
    /// A validation error about one field.
    pub fn field(name: impl Into<String>, reason: impl Into<String>) -> Self {
        LedgerError::Validation(BTreeMap::from([(name.into(), reason.into())]))
    }

    /// A 400 with its own code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        LedgerError::BadRequest { code, message: message.into() }
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Validation(fields) => ApiError::validation(fields),
            LedgerError::BadRequest { code, message } => ApiError::bad_request(code, message),
            LedgerError::NotFound | LedgerError::Query(diesel::result::Error::NotFound) => {
                ApiError::not_found()
            }
            LedgerError::DuplicateCategory => {
                ApiError::conflict("duplicate_name", "a category with this name already exists")
            }
            LedgerError::SystemCategory => {
                ApiError::conflict("system_category", "system categories cannot be deleted or changed")
            }
            LedgerError::UnsupportedMediaType(expected) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected a {expected} body"),
            ),
            LedgerError::Payload(_) => {
                ApiError::bad_request("incomplete_body", "the request body broke off or could not be read")
            }
            LedgerError::Query(error) => ApiError::internal(error),
            LedgerError::Db(error) => ApiError::from(error),
            LedgerError::Pool(error) => ApiError::unavailable(error),
            LedgerError::Internal(error) => ApiError::internal(error),
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
