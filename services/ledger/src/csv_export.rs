//! Streaming CSV export of a filtered transaction list.
//!
//! Pages of [`PAGE_ROWS`] rows are read with the same keyset as the list endpoint and written as
//! they come, so an export of any size holds one page in memory. The columns are the import's
//! plus `id,source,external_id`, so an export can be imported again.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::SecondsFormat;
use futures::Stream;
use penny_contract::{CategoryId, UserId};
use penny_platform::db::DbPool;

use crate::cursor::Cursor;
use crate::error::LedgerError;
use crate::models::Transaction;
use crate::money::format_amount;
use crate::schema::categories;
use crate::store::transactions::{TransactionFilter, page};

/// Rows read and written per step.
pub const PAGE_ROWS: i64 = 1_000;

/// The header row.
pub const HEADER: [&str; 10] =
    ["date", "amount", "currency", "type", "category", "merchant", "notes", "id", "source", "external_id"];

enum State {
    Start,
    Next(Option<Cursor>, HashMap<CategoryId, String>),
    Done,
}

/// The export as a stream of CSV chunks (the header first).
pub fn stream(
    pool: DbPool,
    user: UserId,
    filter: TransactionFilter,
) -> impl Stream<Item = Result<Bytes, LedgerError>> + 'static {
    futures::stream::try_unfold(State::Start, move |state| {
        let pool = pool.clone();
        let filter = filter.clone();
        async move {
            match state {
                State::Start => {
                    let mut conn = pool.get().await?;
                    let names = category_names(&mut conn, user).await?;
                    let chunk = write(|w| w.write_record(HEADER))?;
                    Ok(Some((chunk, State::Next(None, names))))
                }
                State::Next(cursor, names) => {
                    let mut conn = pool.get().await?;
                    let rows = page(&mut conn, user, &filter, cursor, PAGE_ROWS).await?;
                    let next = match rows.last() {
                        Some(last) if rows.len() as i64 == PAGE_ROWS => State::Next(
                            Some(Cursor { occurred_at: last.occurred_at, id: last.id }),
                            names.clone(),
                        ),
                        _ => State::Done,
                    };
                    if rows.is_empty() {
                        return Ok(None);
                    }
                    let chunk =
                        write(|w| rows.iter().try_for_each(|row| w.write_record(record(row, &names))))?;
                    Ok(Some((chunk, next)))
                }
                State::Done => Ok(None),
            }
        }
    })
}

async fn category_names(
    conn: &mut diesel_async::AsyncPgConnection,
    user: UserId,
) -> Result<HashMap<CategoryId, String>, LedgerError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let rows: Vec<(CategoryId, String)> = categories::table
        .filter(categories::user_id.eq(user))
        .select((categories::id, categories::name))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

fn record(row: &Transaction, names: &HashMap<CategoryId, String>) -> [String; 10] {
    [
        row.occurred_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        format_amount(row.amount, &row.currency),
        row.currency.clone(),
        row.kind.as_ref().to_owned(),
        row.category_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
        row.merchant.clone().unwrap_or_default(),
        row.notes.clone().unwrap_or_default(),
        row.id.to_string(),
        row.source.as_ref().to_owned(),
        row.external_id.clone().unwrap_or_default(),
    ]
}

fn write(
    fill: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<(), csv::Error>,
) -> Result<Bytes, LedgerError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    fill(&mut writer).map_err(|e| LedgerError::Internal(e.into()))?;
    let buffer = writer.into_inner().map_err(|e| LedgerError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(Bytes::from(buffer))
}
