//! `DELETE /v1/rules/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::RuleId;
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::store;

/// Deletes one of the caller's rules; categories it already gave stay.
#[utoipa::path(
    delete, path = "/v1/rules/{id}", tag = "rules", security(("bearer" = [])),
    params(("id" = String, Path, description = "Rule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such rule of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "delete rule", skip_all, fields(user.id = %user.id, rule.id = %id))]
pub async fn delete(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<RuleId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    store::rules::delete(&mut conn, user.id, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
