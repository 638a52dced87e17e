//! Failed-login counters per account, shared by every replica.
//!
//! A counter is keyed by the user id, or by a hash of the login when no account has it, so an
//! unknown name locks exactly like a real one and a lock-out tells nothing about existence.

use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::UserId;
use sha2::{Digest as _, Sha256};

use crate::error::AuthError;

/// The counter key for a login attempt.
pub fn key(user: Option<UserId>, login: &str) -> String {
    match user {
        Some(id) => format!("user:{id}"),
        // Hashed, so the table holds no emails of strangers.
        None => {
            let digest = Sha256::digest(login.trim().to_lowercase().as_bytes());
            format!(
                "login:{}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest)
            )
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Lock {
    #[diesel(sql_type = BigInt)]
    retry_after_secs: i64,
}

/// Seconds until `key` may try again, when it has `limit` failures inside the current window.
pub async fn locked_for(
    conn: &mut AsyncPgConnection,
    key: &str,
    limit: i32,
    window_secs: i64,
) -> Result<Option<u64>, AuthError> {
    let lock: Option<Lock> = diesel::sql_query(
        "SELECT ceil(extract(epoch FROM window_start + make_interval(secs => $3) - now()))::bigint \
             AS retry_after_secs \
         FROM login_failures \
         WHERE key = $1 AND failures >= $2 AND window_start + make_interval(secs => $3) > now()",
    )
    .bind::<Text, _>(key)
    .bind::<Integer, _>(limit)
    .bind::<BigInt, _>(window_secs)
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| if e == diesel::result::Error::NotFound { Ok(None) } else { Err(e) })?;
    Ok(lock.map(|l| u64::try_from(l.retry_after_secs).unwrap_or(0).max(1)))
}

/// Counts one failure, starting a new window when the last one has passed.
pub async fn record(conn: &mut AsyncPgConnection, key: &str, window_secs: i64) -> Result<(), AuthError> {
    diesel::sql_query(
        "INSERT INTO login_failures AS f (key, failures, window_start) VALUES ($1, 1, now()) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN f.window_start + make_interval(secs => $2) <= now() THEN 1 \
                           ELSE f.failures + 1 END, \
           window_start = CASE WHEN f.window_start + make_interval(secs => $2) <= now() THEN now() \
                               ELSE f.window_start END",
    )
    .bind::<Text, _>(key)
    .bind::<BigInt, _>(window_secs)
    .execute(conn)
    .await?;
    // Counters of logins nobody retries would pile up; the occasional sweep keeps the table
    // small without a background job.
    if rand::random::<u8>() == 0 {
        diesel::sql_query(
            "DELETE FROM login_failures WHERE window_start + make_interval(secs => $1) <= now()",
        )
        .bind::<BigInt, _>(window_secs)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful login).
pub async fn clear(conn: &mut AsyncPgConnection, key: &str) -> Result<(), AuthError> {
    diesel::sql_query("DELETE FROM login_failures WHERE key = $1").bind::<Text, _>(key).execute(conn).await?;
    Ok(())
}
