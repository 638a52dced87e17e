//! `DELETE /v1/admin/users/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::UserId;
use penny_platform::http::{AdminUser, ApiError};

use crate::accounts;
use crate::error::AuthError;
use crate::state::AppState;

/// Deletes an account; every service deletes its data on `user.deleted`.
#[utoipa::path(
    delete, path = "/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such user"),
        (status = 409, description = "The last active admin (`last_admin`)"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: AdminUser,
    id: web::Path<UserId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    super::current_admin(&mut conn, &caller).await?;
    drop(conn);
    let id = id.into_inner();
    accounts::delete(&state.pool, &state.tombstones, id).await?;
    tracing::info!(user.id = %id, admin.id = %caller.0.id, "an admin deleted a user");
    Ok(HttpResponse::NoContent().finish())
}
