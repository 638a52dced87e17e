//! Aggregates for `GET /v1/reports/summary`: sums per key, currency and direction.

use chrono::{DateTime, Utc};
use diesel::dsl::{max, min};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Numeric, Text, Timestamptz, Uuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{CategoryId, TransactionType, UserId};
use rust_decimal::Decimal;

use crate::error::LedgerError;
use crate::schema::transactions;

/// One aggregate row: the total and count of one direction in one currency under one key.
#[derive(Debug, Clone)]
pub struct Total<K> {
    pub key: K,
    pub currency: String,
    pub kind: TransactionType,
    pub total: Decimal,
    pub count: i64,
}

#[derive(QueryableByName)]
struct CategoryRow {
    #[diesel(sql_type = Nullable<Uuid>)]
    category_id: Option<CategoryId>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    kind: TransactionType,
    #[diesel(sql_type = Nullable<Numeric>)]
    total: Option<Decimal>,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Totals per category (None = uncategorised) in `[from, to)`.
pub async fn by_category(
    conn: &mut AsyncPgConnection,
    user: UserId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<Total<Option<CategoryId>>>, LedgerError> {
    let rows: Vec<CategoryRow> = diesel::sql_query(
        "SELECT category_id, currency, type AS kind, sum(amount) AS total, count(*) AS count \
         FROM transactions \
         WHERE user_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2) \
           AND ($3::timestamptz IS NULL OR occurred_at < $3) \
         GROUP BY 1, 2, 3",
    )
    .bind::<Uuid, _>(user)
    .bind::<Nullable<Timestamptz>, _>(from)
    .bind::<Nullable<Timestamptz>, _>(to)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Total {
            key: row.category_id,
            currency: row.currency,
            kind: row.kind,
            total: row.total.unwrap_or_default(),
            count: row.count,
        })
        .collect())
}

/// The first and last `occurred_at` of the user's transactions in `[from, to)`.
pub async fn span(
    conn: &mut AsyncPgConnection,
    user: UserId,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>, LedgerError> {
    let mut query = transactions::table.filter(transactions::user_id.eq(user)).into_boxed();
    if let Some(from) = from {
        query = query.filter(transactions::occurred_at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(transactions::occurred_at.lt(to));
    }
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
        query.select((min(transactions::occurred_at), max(transactions::occurred_at))).first(conn).await?;
    Ok(first.zip(last))
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Integer)]
    bucket: i32,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    kind: TransactionType,
    #[diesel(sql_type = Nullable<Numeric>)]
    total: Option<Decimal>,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Totals per bucket: `bounds` are ascending bucket starts (month starts computed in the
/// caller's time zone); bucket `i` (1-based) is `[bounds[i-1], bounds[i])`. Only rows inside
/// `[bounds[0], bounds[last])` and `[from, to)` are counted.
pub async fn by_bucket(
    conn: &mut AsyncPgConnection,
    user: UserId,
    bounds: &[DateTime<Utc>],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Total<usize>>, LedgerError> {
    let rows: Vec<BucketRow> = diesel::sql_query(
        "SELECT width_bucket(occurred_at, $2) AS bucket, currency, type AS kind, \
                sum(amount) AS total, count(*) AS count \
         FROM transactions \
         WHERE user_id = $1 AND occurred_at >= $3 AND occurred_at < $4 \
         GROUP BY 1, 2, 3",
    )
    .bind::<Uuid, _>(user)
    .bind::<Array<Timestamptz>, _>(bounds.to_vec())
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|row| row.bucket >= 1 && (row.bucket as usize) < bounds.len())
        .map(|row| Total {
            key: row.bucket as usize - 1,
            currency: row.currency,
            kind: row.kind,
            total: row.total.unwrap_or_default(),
            count: row.count,
        })
        .collect())
}
