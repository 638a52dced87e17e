//! `DELETE /v1/transactions/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::TransactionId;
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::store;

/// Deletes one of the caller's transactions. A transaction booked from mail comes back if its
/// email is extracted again (edit it instead to keep it as it is).
#[utoipa::path(
    delete, path = "/v1/transactions/{id}", tag = "transactions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such transaction of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "delete transaction", skip_all, fields(user.id = %user.id, transaction.id = %id))]
pub async fn delete(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<TransactionId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    store::transactions::delete(&mut conn, user.id, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
