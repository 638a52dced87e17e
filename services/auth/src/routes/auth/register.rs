//! `POST /v1/auth/register`.

use actix_web::{HttpResponse, web};
use penny_contract::Role;
use penny_platform::http::auth::ClientIp;
use penny_platform::http::{ApiError, JsonObject};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{self, NewAccount};
use crate::error::AuthError;
use crate::routes::views::UserView;
use crate::state::AppState;

/// A sign-up. Other fields (`role`, `is_active`) are ignored: every new account is an active
/// `user`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Display name, 1–100 characters.
    pub name: String,
    /// 3–32 of letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// Email address.
    pub email: String,
    /// 8–128 characters, not easy to guess.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
}

/// Creates an account.
#[utoipa::path(
    post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = UserView),
        (status = 400, description = "Invalid fields"),
        (status = 403, description = "Sign-up is disabled (`signup_disabled`)"),
        (status = 409, description = "Username or email taken"),
        (status = 429, description = "Rate limited"),
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    address: ClientIp,
    body: JsonObject<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.allow_signup {
        return Err(AuthError::SignupDisabled.into());
    }
    state.limiter.check(address.0)?;
    let RegisterRequest { name, username, email, password } = body.into_inner();
    let account = NewAccount { name, username, email, password };
    let user = accounts::create(&state.pool, &state.hasher, account, Role::User).await?;
    Ok(HttpResponse::Created().json(UserView::from(&user)))
}
