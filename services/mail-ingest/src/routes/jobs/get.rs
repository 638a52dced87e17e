//! `GET /v1/jobs/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::JobId;
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::models::Job;
use crate::store;

/// One of the caller's jobs (any job for an admin); another user's answers 404.
#[utoipa::path(
    get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job for this caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "get job", skip_all, fields(user.id = %user.id, job.id = %id))]
pub async fn get(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let scope = if user.is_admin() { None } else { Some(user.id) };
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let job: Job = store::jobs::get(&mut conn, scope, id.into_inner()).await?.ok_or(IngestError::NotFound)?;
    Ok(HttpResponse::Ok().json(job))
}
