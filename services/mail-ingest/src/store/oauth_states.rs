//! `oauth_states`: pending OAuth authorizations, keyed by the SHA-256 of their state.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{Provider, UserId};

use crate::error::IngestError;
use crate::oauth::state::StateError;
use crate::schema::oauth_states;

/// Rows are kept this long after they expire (so a late reuse still reads "already used"),
/// then deleted when the next state is issued.
const KEEP_AFTER_EXPIRY: chrono::Duration = chrono::Duration::days(1);

/// A pending authorization to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = oauth_states)]
pub struct NewOAuthState<'a> {
    pub state_hash: &'a [u8],
    pub user_id: UserId,
    pub provider: Provider,
    pub verifier_key_id: &'a str,
    /// The PKCE verifier, sealed.
    pub verifier: &'a [u8],
    pub expires_at: DateTime<Utc>,
}

/// What a callback needs from its authorization.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_states, check_for_backend(diesel::pg::Pg))]
pub struct PendingState {
    pub user_id: UserId,
    pub provider: Provider,
    pub verifier_key_id: String,
    pub verifier: Vec<u8>,
}

/// Records a pending authorization and drops long-expired ones.
pub async fn insert(conn: &mut AsyncPgConnection, row: &NewOAuthState<'_>) -> Result<(), IngestError> {
    diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(Utc::now() - KEEP_AFTER_EXPIRY)))
        .execute(conn)
        .await?;
    diesel::insert_into(oauth_states::table).values(row).execute(conn).await?;
    Ok(())
}

/// Consumes the state with this hash, atomically: it succeeds once, while unexpired; afterwards
/// it is [`StateError::Reused`], and a hash never issued is [`StateError::Unknown`].
pub async fn consume(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    provider: Provider,
) -> Result<Result<PendingState, StateError>, IngestError> {
    let consumed = diesel::update(
        oauth_states::table
            .filter(oauth_states::state_hash.eq(hash))
            .filter(oauth_states::provider.eq(provider))
            .filter(oauth_states::consumed_at.is_null())
            .filter(oauth_states::expires_at.gt(diesel::dsl::now)),
    )
    .set(oauth_states::consumed_at.eq(diesel::dsl::now))
    .returning(PendingState::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    if let Some(pending) = consumed {
        return Ok(Ok(pending));
    }
    let known: Option<Option<DateTime<Utc>>> =
        oauth_states::table.find(hash).select(oauth_states::consumed_at).first(conn).await.optional()?;
    Ok(Err(match known {
        None => StateError::Unknown,
        Some(Some(_)) => StateError::Reused,
        Some(None) => StateError::Expired,
    }))
}

/// Deletes every pending authorization of the user.
pub async fn delete_all(conn: &mut AsyncPgConnection, user: UserId) -> Result<usize, IngestError> {
    Ok(diesel::delete(oauth_states::table.filter(oauth_states::user_id.eq(user))).execute(conn).await?)
}
