//! `GET /v1/transactions/export?format=csv`.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use futures::StreamExt;
use penny_platform::http::{ApiError, AuthUser};

use super::ListQuery;
use crate::LedgerState;
use crate::csv_export;
use crate::error::LedgerError;

/// The caller's transactions matching the list's filters, newest first, as a streamed CSV with
/// the columns `date,amount,currency,type,category,merchant,notes,id,source,external_id`.
#[utoipa::path(
    get, path = "/v1/transactions/export", tag = "transactions", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        (status = 400, description = "Invalid parameters, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "export transactions", skip_all, fields(user.id = %user.id))]
pub async fn export(
    state: web::Data<LedgerState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    match query.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => {}
        Some(_) => return Err(LedgerError::field("format", "only `csv` is supported").into()),
    }
    // Paging parameters do not apply: the export is the whole filtered list.
    let (filter, _, _) = query.parse()?;
    let user_id = user.id;
    let body = csv_export::stream(state.pool.clone(), user_id, filter).map(move |chunk| {
        chunk.map_err(|error| {
            // The status line is already sent; the client sees a cut-off body.
            tracing::error!(user.id = %user_id, error = %error, "the export stopped");
            ApiError::from(error)
        })
    });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((CONTENT_DISPOSITION, "attachment; filename=\"transactions.csv\""))
        .streaming(body))
}
