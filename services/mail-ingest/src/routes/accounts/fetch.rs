//! `POST /v1/accounts/{id}/fetch`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use penny_contract::{AccountId, AccountStatus, Provider, TriggeredBy};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::fetch::runner;
use crate::models::JobCreated;
use crate::store;

/// Starts a fetch of one of the caller's accounts: an `EMAIL_FETCH` job (triggered by `MANUAL`)
/// is queued and `ingest.fetch.requested` published with it (one transaction); a worker runs it.
/// If a fetch of the account is already QUEUED or RUNNING, its id is the answer.
#[utoipa::path(
    post, path = "/v1/accounts/{id}/fetch", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 202, description = "Queued", body = JobCreated),
        (status = 404, description = "No such account for this caller", body = crate::routes::ErrorBody),
        (status = 409, description = "An upload account, or an account that needs attention", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "fetch account", skip_all, fields(user.id = %user.id, account.id = %id, job.id))]
pub async fn fetch(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let account =
        store::accounts::get(&mut conn, user.id, id.into_inner()).await?.ok_or(IngestError::NotFound)?;
    if account.provider == Provider::Upload {
        return Err(IngestError::Conflict {
            code: "nothing_to_fetch",
            message: "upload accounts are filled by POST /v1/mailbox/import".into(),
        }
        .into());
    }
    if account.status != AccountStatus::Active {
        return Err(IngestError::Conflict {
            code: "account_inactive",
            message: format!("the account is {}; connect it again", account.status),
        }
        .into());
    }
    // A fetch already QUEUED or RUNNING for the account is the answer: it fetches everything new.
    if let Some(active) = store::jobs::active_fetch(&mut conn, account.id).await? {
        tracing::info!(user.id = %user.id, job.id = %active, "fetch job {active} already covers this request");
        return Ok(HttpResponse::Accepted().json(JobCreated { job_id: active }));
    }
    let job = conn
        .transaction(async |conn| runner::queue_job(conn, &account, TriggeredBy::Manual, None).await)
        .await?;
    tracing::Span::current().record("job.id", tracing::field::display(job.id));
    tracing::info!(user.id = %user.id, job.id = %job.id, "queued fetch job {}", job.id);
    Ok(HttpResponse::Accepted().json(JobCreated { job_id: job.id }))
}
