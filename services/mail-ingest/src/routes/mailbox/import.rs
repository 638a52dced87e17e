//! `POST /v1/mailbox/import`.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use penny_contract::{JobId, JobStatus, JobType, Provider, TriggeredBy, UserId};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::fetch::upload::{self, UploadKind};
use crate::ingest::{Ingestor, Target};
use crate::models::{JobCreated, NewJob};
use crate::store;

/// Imports an mbox export (`application/mbox`) or one message (`message/rfc822`) into the
/// caller's `upload` account, as an `EMAIL_FETCH` job (triggered by `API`).
///
/// The body is streamed into storage as it arrives, in constant memory, up to the configured
/// limit (`PENNY_IMPORT_LIMIT_BYTES`, 1 GiB by default). The answer comes once every message is
/// stored: each email is stored once (by `Message-ID`, or the message's SHA-256 without one),
/// a malformed message is counted and skipped, and the new emails go to extraction under one
/// child `EMAIL_EXTRACTION` job. A body that breaks off or exceeds the limit keeps nothing (the
/// failed job is recorded); sending the file again is always safe.
#[utoipa::path(
    post, path = "/v1/mailbox/import", tag = "mailbox", security(("bearer" = [])),
    request_body(content = String, content_type = "application/mbox",
        description = "An mbox export (mboxrd), or one message as `message/rfc822`"),
    responses(
        (status = 202, description = "Stored; extraction continues asynchronously", body = JobCreated),
        (status = 400, description = "The body broke off or holds no message; nothing was kept", body = crate::routes::ErrorBody),
        (status = 413, description = "Over the import limit; nothing was kept", body = crate::routes::ErrorBody),
        (status = 415, description = "Neither application/mbox nor message/rfc822", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "import mailbox", skip_all, fields(user.id = %user.id, job.id))]
pub async fn import(
    state: web::Data<IngestState>,
    user: AuthUser,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let essence = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default();
    let kind = UploadKind::from_media_type(essence)
        .ok_or(IngestError::UnsupportedMediaType("application/mbox or message/rfc822"))?;
    let limits = state.settings.upload_limits();
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_bytes) {
        return Err(IngestError::TooLarge { limit: limits.max_bytes }.into());
    }

    let mut conn = state.uploads.get().await.map_err(IngestError::from)?;
    let account = store::accounts::upload_account(&mut conn, user.id).await?;
    let job_id = JobId::new();
    tracing::Span::current().record("job.id", tracing::field::display(job_id));
    let target = Target {
        user: user.id,
        account,
        provider: Provider::Upload,
        fetch_job: job_id,
        triggered_by: TriggeredBy::Api,
    };
    let input =
        serde_json::json!({ "source": "upload", "content_type": essence.trim().to_ascii_lowercase() });
    let mut ingestor = Ingestor::new(target);

    // The payload is not `Send`, so the transaction is driven by hand rather than through a
    // closure. If this future is dropped midway, the pool discards the connection because a
    // transaction is still open on it, and nothing is committed.
    AnsiTransactionManager::begin_transaction(&mut *conn).await.map_err(IngestError::from)?;
    let outcome = async {
        store::jobs::insert(&mut conn, &new_fetch_job(target, input.clone(), JobStatus::Running)).await?;
        upload::import(&mut conn, &mut ingestor, kind, limits, payload).await?;
        let counts = ingestor.counts();
        let mut output = serde_json::to_value(counts)?;
        output["malformed_messages"] = serde_json::to_value(ingestor.malformed_notes())?;
        if let Some(child) = ingestor.extraction_job() {
            output["extraction_job_id"] = serde_json::to_value(child)?;
        }
        set_output(&mut conn, job_id, output).await?;
        crate::registry::finish_fetch(&mut conn, job_id, JobStatus::Success, None).await?;
        Ok::<_, IngestError>(())
    }
    .await;
    match outcome {
        Ok(()) => {
            AnsiTransactionManager::commit_transaction(&mut *conn).await.map_err(IngestError::from)?;
        }
        Err(error) => {
            if let Err(rollback) = AnsiTransactionManager::rollback_transaction(&mut *conn).await {
                tracing::warn!(error = %rollback, "failed to roll back an import");
                return Err(error.into());
            }
            record_failure(&mut conn, target, input, &error).await;
            return Err(error.into());
        }
    }
    let counts = ingestor.counts();
    tracing::info!(
        user.id = %user.id,
        job.id = %job_id,
        messages.total = counts.total,
        messages.stored = counts.stored,
        messages.duplicates = counts.duplicates,
        messages.malformed = counts.malformed,
        "imported an upload as job {job_id}"
    );
    Ok(HttpResponse::Accepted().json(JobCreated { job_id }))
}

fn new_fetch_job(target: Target, input: serde_json::Value, status: JobStatus) -> NewJob {
    NewJob {
        id: target.fetch_job,
        user_id: target.user,
        account_id: Some(target.account),
        job_type: JobType::EmailFetch,
        status,
        triggered_by: target.triggered_by,
        parent_job_id: None,
        input_payload: input,
        output_payload: serde_json::json!({"total": 0, "stored": 0, "duplicates": 0, "malformed": 0}),
        started_at: Some(chrono::Utc::now()),
    }
}

async fn set_output(
    conn: &mut AsyncPgConnection,
    job: JobId,
    output: serde_json::Value,
) -> Result<(), IngestError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::schema::jobs;
    diesel::update(jobs::table.find(job)).set(jobs::output_payload.eq(output)).execute(conn).await?;
    Ok(())
}

/// Keeps a FAILED job for an upload that stored nothing, so the user can see what happened.
async fn record_failure(
    conn: &mut AsyncPgConnection,
    target: Target,
    input: serde_json::Value,
    error: &IngestError,
) {
    let api: ApiError = match error {
        IngestError::TooLarge { limit } => IngestError::TooLarge { limit: *limit }.into(),
        IngestError::Payload(_) => ApiError::bad_request("incomplete_body", "the request body broke off"),
        IngestError::BadRequest { code, message } => ApiError::bad_request(*code, message.clone()),
        _ => ApiError::bad_request("import_failed", "the import failed"),
    };
    let mut job = new_fetch_job(target, input, JobStatus::Failed);
    job.output_payload = serde_json::json!({"total": 0, "stored": 0, "duplicates": 0, "malformed": 0});
    let recorded = async {
        store::jobs::insert(conn, &job).await?;
        let payload = serde_json::json!({ "code": api.code(), "message": error_message(error) });
        record_error(conn, target.fetch_job, payload).await
    }
    .await;
    if let Err(failure) = recorded {
        tracing::warn!(job.id = %target.fetch_job, error = %failure, "failed to record a failed import");
    }
    log_failure(target.user, target.fetch_job, api.code());
}

fn error_message(error: &IngestError) -> String {
    match error {
        IngestError::TooLarge { .. } | IngestError::Payload(_) | IngestError::BadRequest { .. } => {
            format!("{error}; nothing was stored")
        }
        _ => "the import failed; nothing was stored".into(),
    }
}

async fn record_error(
    conn: &mut AsyncPgConnection,
    job: JobId,
    payload: serde_json::Value,
) -> Result<(), IngestError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    use crate::schema::jobs;
    diesel::update(jobs::table.find(job))
        .set((jobs::error_payload.eq(Some(payload)), jobs::finished_at.eq(Some(chrono::Utc::now()))))
        .execute(conn)
        .await?;
    Ok(())
}

fn log_failure(user: UserId, job: JobId, code: &str) {
    tracing::info!(user.id = %user, job.id = %job, error.code = code, "upload job {job} failed; nothing was stored");
}
