//! `POST /v1/jobs/{id}/cancel`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection as _;
use penny_contract::{JobId, JobStatus, JobType};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::models::Job;
use crate::{registry, store};

/// Cancels a QUEUED or RUNNING job (DESIGN.md, step 6): a QUEUED job never starts; a RUNNING
/// fetch stops at its next batch boundary (the emails already stored stay) and then ends
/// CANCELLED; a RUNNING extraction or reprocess ends CANCELLED at once, and the extraction work
/// already published runs to completion (its outcomes still reach the emails). Any other
/// status answers 409.
#[utoipa::path(
    post, path = "/v1/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 202, description = "Cancelled, or (a RUNNING fetch) stopping at its next batch", body = Job),
        (status = 404, description = "No such job for this caller", body = crate::routes::ErrorBody),
        (status = 409, description = "The job is not QUEUED or RUNNING", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "cancel job", skip_all, fields(user.id = %user.id, job.id = %id))]
pub async fn cancel(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let scope = if user.is_admin() { None } else { Some(user.id) };
    let id = id.into_inner();
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let job = conn
        .transaction(async |conn| {
            let job = store::jobs::lock(conn, scope, id).await?.ok_or(IngestError::NotFound)?;
            match (job.status, job.job_type) {
                (JobStatus::Queued, JobType::EmailFetch) => {
                    registry::finish_fetch(conn, id, JobStatus::Cancelled, None).await?;
                }
                (JobStatus::Running, JobType::EmailFetch) => store::jobs::request_cancel(conn, id).await?,
                (JobStatus::Queued | JobStatus::Running, _) => {
                    store::jobs::transition(conn, id, JobStatus::Cancelled, None).await?;
                }
                (status, _) => {
                    return Err(IngestError::Conflict {
                        code: "job_not_cancellable",
                        message: format!("the job is {status}; only QUEUED or RUNNING jobs can be cancelled"),
                    });
                }
            }
            store::jobs::get(conn, None, id).await?.ok_or(IngestError::NotFound)
        })
        .await?;
    tracing::info!(user.id = %user.id, job.id = %id, job.status = %job.status, "cancel of job {id} asked");
    Ok(HttpResponse::Accepted().json(job))
}
