//! `GET /v1/auth/me`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use crate::error::AuthError;
use crate::routes::views::UserView;
use crate::state::AppState;
use crate::store::users;

/// The caller's account.
#[utoipa::path(
    get, path = "/v1/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The account", body = UserView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The account is inactive"),
    ),
    security(("bearer" = []))
)]
pub async fn me(state: web::Data<AppState>, caller: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    let user = users::find(&mut conn, caller.id).await?.ok_or(AuthError::AccountGone)?;
    if !user.is_active {
        return Err(AuthError::AccountInactive.into());
    }
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}
