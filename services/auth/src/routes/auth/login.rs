//! `POST /v1/auth/login`.

use actix_web::{HttpResponse, web};
use penny_platform::http::auth::ClientIp;
use penny_platform::http::{ApiError, JsonObject};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::credentials;
use crate::error::AuthError;
use crate::sessions::{self, TokenPair};
use crate::state::AppState;
use crate::store::{login_failures, users};

/// Longest login or password looked at; longer ones cannot be right.
const MAX_INPUT_LEN: usize = 1024;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email.
    pub login: String,
    /// The password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Logs in and starts a session.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong login or password (the same answer for both)"),
        (status = 403, description = "The account is inactive (`account_inactive`)"),
        (status = 429, description = "Rate limited"),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    address: ClientIp,
    body: JsonObject<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(address.0)?;
    let LoginRequest { login, password } = body.into_inner();
    if login.len() > MAX_INPUT_LEN || password.expose_secret().len() > MAX_INPUT_LEN {
        return Err(AuthError::InvalidCredentials.into());
    }
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    let user = users::find_by_login(&mut conn, &login).await?;
    drop(conn);
    let key = login_failures::key(user.as_ref().map(|u| u.id), &login);
    let verified =
        credentials::verify(&state, &key, user.as_ref().map(|u| u.password_hash.as_str()), &password).await?;
    let Some(user) = user.filter(|_| verified.matches) else {
        return Err(AuthError::InvalidCredentials.into());
    };
    // Only a caller who knows the password learns that the account is inactive.
    if !user.is_active {
        return Err(AuthError::AccountInactive.into());
    }
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    if verified.needs_rehash {
        // The parameters were raised since this hash was made; the password is at hand now.
        match state.hasher.rehash(&password).await {
            Ok(hash) => users::set_password(&mut conn, user.id, &hash).await?,
            Err(error) => tracing::warn!(user.id = %user.id, %error, "could not upgrade a password hash"),
        }
    }
    let pair = sessions::start(&mut conn, &state, &user).await?;
    tracing::info!(user.id = %user.id, "logged in");
    Ok(HttpResponse::Ok().json(pair))
}
