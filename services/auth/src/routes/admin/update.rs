//! `PATCH /v1/admin/users/{id}`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection as _;
use penny_contract::{Role, UserId};
use penny_platform::http::{AdminUser, ApiError, JsonObject};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts;
use crate::error::AuthError;
use crate::routes::views::AdminUserView;
use crate::state::AppState;
use crate::store::{sessions, users};

/// What to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// Activate or deactivate; a deactivated account's sessions end.
    pub is_active: Option<bool>,
    /// `admin` or `user`.
    pub role: Option<Role>,
}

/// Activates, deactivates, promotes or demotes an account.
#[utoipa::path(
    patch, path = "/v1/admin/users/{id}", tag = "admin", request_body = UpdateUserRequest,
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The changed account", body = AdminUserView),
        (status = 403, description = "Not an admin"),
        (status = 404, description = "No such user"),
        (status = 409, description = "It would leave no active admin (`last_admin`)"),
    ),
    security(("bearer" = []))
)]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: AdminUser,
    id: web::Path<UserId>,
    body: JsonObject<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let changes = users::AdminChanges { is_active: body.is_active, role: body.role };
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    super::current_admin(&mut conn, &caller).await?;
    let user = conn
        .transaction(async |conn| {
            let target = users::find(conn, id).await?.ok_or(AuthError::NotFound)?;
            let loses_admin = changes.role == Some(Role::User) || changes.is_active == Some(false);
            if loses_admin {
                accounts::ensure_not_last_admin(conn, &target).await?;
            }
            let user = users::update(conn, id, &changes).await?;
            if changes.is_active == Some(false) {
                sessions::revoke_all(conn, id, None).await?;
            }
            Ok::<_, AuthError>(user)
        })
        .await?;
    tracing::info!(
        user.id = %user.id, admin.id = %caller.0.id, user.role = %user.role, user.is_active = user.is_active,
        "an admin changed a user"
    );
    Ok(HttpResponse::Ok().json(AdminUserView::from(&user)))
}
