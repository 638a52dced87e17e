//! `GET /v1/transactions/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::TransactionId;
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::models::TransactionView;
use crate::store;

/// One of the caller's transactions.
#[utoipa::path(
    get, path = "/v1/transactions/{id}", tag = "transactions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses(
        (status = 200, description = "The transaction", body = TransactionView),
        (status = 404, description = "No such transaction of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "get transaction", skip_all, fields(user.id = %user.id, transaction.id = %id))]
pub async fn get(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<TransactionId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let transaction = store::transactions::get(&mut conn, user.id, *id).await?;
    Ok(HttpResponse::Ok().json(TransactionView::from(transaction)))
}
