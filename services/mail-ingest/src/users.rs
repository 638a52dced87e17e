//! Reactions to `user.registered` and `user.deleted` (queue `ingest.users`).
//!
//! [`on_user_registered`] and [`on_user_deleted`] are plain functions over a connection; the
//! [`UsersHandler`] runs them for the messaging layer inside the transaction that also records
//! each message as processed, so both are applied once however often a message is delivered.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use penny_contract::events::{EventError, UserDeleted, UserRegistered};
use penny_contract::{Envelope, UserId, routing};
use penny_platform::broker::{Decode, Delivered, Handler, HandlerError};
use penny_platform::tombstones::{self, Tombstones};

use crate::error::IngestError;
use crate::store;

/// Creates the user's `upload` account (idempotent); an event about a deleted user changes
/// nothing.
#[tracing::instrument(skip_all, fields(user.id = %event.user_id))]
pub async fn on_user_registered(
    conn: &mut AsyncPgConnection,
    event: &UserRegistered,
) -> Result<(), IngestError> {
    let user = event.user_id;
    if tombstones::is_deleted(conn, user).await? {
        tracing::info!(user.id = %user, "ignoring user.registered of deleted user {user}");
        return Ok(());
    }
    let account = store::accounts::upload_account(conn, user).await?;
    tracing::info!(user.id = %user, account.id = %account, "upload account of user {user} is ready");
    Ok(())
}

/// What `user.deleted` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub jobs: usize,
    pub emails: usize,
    pub accounts: usize,
}

/// Deletes the user's jobs, emails, accounts and cursors and records a tombstone, on the
/// caller's transaction. After the commit the caller adds the id to the in-memory tombstones.
#[tracing::instrument(skip_all, fields(user.id = %event.user_id))]
pub async fn on_user_deleted(
    conn: &mut AsyncPgConnection,
    event: &UserDeleted,
) -> Result<Removed, IngestError> {
    let user: UserId = event.user_id;
    let jobs = store::jobs::delete_all(conn, user).await?;
    let emails = store::emails::delete_all(conn, user).await?;
    let accounts = store::accounts::delete_all(conn, user).await?;
    store::oauth_states::delete_all(conn, user).await?;
    tombstones::record(conn, user).await?;
    tracing::info!(
        user.id = %user,
        removed.jobs = jobs,
        removed.emails = emails,
        removed.accounts = accounts,
        "deleted the mail of user {user}"
    );
    Ok(Removed { jobs, emails, accounts })
}

/// A message of the `ingest.users` queue.
#[derive(Debug, Clone)]
pub enum UserEvent {
    Registered(Envelope<UserRegistered>),
    Deleted(Envelope<UserDeleted>),
}

impl Decode for UserEvent {
    fn decode(routing_key: &str, body: &[u8]) -> Result<Self, EventError> {
        match routing_key {
            routing::USER_REGISTERED => Envelope::from_slice(body).map(UserEvent::Registered),
            routing::USER_DELETED => Envelope::from_slice(body).map(UserEvent::Deleted),
            other => Err(EventError::WrongType {
                expected: "user.registered or user.deleted",
                found: other.to_owned(),
            }),
        }
    }
}

/// Applies `user.registered` and `user.deleted` batches.
pub struct UsersHandler {
    tombstones: Arc<Tombstones>,
}

impl UsersHandler {
    /// A handler that updates `tombstones` after each committed deletion.
    pub fn new(tombstones: Arc<Tombstones>) -> Self {
        Self { tombstones }
    }
}

impl Handler for UsersHandler {
    type Message = UserEvent;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<UserEvent>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            match &delivered.message {
                UserEvent::Registered(envelope) => on_user_registered(conn, &envelope.payload).await,
                UserEvent::Deleted(envelope) => on_user_deleted(conn, &envelope.payload).await.map(|_| ()),
            }
            .map_err(HandlerError::new)?;
        }
        Ok(())
    }

    fn after_commit(&self, batch: &[Delivered<UserEvent>]) {
        for delivered in batch {
            if let UserEvent::Deleted(envelope) = &delivered.message {
                self.tombstones.insert(envelope.payload.user_id);
            }
        }
    }
}
