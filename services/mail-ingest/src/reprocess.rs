//! Reprocessing (DESIGN.md, step 7): an `EMAIL_REPROCESS` job sends chosen emails through
//! extraction again with `force: true`.
//!
//! `POST /v1/reprocess` only records the job (QUEUED) and wakes the [`Dispatcher`], so a QUEUED
//! job can still be cancelled before anything is published. The dispatcher takes one job at a
//! time (`FOR UPDATE SKIP LOCKED`, so replicas share the work), and publishes its emails in
//! chunks, each chunk one transaction with its `job_emails` rows and outbox rows; an interrupted
//! dispatch resumes with the emails not yet sent. Emails whose body was purged are not sent:
//! they count as `skipped` (and `purged`). When every chunk is out the job is sealed, and the
//! registry ends it once every email sent has an outcome and a booking.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use penny_contract::events::{ExtractionRequested, cap_body};
use penny_contract::{
    AccountId, EmailExtractionStatus, EmailId, Envelope, JobId, JobStatus, JobType, Provider, RequestId,
    TriggeredBy, UserId,
};
use penny_platform::db::DbPool;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::IngestError;
use crate::models::{Job, NewJob};
use crate::registry::{self, JobChange};
use crate::schema::{emails, job_emails, jobs};
use crate::store;

/// Which emails a reprocess job sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every email.
    All,
    /// Emails whose last extraction FAILED.
    Failed,
    /// Emails extracted with a version other than the newest announced.
    Outdated,
    /// Emails received in `[from, to)`.
    Range,
}

/// What a reprocess job was asked to do (its `input_payload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub scope: Scope,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub to: Option<DateTime<Utc>>,
    pub account_id: Option<AccountId>,
    /// Only the emails of this job (a retry of an extraction job).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// The failed job this one retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<JobId>,
}

/// Records a QUEUED reprocess job (the caller wakes the dispatcher after the commit).
pub async fn create_job(
    conn: &mut AsyncPgConnection,
    user: UserId,
    selection: &Selection,
    triggered_by: TriggeredBy,
) -> Result<Job, IngestError> {
    store::jobs::insert(
        conn,
        &NewJob {
            id: JobId::new(),
            user_id: user,
            account_id: selection.account_id,
            job_type: JobType::EmailReprocess,
            status: JobStatus::Queued,
            triggered_by,
            parent_job_id: None,
            input_payload: serde_json::to_value(selection)?,
            output_payload: serde_json::json!({
                "total": 0, "extracted": 0, "skipped": 0, "failed": 0, "booked": 0, "purged": 0,
            }),
            started_at: None,
        },
    )
    .await
}

/// One email to send again.
#[derive(Debug, Queryable)]
struct Candidate {
    id: EmailId,
    provider: Provider,
    subject: String,
    from_address: String,
    received_at: DateTime<Utc>,
    body_text: Option<String>,
    html_only: bool,
}

/// Publishes reprocess jobs; see the module documentation.
#[derive(Clone)]
pub struct Dispatcher {
    pool: DbPool,
    wake: Arc<Notify>,
    chunk: i64,
}

impl Dispatcher {
    /// A dispatcher publishing `chunk` emails per transaction.
    pub fn new(pool: DbPool, chunk: usize) -> Self {
        Self { pool, wake: Arc::new(Notify::new()), chunk: i64::try_from(chunk.max(1)).unwrap_or(200) }
    }

    /// Wakes the dispatcher (a job was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Runs until `stop`: dispatches whatever is waiting, then sleeps until woken (or a second,
    /// for jobs queued by another replica).
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.dispatch_all().await {
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reprocess dispatch failed; trying again"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Dispatches chunks until no job waits; returns how many chunks were published.
    pub async fn dispatch_all(&self) -> Result<usize, IngestError> {
        let mut conn = self.pool.get().await?;
        let mut chunks = 0;
        while dispatch_chunk(&mut conn, self.chunk).await?.is_some() {
            chunks += 1;
        }
        Ok(chunks)
    }
}

/// Publishes the next chunk of the oldest reprocess job still dispatching, in one transaction;
/// returns the job, or `None` when no job waits.
pub async fn dispatch_chunk(conn: &mut AsyncPgConnection, chunk: i64) -> Result<Option<JobId>, IngestError> {
    conn.transaction(async |conn| {
        let next: Option<(JobId, UserId, JobStatus, serde_json::Value)> = jobs::table
            .filter(jobs::job_type.eq(JobType::EmailReprocess))
            .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running]))
            .filter(jobs::sealed_at.is_null())
            .order(jobs::created_at)
            .select((jobs::id, jobs::user_id, jobs::status, jobs::input_payload))
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()?;
        let Some((job, user, status, input)) = next else { return Ok(None) };
        if status == JobStatus::Queued {
            store::jobs::transition(conn, job, JobStatus::Running, None).await?;
        }
        let selection: Selection = match serde_json::from_value(input) {
            Ok(selection) => selection,
            Err(error) => {
                let error = serde_json::json!({"code": "bad_input", "message": error.to_string()});
                store::jobs::transition(conn, job, JobStatus::Failed, Some(error)).await?;
                return Ok(Some(job));
            }
        };
        let candidates = next_candidates(conn, job, user, &selection, chunk).await?;
        if candidates.is_empty() {
            registry::seal(conn, &[job]).await?;
            tracing::info!(job.id = %job, user.id = %user, "reprocess job {job} published every request");
            return Ok(Some(job));
        }
        let (sendable, purged): (Vec<Candidate>, Vec<Candidate>) =
            candidates.into_iter().partition(|c| c.body_text.is_some());
        let purged: Vec<EmailId> = purged.iter().map(|c| c.id).collect();
        let skipped = store::job_emails::insert_skipped(conn, job, &purged).await? as i64;
        let sent: Vec<EmailId> = sendable.iter().map(|c| c.id).collect();
        store::job_emails::insert_sent(conn, job, &sent).await?;
        let events: Vec<Envelope<ExtractionRequested>> = sendable
            .into_iter()
            .map(|c| {
                let event = ExtractionRequested {
                    request_id: RequestId::new(),
                    job_id: job,
                    email_id: c.id,
                    user_id: user,
                    provider: c.provider,
                    subject: c.subject,
                    from: c.from_address,
                    received_at: c.received_at,
                    body_text: cap_body(c.body_text.unwrap_or_default()),
                    html_only: c.html_only,
                    force: true,
                };
                Envelope::new(event, Some(job.as_uuid()))
            })
            .collect();
        penny_platform::outbox::enqueue_many(conn, &events).await?;
        let mut change = JobChange::default();
        change.add("total", skipped + sent.len() as i64);
        if skipped > 0 {
            change.add("skipped", skipped);
            change.add("purged", skipped);
        }
        registry::settle(conn, [(job, change)].into()).await?;
        tracing::debug!(job.id = %job, user.id = %user, sent = sent.len(), skipped, "reprocess job {job}: chunk published");
        Ok(Some(job))
    })
    .await
}

/// The next emails of the selection that the job has not handled yet, oldest id first.
async fn next_candidates(
    conn: &mut AsyncPgConnection,
    job: JobId,
    user: UserId,
    selection: &Selection,
    chunk: i64,
) -> Result<Vec<Candidate>, IngestError> {
    let handled = job_emails::table
        .filter(job_emails::job_id.eq(job))
        .filter(job_emails::email_id.eq(emails::id))
        .select(job_emails::email_id);
    let mut query = emails::table
        .filter(emails::user_id.eq(user))
        .filter(diesel::dsl::not(diesel::dsl::exists(handled)))
        .into_boxed();
    if let Some(account) = selection.account_id {
        query = query.filter(emails::account_id.eq(account));
    }
    if let Some(from) = selection.from {
        query = query.filter(emails::received_at.ge(from));
    }
    if let Some(to) = selection.to {
        query = query.filter(emails::received_at.lt(to));
    }
    if let Some(source) = selection.job_id {
        let of_job = job_emails::table.filter(job_emails::job_id.eq(source)).select(job_emails::email_id);
        query = query.filter(emails::id.eq_any(of_job));
    }
    match selection.scope {
        Scope::All | Scope::Range => {}
        Scope::Failed => query = query.filter(emails::extraction_status.eq(EmailExtractionStatus::Failed)),
        Scope::Outdated => match registry::newest_version(conn).await? {
            Some(newest) => {
                query = query
                    .filter(emails::extraction_version.is_not_null())
                    .filter(emails::extraction_version.ne(newest));
            }
            // Nothing was announced yet, so nothing can be older than the newest.
            None => return Ok(Vec::new()),
        },
    }
    Ok(query
        .order(emails::id)
        .limit(chunk)
        .select((
            emails::id,
            emails::provider,
            emails::subject,
            emails::from_address,
            emails::received_at,
            emails::body_text,
            emails::html_only,
        ))
        .load(conn)
        .await?)
}
