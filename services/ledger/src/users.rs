//! Reactions to `user.registered` and `user.deleted`.
//!
//! Plain async functions over a connection, so the messaging layer can run each inside the
//! transaction that also records the message as processed. Both are idempotent.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use penny_contract::events::{UserDeleted, UserRegistered};
use penny_contract::{CategoryId, CategoryType, UserId};
use penny_platform::tombstones;

use crate::error::LedgerError;
use crate::models::NewCategory;
use crate::schema::{categories, rules, transactions};
use crate::store;

/// The categories every user starts with.
pub const SYSTEM_CATEGORIES: [(&str, CategoryType); 16] = [
    ("Salary", CategoryType::Income),
    ("Refunds", CategoryType::Income),
    ("Other income", CategoryType::Income),
    ("Groceries", CategoryType::Expense),
    ("Dining", CategoryType::Expense),
    ("Transport", CategoryType::Expense),
    ("Shopping", CategoryType::Expense),
    ("Bills & Utilities", CategoryType::Expense),
    ("Entertainment", CategoryType::Expense),
    ("Health", CategoryType::Expense),
    ("Travel", CategoryType::Expense),
    ("Transfers", CategoryType::Both),
    ("Cash", CategoryType::Both),
    ("Fees", CategoryType::Expense),
    ("Subscriptions", CategoryType::Expense),
    ("Other", CategoryType::Both),
];

/// Creates the user's system categories (those missing); returns how many were created. An
/// event about a deleted user changes nothing.
#[tracing::instrument(skip_all, fields(user.id = %event.user_id))]
pub async fn on_user_registered(
    conn: &mut AsyncPgConnection,
    event: &UserRegistered,
) -> Result<usize, LedgerError> {
    let user = event.user_id;
    if tombstones::is_deleted(conn, user).await? {
        tracing::info!(user.id = %user, "ignoring user.registered of deleted user {user}");
        return Ok(0);
    }
    let rows: Vec<NewCategory<'_>> = SYSTEM_CATEGORIES
        .iter()
        .map(|(name, kind)| NewCategory {
            id: CategoryId::new(),
            user_id: user,
            name,
            kind: *kind,
            is_system: true,
        })
        .collect();
    let created = store::categories::create_missing(conn, &rows).await?;
    tracing::info!(user.id = %user, categories.created = created, "created system categories of user {user}");
    Ok(created)
}

/// What `user.deleted` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub transactions: usize,
    pub rules: usize,
    pub categories: usize,
}

/// Deletes all of the user's ledger rows and records a tombstone, in one transaction (a
/// savepoint when the caller already holds one). After the caller commits, it should add the id
/// to the in-memory [`penny_platform::tombstones::Tombstones`] so the user's tokens stop working
/// at once.
#[tracing::instrument(skip_all, fields(user.id = %event.user_id))]
pub async fn on_user_deleted(
    conn: &mut AsyncPgConnection,
    event: &UserDeleted,
) -> Result<Removed, LedgerError> {
    let user: UserId = event.user_id;
    let removed = conn
        .transaction(async |conn| {
            let transactions = diesel::delete(transactions::table.filter(transactions::user_id.eq(user)))
                .execute(conn)
                .await?;
            let rules = diesel::delete(rules::table.filter(rules::user_id.eq(user))).execute(conn).await?;
            let categories =
                diesel::delete(categories::table.filter(categories::user_id.eq(user))).execute(conn).await?;
            tombstones::record(conn, user).await?;
            Ok::<_, LedgerError>(Removed { transactions, rules, categories })
        })
        .await?;
    tracing::info!(
        user.id = %user,
        removed.transactions = removed.transactions,
        removed.rules = removed.rules,
        removed.categories = removed.categories,
        "deleted the ledger of user {user}"
    );
    Ok(removed)
}
