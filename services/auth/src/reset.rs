//! Password reset: [`request`] mails a code, [`redeem`] sets a new password with it.
//!
//! Codes are six digits from the operating system's CSPRNG, stored only as a hash.
//! Six digits are a million possibilities, which a stolen table would give up to any hash, slow
//! or not; what protects a code is that it lives 10 minutes, allows 5 guesses and works once.
//! The hash (SHA-256 salted with the code's row id) keeps codes out of backups and logs and
//! makes one precomputed table useless across rows.

use diesel_async::AsyncConnection as _;
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::error::AuthError;
use crate::mailer::reset_code_mail;
use crate::passwords::{NewPasswordError, user_inputs};
use crate::state::AppState;
use crate::store::{login_failures, reset_codes, sessions, users};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// A fresh code.
pub fn new_code() -> SecretString {
    let value: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    SecretString::from(format!("{value:0width$}", width = CODE_DIGITS))
}

/// The stored hash of `code` for the row `id`.
pub fn hash_code(id: Uuid, code: &str) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(id.as_bytes());
    digest.update(code.as_bytes());
    digest.finalize().to_vec()
}

/// Whether `code` is the one hashed into `stored`, compared in constant time.
pub fn code_matches(id: Uuid, code: &SecretString, stored: &[u8]) -> bool {
    let code = code.expose_secret().trim();
    // Only well-formed codes are hashed; the length check leaks nothing about the stored code.
    if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    hash_code(id, code).ct_eq(stored).into()
}

/// Makes a code for the account with `email`, if there is one, and mails it. Runs after the
/// request was answered, so neither the lookup nor the mail delivery shows in its timing.
pub async fn request(state: &AppState, email: &str) -> Result<(), AuthError> {
    let mut conn = state.pool.get().await?;
    let Some(user) = users::find_by_email(&mut conn, email).await? else {
        tracing::debug!("a reset code was requested for an email without an account");
        return Ok(());
    };
    if !user.is_active {
        tracing::info!(user.id = %user.id, "no reset code for an inactive account");
        return Ok(());
    }
    let now = chrono::Utc::now();
    let recent = reset_codes::count_since(&mut conn, user.id, now - chrono::Duration::hours(1)).await?;
    if recent >= state.settings.reset_codes_per_hour {
        tracing::info!(user.id = %user.id, "reset code cap per hour reached; no mail sent");
        return Ok(());
    }
    reset_codes::prune(&mut conn, user.id, now - chrono::Duration::days(1)).await?;
    let id = Uuid::now_v7();
    let code = new_code();
    let ttl = state.settings.reset_code_ttl_secs;
    let expires_at = now + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(600));
    reset_codes::insert(&mut conn, id, user.id, &hash_code(id, code.expose_secret()), expires_at).await?;
    drop(conn);
    state
        .mailer
        .send(reset_code_mail(&user.email, &code, ttl.div_ceil(60)))
        .await
        .map_err(|e| AuthError::Internal(anyhow::anyhow!(e)))?;
    tracing::info!(user.id = %user.id, "mailed a password reset code");
    Ok(())
}

/// Sets a new password with a mailed code. The new password is checked first (it costs no
/// attempt), then one attempt is spent and the code compared; only then is the password hashed.
/// Success revokes every session of the user.
pub async fn redeem(
    state: &AppState,
    email: &str,
    code: &SecretString,
    new_password: &SecretString,
) -> Result<(), AuthError> {
    let weak = |error| match error {
        NewPasswordError::Weak(reason) => AuthError::field("new_password", reason),
        NewPasswordError::Failed(error) => error,
    };
    let mut conn = state.pool.get().await?;
    let user = users::find_by_email(&mut conn, email).await?;
    let inputs = user.as_ref().map_or_else(|| user_inputs("", "", email), users::User::password_inputs);
    drop(conn);
    state.hasher.check_new(new_password, inputs.clone()).await.map_err(weak)?;
    let Some(user) = user else {
        return Err(AuthError::InvalidResetCode);
    };
    let mut conn = state.pool.get().await?;
    let Some(stored) = reset_codes::newest(&mut conn, user.id).await? else {
        return Err(AuthError::InvalidResetCode);
    };
    let now = chrono::Utc::now();
    if stored.used_at.is_some() || stored.expires_at <= now {
        return Err(AuthError::InvalidResetCode);
    }
    if !reset_codes::spend_attempt(&mut conn, stored.id, state.settings.reset_code_max_attempts).await? {
        tracing::info!(user.id = %user.id, "reset code attempts exhausted");
        let left = (stored.expires_at - now).num_seconds();
        return Err(AuthError::RateLimited { retry_after_secs: u64::try_from(left).unwrap_or(1).max(1) });
    }
    if !code_matches(stored.id, code, &stored.code_hash) {
        tracing::info!(user.id = %user.id, "a wrong reset code");
        return Err(AuthError::InvalidResetCode);
    }
    drop(conn);
    let hash = state.hasher.hash_new(new_password, inputs).await.map_err(weak)?;
    let mut conn = state.pool.get().await?;
    let failures_key = login_failures::key(Some(user.id), "");
    conn.transaction(async |conn| {
        if !reset_codes::mark_used(conn, stored.id).await? {
            return Err(AuthError::InvalidResetCode);
        }
        users::set_password(conn, user.id, &hash).await?;
        sessions::revoke_all(conn, user.id, None).await?;
        login_failures::clear(conn, &failures_key).await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    tracing::info!(user.id = %user.id, "reset the password with a mailed code; ended every session");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..20).map(|_| new_code().expose_secret().to_owned()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.iter().any(|c| c != &codes[0]));
    }

    #[test]
    fn a_code_matches_only_its_own_row() {
        let id = Uuid::now_v7();
        let stored = hash_code(id, "012345");
        assert!(code_matches(id, &SecretString::from("012345"), &stored));
        assert!(code_matches(id, &SecretString::from(" 012345 "), &stored));
        assert!(!code_matches(id, &SecretString::from("012346"), &stored));
        assert!(!code_matches(Uuid::now_v7(), &SecretString::from("012345"), &stored));
        assert!(!code_matches(id, &SecretString::from("12345"), &stored));
    }
}
