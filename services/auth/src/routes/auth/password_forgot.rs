//! `POST /v1/auth/password/forgot`.

use actix_web::{HttpResponse, web};
use penny_platform::http::auth::ClientIp;
use penny_platform::http::{ApiError, JsonObject};
use serde::Deserialize;
use tracing::Instrument as _;
use utoipa::ToSchema;

use crate::reset;
use crate::state::AppState;

/// Whose password to reset.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ForgotRequest {
    /// The account's email.
    pub email: String,
}

/// Mails a one-time code when the email has an account. Always 202, and the answer does no
/// work that depends on the account, so neither its content nor its timing tells whether the
/// account exists: the lookup and the mail happen after it.
#[utoipa::path(
    post, path = "/v1/auth/password/forgot", tag = "auth", request_body = ForgotRequest,
    responses(
        (status = 202, description = "If the email has an account, a code is on its way"),
        (status = 429, description = "Rate limited"),
    )
)]
pub async fn forgot(
    state: web::Data<AppState>,
    address: ClientIp,
    body: JsonObject<ForgotRequest>,
) -> Result<HttpResponse, ApiError> {
    state.limiter.check(address.0)?;
    let email = body.into_inner().email;
    if email.len() <= 254 {
        let state = state.into_inner();
        tokio::spawn(
            async move {
                if let Err(error) = reset::request(&state, &email).await {
                    tracing::error!(error = %error, "failed to send a password reset code");
                }
            }
            .instrument(tracing::Span::current()),
        );
    }
    Ok(HttpResponse::Accepted()
        .json(serde_json::json!({"message": "if the email belongs to an account, a code is on its way"})))
}
