//! Deleted users. Every service keeps the ids it learnt from `user.deleted`: their tokens answer
//! 401 and events about them are ignored, so nothing in flight recreates their data.
//!
//! Checking a token must not cost a query, so the ids are cached in memory and refreshed from
//! the table in the background; the replica that handles `user.deleted` adds the id at once.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::UserId;

use crate::db::{DbError, DbPool};

diesel::table! {
    /// Ids of deleted users.
    user_tombstones (user_id) {
        user_id -> Uuid,
        deleted_at -> Timestamptz,
    }
}

/// Records a deleted user in the caller's transaction. Idempotent.
pub async fn record(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), DbError> {
    diesel::insert_into(user_tombstones::table)
        .values(user_tombstones::user_id.eq(user))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the user was deleted (an exact check, for event handlers).
pub async fn is_deleted(conn: &mut AsyncPgConnection, user: UserId) -> Result<bool, DbError> {
    let found: Option<UserId> =
        user_tombstones::table.find(user).select(user_tombstones::user_id).first(conn).await.optional()?;
    Ok(found.is_some())
}

/// The in-memory set of deleted users that request authentication consults.
#[derive(Debug, Default)]
pub struct Tombstones {
    ids: RwLock<HashSet<UserId>>,
    seen_until: RwLock<Option<DateTime<Utc>>>,
}

impl Tombstones {
    /// An empty set, for services or tests without a database.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether `user` is known to be deleted.
    pub fn contains(&self, user: UserId) -> bool {
        self.ids.read().map(|ids| ids.contains(&user)).unwrap_or(false)
    }

    /// Adds a user at once (called by the `user.deleted` handler after its commit).
    pub fn insert(&self, user: UserId) {
        if let Ok(mut ids) = self.ids.write() {
            ids.insert(user);
        }
    }

    /// Adds the users that `events` delete (a `user.deleted` handler's `after_commit`).
    pub fn insert_deleted<'a>(
        &self,
        events: impl IntoIterator<Item = &'a penny_contract::events::UserEvent>,
    ) {
        for event in events {
            if let penny_contract::events::UserEvent::Deleted(deleted) = event {
                self.insert(deleted.payload.user_id);
            }
        }
    }

    /// Loads the tombstones recorded since the last refresh.
    pub async fn refresh(&self, pool: &DbPool) -> Result<(), DbError> {
        let since = self.seen_until.read().ok().and_then(|s| *s);
        let mut conn = pool.get().await?;
        let mut query = user_tombstones::table.into_boxed();
        if let Some(since) = since {
            // Rows committed late can carry an older timestamp; a margin catches them.
            query = query.filter(user_tombstones::deleted_at.ge(since - chrono::Duration::minutes(5)));
        }
        let rows: Vec<(UserId, DateTime<Utc>)> =
            query.select((user_tombstones::user_id, user_tombstones::deleted_at)).load(&mut conn).await?;
        let newest = rows.iter().map(|(_, at)| *at).max();
        if let Ok(mut ids) = self.ids.write() {
            ids.extend(rows.into_iter().map(|(id, _)| id));
        }
        if let (Some(newest), Ok(mut seen)) = (newest, self.seen_until.write()) {
            *seen = Some(seen.map_or(newest, |s| s.max(newest)));
        }
        Ok(())
    }

    /// Refreshes every `interval` until the returned task is aborted.
    pub fn spawn_refresher(
        self: &Arc<Self>,
        pool: DbPool,
        interval: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                if let Err(error) = this.refresh(&pool).await {
                    tracing::warn!(%error, "failed to refresh user tombstones");
                }
            }
        })
    }
}
