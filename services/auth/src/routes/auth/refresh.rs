//! `POST /v1/auth/refresh`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, JsonObject};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::sessions::{self, TokenPair};
use crate::state::AppState;

/// A refresh token to exchange (or to end, for logout).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the session.
    #[schema(value_type = String)]
    pub refresh_token: SecretString,
}

/// Exchanges a refresh token for a new pair; the old token stops working.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Unknown, expired or reused token (reuse ends the session)"),
        (status = 403, description = "The account is inactive (`account_inactive`)"),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonObject<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let pair = sessions::refresh(&state, &body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(pair))
}
