//! `POST /v1/auth/password/reset`.

use actix_web::{HttpResponse, web};
use penny_platform::http::auth::ClientIp;
use penny_platform::http::{ApiError, JsonObject};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::reset;
use crate::state::AppState;

/// A mailed code and the new password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The account's email.
    pub email: String,
    /// The six-digit code from the mail.
    #[schema(value_type = String)]
    pub code: SecretString,
    /// 8–128 characters, not easy to guess.
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
}

/// Sets a new password with a mailed code and ends every session of the account.
#[utoipa::path(
    post, path = "/v1/auth/password/reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 204, description = "The password is changed"),
        (status = 400, description = "Wrong, expired or used code (`invalid_code`), or a weak password"),
        (status = 429, description = "Too many wrong codes: request a new one"),
    )
)]
pub async fn reset_password(
    state: web::Data<AppState>,
    address: ClientIp,
    body: JsonObject<ResetRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(address.0)?;
    let ResetRequest { email, code, new_password } = body.into_inner();
    reset::redeem(&state, &email, &code, &new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}
