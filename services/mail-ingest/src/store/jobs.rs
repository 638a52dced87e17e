//! `jobs`: the registry. Jobs only move forward (`JobStatus::can_become`), so a late or repeated
//! event never takes a job back; counts in `output_payload` are added to, never replaced.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{JobId, JobStatus, JobType, UserId};

use crate::cursor::Cursor;
use crate::error::IngestError;
use crate::models::{Job, NewJob};
use crate::schema::jobs;

/// Filters of the job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// `None` for an admin listing every user's jobs.
    pub user: Option<UserId>,
    pub status: Option<JobStatus>,
    pub job_type: Option<JobType>,
    pub parent_job_id: Option<JobId>,
}

/// Inserts a job.
pub async fn insert(conn: &mut AsyncPgConnection, job: &NewJob) -> Result<Job, IngestError> {
    Ok(diesel::insert_into(jobs::table).values(job).returning(Job::as_returning()).get_result(conn).await?)
}

/// A job by id, scoped to `user` unless `None` (admins).
pub async fn get(
    conn: &mut AsyncPgConnection,
    user: Option<UserId>,
    id: JobId,
) -> Result<Option<Job>, IngestError> {
    let mut query = jobs::table.filter(jobs::id.eq(id)).into_boxed();
    if let Some(user) = user {
        query = query.filter(jobs::user_id.eq(user));
    }
    Ok(query.select(Job::as_select()).first(conn).await.optional()?)
}

/// One page of jobs, newest first.
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &JobFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Job>, IngestError> {
    let mut query = jobs::table.into_boxed();
    if let Some(user) = filter.user {
        query = query.filter(jobs::user_id.eq(user));
    }
    if let Some(status) = filter.status {
        query = query.filter(jobs::status.eq(status));
    }
    if let Some(kind) = filter.job_type {
        query = query.filter(jobs::job_type.eq(kind));
    }
    if let Some(parent) = filter.parent_job_id {
        query = query.filter(jobs::parent_job_id.eq(parent));
    }
    if let Some(cursor) = after {
        query = query.filter(
            jobs::created_at.lt(cursor.at).or(jobs::created_at.eq(cursor.at).and(jobs::id.lt(cursor.id))),
        );
    }
    Ok(query
        .order((jobs::created_at.desc(), jobs::id.desc()))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)
        .await?)
}

/// Moves a job to `next` if its state machine allows it, stamping `started_at` /
/// `finished_at`; returns whether it moved. Locks the row for the rest of the transaction.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    id: JobId,
    next: JobStatus,
    error: Option<serde_json::Value>,
) -> Result<bool, IngestError> {
    let current: Option<(JobStatus, Option<chrono::DateTime<Utc>>)> = jobs::table
        .find(id)
        .select((jobs::status, jobs::started_at))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((current, started_at)) = current else { return Ok(false) };
    if !current.can_become(next) {
        return Ok(false);
    }
    let now = Utc::now();
    // A job that fails or is cancelled before it ran keeps `started_at` empty.
    let started_at = if next == JobStatus::Running { Some(now) } else { started_at };
    let finished_at = next.is_terminal().then_some(now);
    diesel::update(jobs::table.find(id))
        .set((
            jobs::status.eq(next),
            jobs::started_at.eq(started_at),
            jobs::finished_at.eq(finished_at),
            jobs::error_payload.eq(error),
        ))
        .execute(conn)
        .await?;
    Ok(true)
}

/// Adds `counts` to the integer fields of the job's `output_payload` (missing fields count 0).
pub async fn add_counts(
    conn: &mut AsyncPgConnection,
    id: JobId,
    counts: &[(&str, i64)],
) -> Result<(), IngestError> {
    let current: serde_json::Value =
        jobs::table.find(id).select(jobs::output_payload).for_update().first(conn).await?;
    let mut payload = match current {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    for (name, delta) in counts {
        let before = payload.get(*name).and_then(serde_json::Value::as_i64).unwrap_or(0);
        payload.insert((*name).to_owned(), serde_json::Value::from(before + delta));
    }
    diesel::update(jobs::table.find(id))
        .set(jobs::output_payload.eq(serde_json::Value::Object(payload)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The extraction job a fetch job created, if any.
pub async fn extraction_child(
    conn: &mut AsyncPgConnection,
    fetch: JobId,
) -> Result<Option<JobId>, IngestError> {
    Ok(jobs::table
        .filter(jobs::parent_job_id.eq(fetch))
        .filter(jobs::job_type.eq(JobType::EmailExtraction))
        .select(jobs::id)
        .first(conn)
        .await
        .optional()?)
}

/// Whether the job was cancelled or asked to stop (a RUNNING fetch stops at its next batch).
pub async fn cancel_requested(conn: &mut AsyncPgConnection, id: JobId) -> Result<bool, IngestError> {
    let found: Option<(JobStatus, Option<chrono::DateTime<Utc>>)> = jobs::table
        .find(id)
        .select((jobs::status, jobs::cancel_requested_at))
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some_and(|(status, requested)| status == JobStatus::Cancelled || requested.is_some()))
}

/// Asks a RUNNING fetch to stop at its next batch boundary.
pub async fn request_cancel(conn: &mut AsyncPgConnection, id: JobId) -> Result<(), IngestError> {
    diesel::update(jobs::table.find(id).filter(jobs::cancel_requested_at.is_null()))
        .set(jobs::cancel_requested_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks the job row (scoped to `user` unless `None`) for the rest of the transaction.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    user: Option<UserId>,
    id: JobId,
) -> Result<Option<Job>, IngestError> {
    let job: Option<Job> =
        jobs::table.find(id).select(Job::as_select()).for_update().first(conn).await.optional()?;
    Ok(job.filter(|job| user.is_none_or(|user| job.user_id == user)))
}

/// Counts one automatic retry of the job and records the error that caused it.
pub async fn count_retry(
    conn: &mut AsyncPgConnection,
    id: JobId,
    error: serde_json::Value,
) -> Result<i32, IngestError> {
    Ok(diesel::update(jobs::table.find(id))
        .set((jobs::retry_count.eq(jobs::retry_count + 1), jobs::error_payload.eq(Some(error))))
        .returning(jobs::retry_count)
        .get_result(conn)
        .await?)
}

/// Whether the account has a fetch job QUEUED or RUNNING.
pub async fn active_fetch(
    conn: &mut AsyncPgConnection,
    account: penny_contract::AccountId,
) -> Result<Option<JobId>, IngestError> {
    Ok(jobs::table
        .filter(jobs::account_id.eq(account))
        .filter(jobs::job_type.eq(JobType::EmailFetch))
        .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running]))
        .select(jobs::id)
        .first(conn)
        .await
        .optional()?)
}

/// Deletes every job of the user.
pub async fn delete_all(conn: &mut AsyncPgConnection, user: UserId) -> Result<usize, IngestError> {
    Ok(diesel::delete(jobs::table.filter(jobs::user_id.eq(user))).execute(conn).await?)
}
