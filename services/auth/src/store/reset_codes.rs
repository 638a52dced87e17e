//! Password reset codes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::UserId;
use uuid::Uuid;

use super::schema::password_reset_codes as codes;
use crate::error::AuthError;

/// A stored code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = codes, check_for_backend(diesel::pg::Pg))]
pub struct ResetCode {
    /// The row id, also the hash's salt.
    pub id: Uuid,
    /// The code's hash.
    pub code_hash: Vec<u8>,
    /// Wrong guesses so far.
    pub attempts: i32,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Set once used.
    pub used_at: Option<DateTime<Utc>>,
}

/// Stores a new code; it supersedes the user's earlier ones.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user: UserId,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), AuthError> {
    diesel::insert_into(codes::table)
        .values((
            codes::id.eq(id),
            codes::user_id.eq(user),
            codes::code_hash.eq(hash),
            codes::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Codes made for `user` since `since` (to cap how many mails one account receives).
pub async fn count_since(
    conn: &mut AsyncPgConnection,
    user: UserId,
    since: DateTime<Utc>,
) -> Result<i64, AuthError> {
    Ok(codes::table
        .filter(codes::user_id.eq(user))
        .filter(codes::created_at.ge(since))
        .count()
        .get_result(conn)
        .await?)
}

/// Deletes the user's codes made before `before` (they no longer count for anything).
pub async fn prune(
    conn: &mut AsyncPgConnection,
    user: UserId,
    before: DateTime<Utc>,
) -> Result<(), AuthError> {
    diesel::delete(codes::table.filter(codes::user_id.eq(user)).filter(codes::created_at.lt(before)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The user's newest code: the only one that counts.
pub async fn newest(conn: &mut AsyncPgConnection, user: UserId) -> Result<Option<ResetCode>, AuthError> {
    Ok(codes::table
        .filter(codes::user_id.eq(user))
        .order((codes::created_at.desc(), codes::id.desc()))
        .select(ResetCode::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Spends one attempt of an unused code, atomically, before the guess is compared: parallel
/// guesses cannot get more than `max` tries between them. `false` when no attempt is left.
pub async fn spend_attempt(conn: &mut AsyncPgConnection, id: Uuid, max: i32) -> Result<bool, AuthError> {
    let updated = diesel::update(
        codes::table.find(id).filter(codes::attempts.lt(max)).filter(codes::used_at.is_null()),
    )
    .set(codes::attempts.eq(codes::attempts + 1))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Marks a code used; `false` when it already was (a concurrent reset won).
pub async fn mark_used(conn: &mut AsyncPgConnection, id: Uuid) -> Result<bool, AuthError> {
    let updated = diesel::update(codes::table.find(id).filter(codes::used_at.is_null()))
        .set(codes::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}
