//! `DELETE /v1/categories/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::CategoryId;
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::store;

/// Deletes one of the caller's own categories: its transactions become uncategorised and its
/// rules are deleted. System categories answer 409.
#[utoipa::path(
    delete, path = "/v1/categories/{id}", tag = "categories", security(("bearer" = [])),
    params(("id" = String, Path, description = "Category id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such category of the caller", body = crate::routes::ErrorBody),
        (status = 409, description = "A system category", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "delete category", skip_all, fields(user.id = %user.id, category.id = %id))]
pub async fn delete(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<CategoryId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    store::categories::delete(&mut conn, user.id, *id).await?;
    tracing::info!(user.id = %user.id, category.id = %*id, "deleted category {}", *id);
    Ok(HttpResponse::NoContent().finish())
}
