//! Login sessions (token families) and their refresh tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{RefreshTokenId, TokenFamilyId, UserId};
use uuid::Uuid;

use super::schema::{refresh_tokens, token_families};
use crate::error::AuthError;

/// A refresh token with its family, as a refresh finds it.
#[derive(Debug, Clone, Queryable)]
pub struct PresentedToken {
    /// The token's row.
    pub id: RefreshTokenId,
    /// Set once the token was exchanged for a new one; presenting it again is reuse.
    pub rotated_at: Option<DateTime<Utc>>,
    /// The session.
    pub family_id: TokenFamilyId,
    /// Its owner.
    pub user_id: UserId,
    /// The session's absolute end.
    pub expires_at: DateTime<Utc>,
    /// Set once the session was ended.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Starts a session lasting until `expires_at`.
pub async fn create_family(
    conn: &mut AsyncPgConnection,
    user: UserId,
    expires_at: DateTime<Utc>,
) -> Result<TokenFamilyId, AuthError> {
    let id = TokenFamilyId::new();
    diesel::insert_into(token_families::table)
        .values((
            token_families::id.eq(id),
            token_families::user_id.eq(user),
            token_families::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Stores a refresh token of `family`, issued with the access token `access_jti`.
pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    family: TokenFamilyId,
    hash: &[u8],
    access_jti: Uuid,
) -> Result<(), AuthError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(RefreshTokenId::new()),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::token_hash.eq(hash),
            refresh_tokens::access_jti.eq(access_jti),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Finds a token by hash and locks it with its family, so two refreshes of one token queue up
/// and the second one sees the first one's rotation.
pub async fn lock_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> Result<Option<PresentedToken>, AuthError> {
    Ok(refresh_tokens::table
        .inner_join(token_families::table)
        .filter(refresh_tokens::token_hash.eq(hash))
        .select((
            refresh_tokens::id,
            refresh_tokens::rotated_at,
            token_families::id,
            token_families::user_id,
            token_families::expires_at,
            token_families::revoked_at,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Marks a token as exchanged.
pub async fn mark_rotated(conn: &mut AsyncPgConnection, id: RefreshTokenId) -> Result<(), AuthError> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::rotated_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session.
pub async fn revoke_family(conn: &mut AsyncPgConnection, family: TokenFamilyId) -> Result<(), AuthError> {
    diesel::update(token_families::table.find(family).filter(token_families::revoked_at.is_null()))
        .set(token_families::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of `user` except `keep`; how many were ended.
pub async fn revoke_all(
    conn: &mut AsyncPgConnection,
    user: UserId,
    keep: Option<TokenFamilyId>,
) -> Result<usize, AuthError> {
    let mut query = diesel::update(token_families::table)
        .filter(token_families::user_id.eq(user))
        .filter(token_families::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(token_families::id.ne(keep));
    }
    Ok(query.set(token_families::revoked_at.eq(diesel::dsl::now)).execute(conn).await?)
}

/// The session an access token was issued in, if it is still that user's.
pub async fn family_of_access_token(
    conn: &mut AsyncPgConnection,
    user: UserId,
    jti: Uuid,
) -> Result<Option<TokenFamilyId>, AuthError> {
    Ok(refresh_tokens::table
        .inner_join(token_families::table)
        .filter(refresh_tokens::access_jti.eq(jti))
        .filter(token_families::user_id.eq(user))
        .select(token_families::id)
        .first(conn)
        .await
        .optional()?)
}
