//! `GET /v1/transactions`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use super::ListQuery;
use crate::LedgerState;
use crate::cursor::Cursor;
use crate::models::{Page, TransactionView};
use crate::store;

/// The caller's transactions, newest first, filtered, in keyset pages.
#[utoipa::path(
    get, path = "/v1/transactions", tag = "transactions", security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page", body = Page<TransactionView>),
        (status = 400, description = "Invalid parameters, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "list transactions", skip_all, fields(user.id = %user.id))]
pub async fn list(
    state: web::Data<LedgerState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, limit, cursor) = query.parse()?;
    let mut conn = state.pool.get().await?;
    let mut rows = store::transactions::page(&mut conn, user.id, &filter, cursor, limit + 1).await?;
    drop(conn);
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| Cursor { occurred_at: last.occurred_at, id: last.id }.encode())
    } else {
        None
    };
    let items: Vec<TransactionView> = rows.into_iter().map(TransactionView::from).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}
