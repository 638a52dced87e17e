//! Login sessions: starting one (a token family with its first refresh token), refreshing with
//! rotation and reuse detection, and ending one.

use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AuthError;
use crate::state::AppState;
use crate::store::{sessions, users};
use crate::tokens::{self, MAX_REFRESH_TOKEN_LEN};

/// An access token and the refresh token to renew it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// An EdDSA JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// An opaque token for `POST /v1/auth/refresh`; works once.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

fn pair(access: tokens::AccessToken, refresh: &SecretString) -> TokenPair {
    TokenPair {
        access_token: access.token,
        refresh_token: refresh.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: access.expires_in,
    }
}

/// Starts a session for `user` (already authenticated) and issues its first pair.
pub async fn start(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    user: &users::User,
) -> Result<TokenPair, AuthError> {
    let access = state.tokens.issue(user.id, user.role)?;
    let (refresh, hash) = tokens::new_refresh_token();
    let expires_at = chrono::Utc::now() + state.refresh_ttl;
    let (user_id, jti) = (user.id, access.jti);
    conn.transaction(async |conn| {
        let family = sessions::create_family(conn, user_id, expires_at).await?;
        sessions::insert_token(conn, family, &hash, jti).await
    })
    .await?;
    Ok(pair(access, &refresh))
}

/// What a refresh attempt found, decided inside the transaction.
enum Outcome {
    Renewed(TokenPair),
    Reused(penny_contract::UserId),
    Refused(AuthError),
}

/// Exchanges a refresh token for a new pair in the same session. A token presented a second
/// time means it was copied: the whole session is revoked, so the thief's newest token dies too.
pub async fn refresh(state: &AppState, presented: &SecretString) -> Result<TokenPair, AuthError> {
    let presented = presented.expose_secret();
    if presented.is_empty() || presented.len() > MAX_REFRESH_TOKEN_LEN {
        return Err(AuthError::InvalidRefreshToken);
    }
    let hash = tokens::hash_refresh_token(presented);
    let mut conn = state.pool.get().await?;
    let outcome = conn
        .transaction(async |conn| {
            let Some(token) = sessions::lock_by_hash(conn, &hash).await? else {
                return Ok(Outcome::Refused(AuthError::InvalidRefreshToken));
            };
            if token.revoked_at.is_some() || token.expires_at <= chrono::Utc::now() {
                return Ok(Outcome::Refused(AuthError::InvalidRefreshToken));
            }
            if token.rotated_at.is_some() {
                sessions::revoke_family(conn, token.family_id).await?;
                return Ok(Outcome::Reused(token.user_id));
            }
            let Some(user) = users::find(conn, token.user_id).await? else {
                return Ok(Outcome::Refused(AuthError::InvalidRefreshToken));
            };
            if !user.is_active {
                return Ok(Outcome::Refused(AuthError::AccountInactive));
            }
            let access = state.tokens.issue(user.id, user.role)?;
            let (refresh, new_hash) = tokens::new_refresh_token();
            sessions::mark_rotated(conn, token.id).await?;
            sessions::insert_token(conn, token.family_id, &new_hash, access.jti).await?;
            Ok::<_, AuthError>(Outcome::Renewed(pair(access, &refresh)))
        })
        .await?;
    match outcome {
        Outcome::Renewed(pair) => Ok(pair),
        Outcome::Reused(user) => {
            tracing::warn!(user.id = %user, "a rotated refresh token was presented again; revoked its session");
            Err(AuthError::InvalidRefreshToken)
        }
        Outcome::Refused(error) => Err(error),
    }
}

/// Ends the session a refresh token belongs to. Unknown tokens end nothing, silently.
pub async fn end(state: &AppState, presented: &SecretString) -> Result<(), AuthError> {
    let presented = presented.expose_secret();
    if presented.is_empty() || presented.len() > MAX_REFRESH_TOKEN_LEN {
        return Ok(());
    }
    let hash = tokens::hash_refresh_token(presented);
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        if let Some(token) = sessions::lock_by_hash(conn, &hash).await? {
            sessions::revoke_family(conn, token.family_id).await?;
            tracing::info!(user.id = %token.user_id, "logged out");
        }
        Ok::<_, AuthError>(())
    })
    .await
}
