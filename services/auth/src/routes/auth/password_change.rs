//! `POST /v1/auth/password/change`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection as _;
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::credentials;
use crate::error::AuthError;
use crate::passwords::NewPasswordError;
use crate::state::AppState;
use crate::store::{login_failures, sessions, users};

/// The current password and the new one.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub current_password: SecretString,
    /// 8–128 characters, not easy to guess.
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// Changes the caller's password and ends their other sessions.
#[utoipa::path(
    post, path = "/v1/auth/password/change", tag = "auth", request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "The new password is too weak"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Wrong current password (`wrong_password`) or inactive account"),
        (status = 429, description = "Too many wrong passwords"),
    ),
    security(("bearer" = []))
)]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: JsonObject<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    let user = users::find(&mut conn, caller.id).await?.ok_or(AuthError::AccountGone)?;
    drop(conn);
    if !user.is_active {
        return Err(AuthError::AccountInactive.into());
    }
    let key = login_failures::key(Some(user.id), "");
    let verified =
        credentials::verify(&state, &key, Some(&user.password_hash), &body.current_password).await?;
    if !verified.matches {
        return Err(AuthError::WrongPassword.into());
    }
    let hash =
        state.hasher.hash_new(&body.new_password, user.password_inputs()).await.map_err(|e| match e {
            NewPasswordError::Weak(reason) => AuthError::field("new_password", reason),
            NewPasswordError::Failed(error) => error,
        })?;
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    let ended = conn
        .transaction(async |conn| {
            users::set_password(conn, user.id, &hash).await?;
            let keep = match caller.jti {
                Some(jti) => sessions::family_of_access_token(conn, user.id, jti).await?,
                None => None,
            };
            sessions::revoke_all(conn, user.id, keep).await
        })
        .await?;
    tracing::info!(user.id = %user.id, sessions.ended = ended, "changed the password");
    Ok(HttpResponse::NoContent().finish())
}
