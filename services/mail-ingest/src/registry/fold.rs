//! Folding a batch of outcome and status events into `emails`, `job_emails` and `jobs`.
//!
//! Idempotent and order-tolerant:
//! - an email's outcome counts once per job (`job_emails.outcome` is set once), and so does its
//!   booking, whichever of the two arrives first and however often each is delivered;
//! - the email row shows the newest outcome by the time it was produced, so a late, older
//!   outcome never replaces a newer one;
//! - counts only grow; statuses only move forward ([`JobStatus::can_become`]);
//! - events about jobs or emails that no longer exist (a deleted user's) change nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int4, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::events::{EmailBooked, EmailExtracted, ExtractionStarted, JobStatusChanged};
use penny_contract::{EmailExtractionStatus, EmailId, Envelope, ExtractionOutcome, JobId, JobStatus};

use super::progress::{self, JobChange};
use crate::error::IngestError;
use crate::store;

/// One message of the registry's queue.
#[derive(Debug, Clone)]
pub enum RegistryEvent {
    Extracted(Envelope<EmailExtracted>),
    Booked(Envelope<EmailBooked>),
    Status(Envelope<JobStatusChanged>),
    Started(Envelope<ExtractionStarted>),
}

/// What a batch changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Outcomes counted (new for their job).
    pub outcomes: usize,
    /// Bookings counted (new for their job).
    pub bookings: usize,
    /// Jobs that changed status, with the new status.
    pub moved: Vec<(JobId, JobStatus)>,
}

/// The count an outcome adds to.
pub fn count_name(outcome: ExtractionOutcome) -> &'static str {
    match outcome {
        ExtractionOutcome::Success => "extracted",
        ExtractionOutcome::Skipped => "skipped",
        ExtractionOutcome::Failed => "failed",
    }
}

/// Folds `events` on the caller's transaction; see the module documentation.
pub async fn fold(conn: &mut AsyncPgConnection, events: &[&RegistryEvent]) -> Result<Folded, IngestError> {
    let mut outcomes: Vec<(JobId, EmailId, ExtractionOutcome)> = Vec::new();
    let mut seen_outcomes = HashSet::new();
    let mut newest: HashMap<EmailId, (DateTime<Utc>, &EmailExtracted)> = HashMap::new();
    let mut booked: Vec<(JobId, EmailId)> = Vec::new();
    let mut seen_booked = HashSet::new();
    let mut changes: BTreeMap<JobId, JobChange> = BTreeMap::new();
    let mut versions: HashMap<&str, DateTime<Utc>> = HashMap::new();

    for event in events {
        match event {
            RegistryEvent::Extracted(envelope) => {
                let e = &envelope.payload;
                if seen_outcomes.insert((e.job_id, e.email_id)) {
                    outcomes.push((e.job_id, e.email_id, e.status));
                }
                let at = envelope.occurred_at;
                if newest.get(&e.email_id).is_none_or(|(current, _)| *current <= at) {
                    newest.insert(e.email_id, (at, e));
                }
            }
            RegistryEvent::Booked(envelope) => {
                let b = &envelope.payload;
                if seen_booked.insert((b.job_id, b.email_id)) {
                    booked.push((b.job_id, b.email_id));
                }
            }
            RegistryEvent::Status(envelope) => {
                let s = &envelope.payload;
                let change = changes.entry(s.job_id).or_default();
                change.statuses.extend(s.status);
                if let Some(progress) = &s.progress {
                    change.merge_progress(progress);
                }
                if let Some(error) = &s.error {
                    change.error = Some(error.clone());
                }
            }
            RegistryEvent::Started(envelope) => {
                let version = envelope.payload.extraction_version.as_str();
                let at = envelope.occurred_at;
                let entry = versions.entry(version).or_insert(at);
                *entry = (*entry).max(at);
            }
        }
    }

    update_emails(conn, newest.into_values().collect()).await?;
    let counted = store::job_emails::set_outcomes(conn, &outcomes).await?;
    for (job, outcome) in &counted {
        changes.entry(*job).or_default().add(count_name(*outcome), 1);
    }
    let booked_jobs = store::job_emails::set_booked(conn, &booked).await?;
    for job in &booked_jobs {
        changes.entry(*job).or_default().add("booked", 1);
    }
    for (version, at) in versions {
        record_version(conn, version, at).await?;
    }
    let moved = progress::settle(conn, changes).await?;
    Ok(Folded { outcomes: counted.len(), bookings: booked_jobs.len(), moved })
}

/// Shows each email's newest outcome; a FAILED attempt keeps the count of transactions found
/// before (the ledger keeps them too).
async fn update_emails(
    conn: &mut AsyncPgConnection,
    newest: Vec<(DateTime<Utc>, &EmailExtracted)>,
) -> Result<(), IngestError> {
    if newest.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = newest.iter().map(|(_, e)| e.email_id.as_uuid()).collect();
    let users: Vec<uuid::Uuid> = newest.iter().map(|(_, e)| e.user_id.as_uuid()).collect();
    let statuses: Vec<String> =
        newest.iter().map(|(_, e)| EmailExtractionStatus::from(e.status).to_string()).collect();
    let versions: Vec<String> = newest.iter().map(|(_, e)| e.extraction_version.clone()).collect();
    let found: Vec<i32> =
        newest.iter().map(|(_, e)| i32::try_from(e.transactions.len()).unwrap_or(i32::MAX)).collect();
    let at: Vec<DateTime<Utc>> = newest.iter().map(|(at, _)| *at).collect();
    diesel::sql_query(
        "UPDATE emails AS e SET extraction_status = v.status, extraction_version = v.version, \
           transactions_found = CASE WHEN v.status = 'FAILED' THEN e.transactions_found ELSE v.found END, \
           extracted_at = v.at \
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int4[], $5::timestamptz[], $6::uuid[]) \
           AS v(id, status, version, found, at, user_id) \
         WHERE e.id = v.id AND e.user_id = v.user_id \
           AND (e.extracted_at IS NULL OR e.extracted_at <= v.at)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Text>, _>(statuses)
    .bind::<Array<Text>, _>(versions)
    .bind::<Array<Int4>, _>(found)
    .bind::<Array<Timestamptz>, _>(at)
    .bind::<Array<SqlUuid>, _>(users)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an announced extraction version (the latest announcement time wins).
async fn record_version(
    conn: &mut AsyncPgConnection,
    version: &str,
    at: DateTime<Utc>,
) -> Result<(), IngestError> {
    diesel::sql_query(
        "INSERT INTO extraction_versions (version, announced_at) VALUES ($1, $2) \
         ON CONFLICT (version) DO UPDATE SET announced_at = GREATEST(extraction_versions.announced_at, EXCLUDED.announced_at)",
    )
    .bind::<Text, _>(version)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest extraction version announced, if any.
pub async fn newest_version(conn: &mut AsyncPgConnection) -> Result<Option<String>, IngestError> {
    use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _};

    use crate::schema::extraction_versions;
    Ok(extraction_versions::table
        .order(extraction_versions::announced_at.desc())
        .select(extraction_versions::version)
        .first(conn)
        .await
        .optional()?)
}
