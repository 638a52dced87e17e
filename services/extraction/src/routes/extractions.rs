//! `GET /v1/emails/{id}/extractions`.

use actix_web::{HttpResponse, web};
use penny_contract::EmailId;
use penny_platform::http::{ApiError, AuthUser};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ExtractionState;
use crate::store::{self, ExtractionRow};

/// Every attempt, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtractionList {
    pub items: Vec<ExtractionRow>,
}

/// Every extraction attempt of one of the caller's emails.
#[utoipa::path(
    get, path = "/v1/emails/{id}/extractions", tag = "extraction", security(("bearer" = [])),
    params(("id" = String, Path, description = "Email id")),
    responses(
        (status = 200, description = "The attempts", body = ExtractionList),
        (status = 404, description = "No attempt for such an email of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "list extractions", skip_all, fields(user.id = %user.id, email.id = %id))]
pub async fn list(
    state: web::Data<ExtractionState>,
    user: AuthUser,
    id: web::Path<EmailId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let items = store::extractions_of(&mut conn, user.id, *id).await?;
    // The extraction service does not know emails without attempts (nor other users').
    if items.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok().json(ExtractionList { items }))
}
