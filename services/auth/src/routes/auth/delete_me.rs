//! `DELETE /v1/auth/me`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AuthError;
use crate::state::AppState;
use crate::store::{login_failures, users};
use crate::{accounts, credentials};

/// The password, to confirm the deletion.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteMeRequest {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Deletes the caller's account; every service deletes its data on `user.deleted`.
#[utoipa::path(
    delete, path = "/v1/auth/me", tag = "auth", request_body = DeleteMeRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Wrong password (`wrong_password`)"),
        (status = 409, description = "The last active admin (`last_admin`)"),
        (status = 429, description = "Too many wrong passwords"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_me(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: JsonObject<DeleteMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    let user = users::find(&mut conn, caller.id).await?.ok_or(AuthError::AccountGone)?;
    drop(conn);
    let key = login_failures::key(Some(user.id), "");
    let verified = credentials::verify(&state, &key, Some(&user.password_hash), &body.password).await?;
    if !verified.matches {
        return Err(AuthError::WrongPassword.into());
    }
    accounts::delete(&state.pool, &state.tombstones, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
