//! The service's one error type, mapped to the platform's [`ApiError`] in one place.

use std::collections::BTreeMap;

use penny_platform::http::ApiError;

/// Everything an auth request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Open sign-up is switched off.
    #[error("sign-up is disabled")]
    SignupDisabled,
    /// The username is taken.
    #[error("the username is taken")]
    UsernameTaken,
    /// The email is taken.
    #[error("the email is taken")]
    EmailTaken,
    /// Fields that failed validation, with the reason for each.
    #[error("invalid input")]
    Validation(BTreeMap<String, String>),
    /// Wrong login or password: deliberately the same whichever part was wrong.
    #[error("wrong login or password")]
    InvalidCredentials,
    /// The account is deactivated.
    #[error("the account is inactive")]
    AccountInactive,
    /// An unknown, expired, revoked or reused refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The current password given to re-authenticate a change was wrong.
    #[error("wrong password")]
    WrongPassword,
    /// A wrong, expired or used reset code, or an email without an account.
    #[error("invalid reset code")]
    InvalidResetCode,
    /// Too many attempts or requests; retry after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// The caller's account no longer exists.
    #[error("the account no longer exists")]
    AccountGone,
    /// No such resource.
    #[error("not found")]
    NotFound,
    /// The change would leave no active admin.
    #[error("the last active admin cannot be removed")]
    LastAdmin,
    /// A bad pagination cursor.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The password hashing queue is full.
    #[error("the password hasher is overloaded")]
    Busy,
    /// A database failure.
    #[error(transparent)]
    Db(#[from] penny_platform::db::DbError),
    /// A query failure.
    #[error(transparent)]
    Query(diesel::result::Error),
    /// No database connection.
    #[error(transparent)]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for AuthError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AuthError::NotFound,
            other => AuthError::Query(other),
        }
    }
}

impl AuthError {
    /// A validation error on one field.
    pub fn field(name: &str, reason: impl Into<String>) -> Self {
        AuthError::Validation(BTreeMap::from([(name.to_owned(), reason.into())]))
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::SignupDisabled => ApiError::forbidden("signup_disabled", "sign-up is disabled"),
            AuthError::UsernameTaken => ApiError::conflict("username_taken", "the username is taken"),
            AuthError::EmailTaken => ApiError::conflict("email_taken", "the email is already registered"),
            AuthError::Validation(fields) => ApiError::validation(fields),
            AuthError::InvalidCredentials => {
                ApiError::unauthorized("invalid_credentials", "wrong login or password")
            }
            AuthError::AccountInactive => ApiError::forbidden("account_inactive", "the account is inactive"),
            AuthError::InvalidRefreshToken => ApiError::unauthorized(
                "invalid_refresh_token",
                "the refresh token is invalid, expired or revoked",
            ),
            AuthError::WrongPassword => ApiError::forbidden("wrong_password", "the password is wrong"),
            AuthError::InvalidResetCode => {
                ApiError::bad_request("invalid_code", "the code is wrong, expired or already used")
            }
            AuthError::RateLimited { retry_after_secs } => ApiError::too_many_requests(retry_after_secs),
            AuthError::AccountGone => {
                ApiError::unauthorized("invalid_token", "the access token is invalid or expired")
            }
            AuthError::NotFound => ApiError::not_found(),
            AuthError::LastAdmin => {
                ApiError::conflict("last_admin", "the last active admin cannot be removed or demoted")
            }
            AuthError::InvalidCursor => ApiError::bad_request("invalid_cursor", "the cursor is not valid"),
            AuthError::Busy => ApiError::unavailable(anyhow::anyhow!("the password hashing queue is full")),
            AuthError::Db(error) => error.into(),
            AuthError::Pool(error) => ApiError::unavailable(error),
            AuthError::Query(error) => ApiError::internal(error),
            AuthError::Internal(error) => ApiError::internal(error),
        }
    }
}

/// Handler results.
pub type AuthResult<T> = Result<T, AuthError>;
