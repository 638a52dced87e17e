//! Transactions: filtered keyset pages, single rows, inserts, updates and deletes.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{CategoryId, TransactionId, TransactionSource, TransactionType, UserId};
use rust_decimal::Decimal;

use crate::cursor::Cursor;
use crate::error::LedgerError;
use crate::models::{NewTransaction, Transaction};
use crate::schema::transactions;

/// The filters of `GET /v1/transactions` and the export.
#[derive(Debug, Clone, Default)]
pub struct TransactionFilter {
    /// `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
    pub category_id: Option<CategoryId>,
    pub kind: Option<TransactionType>,
    pub source: Option<TransactionSource>,
    /// Case-insensitive text in the merchant or the notes.
    pub q: Option<String>,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub needs_review: Option<bool>,
}

/// The user's transactions matching `filter`, newest first, after `cursor`.
fn filtered(user: UserId, filter: &TransactionFilter) -> transactions::BoxedQuery<'static, Pg> {
    let mut query = transactions::table.filter(transactions::user_id.eq(user)).into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(transactions::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(transactions::occurred_at.lt(to));
    }
    if let Some(category) = filter.category_id {
        query = query.filter(transactions::category_id.eq(category));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(transactions::kind.eq(kind));
    }
    if let Some(source) = filter.source {
        query = query.filter(transactions::source.eq(source));
    }
    if let Some(q) = &filter.q {
        let pattern = format!("%{}%", escape_like(q));
        query = query
            .filter(transactions::merchant.ilike(pattern.clone()).or(transactions::notes.ilike(pattern)));
    }
    if let Some(min) = filter.min_amount {
        query = query.filter(transactions::amount.ge(min));
    }
    if let Some(max) = filter.max_amount {
        query = query.filter(transactions::amount.le(max));
    }
    if let Some(needs_review) = filter.needs_review {
        query = query.filter(transactions::needs_review.eq(needs_review));
    }
    query
}

/// One page: up to `limit` rows after `cursor`, newest first (ties by id, descending).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user: UserId,
    filter: &TransactionFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Transaction>, LedgerError> {
    let mut query = filtered(user, filter);
    if let Some(cursor) = cursor {
        // A row comparison, so PostgreSQL walks the (user_id, occurred_at, id) index directly.
        query = query.filter(
            sql::<Bool>("(occurred_at, id) < (")
                .bind::<Timestamptz, _>(cursor.occurred_at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(cursor.id.as_uuid())
                .sql(")"),
        );
    }
    Ok(query
        .order((transactions::occurred_at.desc(), transactions::id.desc()))
        .limit(limit)
        .select(Transaction::as_select())
        .load(conn)
        .await?)
}

/// One of the user's transactions.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: TransactionId,
) -> Result<Transaction, LedgerError> {
    transactions::table
        .filter(transactions::id.eq(id).and(transactions::user_id.eq(user)))
        .select(Transaction::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// One of the user's transactions, locked for an update in the caller's transaction.
pub async fn get_for_update(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: TransactionId,
) -> Result<Transaction, LedgerError> {
    transactions::table
        .filter(transactions::id.eq(id).and(transactions::user_id.eq(user)))
        .select(Transaction::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// Inserts one transaction.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewTransaction) -> Result<Transaction, LedgerError> {
    Ok(diesel::insert_into(transactions::table)
        .values(new)
        .returning(Transaction::as_returning())
        .get_result(conn)
        .await?)
}

/// Inserts rows, skipping those whose `(user_id, source, external_id)` exists; returns how many
/// were inserted.
pub async fn insert_new(conn: &mut AsyncPgConnection, rows: &[NewTransaction]) -> Result<usize, LedgerError> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(diesel::insert_into(transactions::table)
        .values(rows)
        .on_conflict((transactions::user_id, transactions::source, transactions::external_id))
        .do_nothing()
        .execute(conn)
        .await?)
}

/// The new state of an edited transaction (every editable column).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = transactions, treat_none_as_null = true)]
pub struct TransactionEdit {
    pub amount: Decimal,
    pub currency: String,
    pub kind: TransactionType,
    pub occurred_at: DateTime<Utc>,
    pub category_id: Option<CategoryId>,
    pub category_by_user: bool,
    pub merchant: Option<String>,
    pub notes: Option<String>,
    pub account_hint: Option<String>,
    pub needs_review: bool,
    pub user_edited: bool,
    pub updated_at: DateTime<Utc>,
}

/// Writes an edit of one of the user's transactions.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: TransactionId,
    edit: &TransactionEdit,
) -> Result<Transaction, LedgerError> {
    diesel::update(transactions::table.filter(transactions::id.eq(id).and(transactions::user_id.eq(user))))
        .set(edit)
        .returning(Transaction::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// Deletes one of the user's transactions.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: TransactionId,
) -> Result<(), LedgerError> {
    let deleted = diesel::delete(
        transactions::table.filter(transactions::id.eq(id).and(transactions::user_id.eq(user))),
    )
    .execute(conn)
    .await?;
    if deleted == 0 { Err(LedgerError::NotFound) } else { Ok(()) }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(super::escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
