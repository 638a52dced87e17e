//! `GET /v1/emails/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::EmailId;
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::models::{EmailDetail, EmailView};
use crate::store;

/// One of the caller's emails with its text body (another user's answers 404).
#[utoipa::path(
    get, path = "/v1/emails/{id}", tag = "emails", security(("bearer" = [])),
    params(("id" = String, Path, description = "The email id")),
    responses(
        (status = 200, description = "The email", body = EmailDetail),
        (status = 404, description = "No such email for this caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "get email", skip_all, fields(user.id = %user.id, email.id = %id))]
pub async fn get(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<EmailId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let (email, body_text) =
        store::emails::get(&mut conn, user.id, id.into_inner()).await?.ok_or(IngestError::NotFound)?;
    let body_purged_at = email.body_purged_at;
    Ok(HttpResponse::Ok().json(EmailDetail { email: EmailView::from(email), body_text, body_purged_at }))
}
