//! How a job's row moves: counts added, progress merged, statuses applied in the order the state
//! machine allows, and the end of extraction and reprocess jobs decided (DESIGN.md, step 6).
//!
//! Every change to a job goes through [`settle`], which locks the job rows in id order (so two
//! registry replicas never deadlock) and re-reads each row under its lock, so concurrent writers
//! (the fetch worker adding to a child's total, the registry adding outcomes) serialise.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use penny_contract::{JobId, JobStatus, JobType};
use serde_json::{Map, Value};

use crate::error::IngestError;
use crate::schema::jobs;
use crate::store;

/// What one batch of events asks of one job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobChange {
    /// Counts to add to `output_payload` (`extracted`, `booked`, …).
    pub deltas: BTreeMap<&'static str, i64>,
    /// Progress reported by a worker: numbers only ever grow, other values are replaced.
    pub progress: Map<String, Value>,
    /// Statuses reported by a worker, in arrival order; those the state machine refuses are
    /// ignored.
    pub statuses: Vec<JobStatus>,
    /// An error payload reported by a worker.
    pub error: Option<Value>,
}

impl JobChange {
    /// Adds `delta` to the count `name`.
    pub fn add(&mut self, name: &'static str, delta: i64) {
        *self.deltas.entry(name).or_default() += delta;
    }

    /// Merges reported progress: a number replaces a smaller one only.
    pub fn merge_progress(&mut self, progress: &Map<String, Value>) {
        merge_progress(&mut self.progress, progress);
    }
}

/// Merges `incoming` into `into`: numbers never go backwards, other values are replaced.
fn merge_progress(into: &mut Map<String, Value>, incoming: &Map<String, Value>) {
    for (key, value) in incoming {
        match (into.get(key).and_then(Value::as_i64), value.as_i64()) {
            (Some(current), Some(new)) if new < current => {}
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Whether an extraction or reprocess job has every email's outcome and booking: the counts of
/// DESIGN.md add up (emails a reprocess skipped because their body was purged are never booked).
pub fn is_complete(output: &Map<String, Value>) -> bool {
    let count = |name: &str| output.get(name).and_then(Value::as_i64).unwrap_or(0);
    let total = count("total");
    count("extracted") + count("skipped") + count("failed") >= total
        && count("booked") + count("purged") >= total
}

/// The parts of a job row [`settle`] reads.
#[derive(Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
struct JobRow {
    #[diesel(column_name = job_type)]
    kind: JobType,
    status: JobStatus,
    #[diesel(column_name = output_payload)]
    output: Value,
    #[diesel(column_name = error_payload)]
    error: Option<Value>,
    sealed_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

/// Applies `changes` (in job id order) and ends the extraction and reprocess jobs that are
/// sealed and complete; returns the jobs that changed status, with their new status. Jobs that
/// no longer exist (a deleted user's) are ignored. Runs on the caller's transaction.
pub async fn settle(
    conn: &mut AsyncPgConnection,
    changes: BTreeMap<JobId, JobChange>,
) -> Result<Vec<(JobId, JobStatus)>, IngestError> {
    let mut moved = Vec::new();
    for (id, change) in changes {
        let row: Option<JobRow> =
            jobs::table.find(id).select(JobRow::as_select()).for_update().first(conn).await.optional()?;
        let Some(JobRow { kind, status: before, output, error, sealed_at, started_at, finished_at }) = row
        else {
            continue;
        };
        let mut output = match output {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let original = output.clone();
        for (name, delta) in &change.deltas {
            let current = output.get(*name).and_then(Value::as_i64).unwrap_or(0);
            output.insert((*name).to_owned(), Value::from(current + delta));
        }
        merge_progress(&mut output, &change.progress);

        let mut status = before;
        for next in &change.statuses {
            if status.can_become(*next) {
                status = *next;
            }
        }
        if kind != JobType::EmailFetch {
            if status == JobStatus::Queued && !change.deltas.is_empty() {
                status = JobStatus::Running;
            }
            if sealed_at.is_some() && !status.is_terminal() && is_complete(&output) {
                status = JobStatus::Success;
            }
        }
        if status == before && output == original && change.error.is_none() {
            continue;
        }
        let now = Utc::now();
        let started_at = match (started_at, status) {
            (None, JobStatus::Running | JobStatus::Success) => Some(now),
            (started, _) => started,
        };
        let finished_at = if status != before && status.is_terminal() { Some(now) } else { finished_at };
        diesel::update(jobs::table.find(id))
            .set((
                jobs::status.eq(status),
                jobs::output_payload.eq(Value::Object(output)),
                jobs::started_at.eq(started_at),
                jobs::finished_at.eq(finished_at),
                jobs::error_payload.eq(change.error.or(error)),
            ))
            .execute(conn)
            .await?;
        if status != before {
            tracing::info!(job.id = %id, job.status = %status, "job {id} is {status}");
            moved.push((id, status));
        }
    }
    Ok(moved)
}

/// Marks the set of emails of `jobs` final and ends those already complete.
pub async fn seal(conn: &mut AsyncPgConnection, ids: &[JobId]) -> Result<(), IngestError> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(jobs::table.filter(jobs::id.eq_any(ids)).filter(jobs::sealed_at.is_null()))
        .set(jobs::sealed_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    settle(conn, ids.iter().map(|id| (*id, JobChange::default())).collect()).await?;
    Ok(())
}

/// Ends the fetch job `id` with `status` (if its state machine allows) and seals its child
/// extraction job, which ends once its emails are all extracted and booked; one transaction.
/// Returns whether the fetch job moved.
pub async fn finish_fetch(
    conn: &mut AsyncPgConnection,
    id: JobId,
    status: JobStatus,
    error: Option<Value>,
) -> Result<bool, IngestError> {
    conn.transaction(async |conn| {
        let moved = store::jobs::transition(conn, id, status, error).await?;
        if moved && status.is_terminal() {
            let children: Vec<JobId> = jobs::table
                .filter(jobs::parent_job_id.eq(id))
                .filter(jobs::job_type.eq(JobType::EmailExtraction))
                .select(jobs::id)
                .load(conn)
                .await?;
            seal(conn, &children).await?;
        }
        Ok(moved)
    })
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn progress_numbers_never_go_backwards() {
        let mut current = map(json!({"total": 10, "stored": 6, "note": "a"}));
        merge_progress(&mut current, &map(json!({"stored": 4, "duplicates": 1, "note": "b"})));
        assert_eq!(Value::Object(current), json!({"total": 10, "stored": 6, "duplicates": 1, "note": "b"}));
    }

    #[test]
    fn a_job_is_complete_when_every_email_has_an_outcome_and_a_booking() {
        assert!(is_complete(&map(
            json!({"total": 3, "extracted": 1, "skipped": 1, "failed": 1, "booked": 3})
        )));
        assert!(!is_complete(&map(json!({"total": 3, "extracted": 2, "skipped": 1, "booked": 2}))));
        assert!(!is_complete(&map(json!({"total": 3, "extracted": 2, "booked": 3}))));
        // A reprocess never books what it skipped for a purged body.
        assert!(is_complete(&map(
            json!({"total": 3, "extracted": 2, "skipped": 1, "purged": 1, "booked": 2})
        )));
        assert!(is_complete(&map(json!({"total": 0}))));
    }
}
