//! `POST /v1/transactions/import`.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use futures::StreamExt;
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::csv_import::{CsvImporter, ImportSummary};
use crate::error::LedgerError;
use crate::input::has_content_type;
use crate::store;

/// Rows inserted per statement.
const BATCH_ROWS: usize = 1_000;

/// Imports a `text/csv` body with the header `date,amount,currency,type,category,merchant,notes`
/// (`category`, `merchant` and `notes` may be absent; other columns are ignored). Dates are
/// `YYYY-MM-DD` (stored at 12:00 UTC) or RFC 3339. A `category` naming one of the caller's
/// categories is kept as chosen by hand; otherwise the caller's rules categorise the row.
///
/// The body is streamed, and the whole import is one database transaction: a body that breaks
/// off keeps nothing. Importing the same file again adds nothing; two identical rows in one file
/// are two transactions. Bad rows are reported by line and skipped.
#[utoipa::path(
    post, path = "/v1/transactions/import", tag = "transactions", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        example = "date,amount,currency,type,category,merchant,notes\n2026-01-15,12.50,USD,expense,Dining,Cafe,\n"),
    responses(
        (status = 200, description = "Imported", body = ImportSummary),
        (status = 400, description = "No usable header, a row too long, or a broken body", body = crate::routes::ErrorBody),
        (status = 415, description = "Not text/csv", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "import transactions", skip_all, fields(user.id = %user.id))]
pub async fn import(
    state: web::Data<LedgerState>,
    user: AuthUser,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !has_content_type(&req, "text/csv") {
        return Err(LedgerError::UnsupportedMediaType("text/csv").into());
    }
    let mut conn = state.uploads.get().await?;
    let names = store::categories::names(&mut conn, user.id).await?;
    let rules = store::rules::load_set(&mut conn, user.id, None).await?;
    let mut importer = CsvImporter::new(user.id, names, rules);

    // The payload is not `Send`, so the transaction is driven by hand rather than through a
    // closure. If this future is dropped midway, the pool discards the connection because a
    // transaction is still open on it.
    AnsiTransactionManager::begin_transaction(&mut *conn).await.map_err(LedgerError::from)?;
    let outcome = async {
        while let Some(chunk) = payload.next().await {
            importer.feed(&chunk?)?;
            if importer.pending_len() >= BATCH_ROWS {
                flush(&mut conn, &mut importer).await?;
            }
        }
        importer.finish()?;
        flush(&mut conn, &mut importer).await
    }
    .await;
    match outcome {
        Ok(()) => {
            AnsiTransactionManager::commit_transaction(&mut *conn).await.map_err(LedgerError::from)?;
        }
        Err(error) => {
            if let Err(rollback) = AnsiTransactionManager::rollback_transaction(&mut *conn).await {
                tracing::warn!(error = %rollback, "failed to roll back an import");
            }
            return Err(error.into());
        }
    }
    let summary: ImportSummary = importer.into_summary();
    tracing::info!(
        user.id = %user.id,
        imported = summary.imported,
        skipped_duplicates = summary.skipped_duplicates,
        errors = summary.errors.len() as u64 + summary.errors_omitted,
        "imported a CSV file"
    );
    Ok(HttpResponse::Ok().json(summary))
}

async fn flush(conn: &mut AsyncPgConnection, importer: &mut CsvImporter) -> Result<(), LedgerError> {
    let rows = importer.take_pending();
    for batch in rows.chunks(BATCH_ROWS) {
        let inserted = store::transactions::insert_new(conn, batch).await?;
        importer.record_inserted(batch.len(), inserted);
    }
    Ok(())
}
