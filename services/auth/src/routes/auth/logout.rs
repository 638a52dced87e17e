//! `POST /v1/auth/logout`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, JsonObject};

use super::refresh::RefreshRequest;
use crate::sessions;
use crate::state::AppState;

/// Ends the session of a refresh token. Always 204: an unknown token has nothing to end.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "The session is over"))
)]
pub async fn logout(
    state: web::Data<AppState>,
    body: JsonObject<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    sessions::end(&state, &body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}
