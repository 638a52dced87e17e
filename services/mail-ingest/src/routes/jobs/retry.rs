//! `POST /v1/jobs/{id}/retry`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection as _;
use penny_contract::{AccountStatus, JobId, JobStatus, JobType, Provider, TriggeredBy};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::fetch::runner;
use crate::models::JobCreated;
use crate::reprocess::{self, Scope, Selection};
use crate::store;

/// Retries a FAILED job as a new job triggered by `RETRY` whose `input_payload.retry_of` names
/// it: a fetch fetches its account again (from its cursor); a reprocess runs its selection
/// again; an extraction job's emails are reprocessed. Any other status answers 409, as does a
/// failed upload (send the file again) or a fetch whose account is gone or not ACTIVE (connect
/// it again first).
#[utoipa::path(
    post, path = "/v1/jobs/{id}/retry", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 202, description = "A new job was queued", body = JobCreated),
        (status = 404, description = "No such job for this caller", body = crate::routes::ErrorBody),
        (status = 409, description = "The job is not FAILED, or cannot be run again", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "retry job", skip_all, fields(user.id = %user.id, job.id = %id))]
pub async fn retry(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<JobId>,
) -> Result<HttpResponse, ApiError> {
    let scope = if user.is_admin() { None } else { Some(user.id) };
    let id = id.into_inner();
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let (job, kind) = conn
        .transaction(async |conn| {
            let failed = store::jobs::lock(conn, scope, id).await?.ok_or(IngestError::NotFound)?;
            if failed.status != JobStatus::Failed {
                return Err(IngestError::Conflict {
                    code: "job_not_failed",
                    message: format!("the job is {}; only FAILED jobs can be retried", failed.status),
                });
            }
            let job = match failed.job_type {
                JobType::EmailFetch => {
                    let account = match failed.account_id {
                        Some(account) => store::accounts::find(conn, account).await?,
                        None => None,
                    };
                    let account = account.ok_or_else(|| IngestError::Conflict {
                        code: "account_gone",
                        message: "the job's account was deleted".into(),
                    })?;
                    if account.provider == Provider::Upload {
                        return Err(IngestError::Conflict {
                            code: "cannot_retry",
                            message: "an upload cannot be fetched again; import the file again".into(),
                        });
                    }
                    if account.status != AccountStatus::Active {
                        // As `POST /v1/accounts/{id}/fetch`: the new job could only fail.
                        return Err(IngestError::Conflict {
                            code: "account_inactive",
                            message: format!("the account is {}; connect it again", account.status),
                        });
                    }
                    runner::queue_job(conn, &account, TriggeredBy::Retry, Some(id)).await?
                }
                JobType::EmailReprocess => {
                    let mut selection: Selection = serde_json::from_value(failed.input_payload.clone())?;
                    selection.retry_of = Some(id);
                    reprocess::create_job(conn, failed.user_id, &selection, TriggeredBy::Retry).await?
                }
                JobType::EmailExtraction => {
                    let selection = Selection {
                        scope: Scope::All,
                        from: None,
                        to: None,
                        account_id: None,
                        job_id: Some(id),
                        retry_of: Some(id),
                    };
                    reprocess::create_job(conn, failed.user_id, &selection, TriggeredBy::Retry).await?
                }
            };
            Ok((job.id, job.job_type))
        })
        .await?;
    if kind == JobType::EmailReprocess {
        state.reprocess.wake();
    }
    tracing::info!(user.id = %user.id, job.id = %job, retry_of = %id, "job {id} retried as {job}");
    Ok(HttpResponse::Accepted().json(JobCreated { job_id: job }))
}
