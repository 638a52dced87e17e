//! Checking a password against an account, under the per-account failed-login limit.
//!
//! Login, password change and account deletion all go through here, so a stolen access token
//! cannot be used to guess the password faster than the login form allows.

use secrecy::SecretString;

use crate::error::AuthError;
use crate::passwords::Verified;
use crate::state::AppState;
use crate::store::login_failures;

/// Checks `password` against `phc` (or the dummy hash when there is no account) unless `key`
/// is locked out; counts a failure, or forgets past failures on success. The database
/// connection is not held while hashing, so slow hashes never starve the pool.
pub async fn verify(
    state: &AppState,
    key: &str,
    phc: Option<&str>,
    password: &SecretString,
) -> Result<Verified, AuthError> {
    let limits = state.settings.rate_limits_enabled;
    let window = state.login_window_secs();
    if limits {
        let mut conn = state.pool.get().await?;
        if let Some(retry_after_secs) =
            login_failures::locked_for(&mut conn, key, state.settings.login_failure_limit, window).await?
        {
            tracing::info!("login attempts locked for this account");
            return Err(AuthError::RateLimited { retry_after_secs });
        }
    }
    let verified = state.hasher.verify(phc, password).await?;
    if limits {
        let mut conn = state.pool.get().await?;
        if verified.matches {
            login_failures::clear(&mut conn, key).await?;
        } else {
            login_failures::record(&mut conn, key, window).await?;
        }
    }
    Ok(verified)
}
