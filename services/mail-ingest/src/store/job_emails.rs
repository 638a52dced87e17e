//! `job_emails`: which emails each extraction or reprocess job sent to extraction, and what
//! came back. `outcome` and `booked` are each set once, so the registry counts an email once per
//! job however often its events arrive.

use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{EmailId, ExtractionOutcome, JobId};

use crate::error::IngestError;

/// Records that `job` sent `emails` to extraction (a repeated email is ignored).
pub async fn insert_sent(
    conn: &mut AsyncPgConnection,
    job: JobId,
    emails: &[EmailId],
) -> Result<(), IngestError> {
    if emails.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = emails.iter().map(|id| id.as_uuid()).collect();
    diesel::sql_query(
        "INSERT INTO job_emails (job_id, email_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(job.as_uuid())
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records emails a reprocess job could not send (their body was purged) as SKIPPED.
pub async fn insert_skipped(
    conn: &mut AsyncPgConnection,
    job: JobId,
    emails: &[EmailId],
) -> Result<u64, IngestError> {
    if emails.is_empty() {
        return Ok(0);
    }
    let ids: Vec<uuid::Uuid> = emails.iter().map(|id| id.as_uuid()).collect();
    let inserted = diesel::sql_query(
        "INSERT INTO job_emails (job_id, email_id, outcome) SELECT $1, unnest($2::uuid[]), 'SKIPPED' \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(job.as_uuid())
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)
    .await?;
    Ok(inserted as u64)
}

#[derive(diesel::QueryableByName)]
struct OutcomeRow {
    #[diesel(sql_type = SqlUuid)]
    job_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    outcome: String,
}

#[derive(diesel::QueryableByName)]
struct JobRow {
    #[diesel(sql_type = SqlUuid)]
    job_id: uuid::Uuid,
}

/// Sets the outcome of each `(job, email)` that has none yet; returns the ones that changed.
/// Pairs must be distinct (the registry deduplicates a batch first).
pub async fn set_outcomes(
    conn: &mut AsyncPgConnection,
    outcomes: &[(JobId, EmailId, ExtractionOutcome)],
) -> Result<Vec<(JobId, ExtractionOutcome)>, IngestError> {
    if outcomes.is_empty() {
        return Ok(Vec::new());
    }
    let jobs: Vec<uuid::Uuid> = outcomes.iter().map(|(job, _, _)| job.as_uuid()).collect();
    let emails: Vec<uuid::Uuid> = outcomes.iter().map(|(_, email, _)| email.as_uuid()).collect();
    let values: Vec<String> = outcomes.iter().map(|(_, _, outcome)| outcome.to_string()).collect();
    let rows: Vec<OutcomeRow> = diesel::sql_query(
        "UPDATE job_emails AS je SET outcome = v.outcome \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS v(job_id, email_id, outcome) \
         WHERE je.job_id = v.job_id AND je.email_id = v.email_id AND je.outcome IS NULL \
         RETURNING je.job_id, je.outcome",
    )
    .bind::<Array<SqlUuid>, _>(jobs)
    .bind::<Array<SqlUuid>, _>(emails)
    .bind::<Array<Text>, _>(values)
    .load(conn)
    .await?;
    rows.into_iter()
        .map(|row| {
            let outcome = row.outcome.parse().map_err(|_| {
                IngestError::Internal(anyhow::anyhow!("unexpected outcome `{}`", row.outcome))
            })?;
            Ok((JobId::from(row.job_id), outcome))
        })
        .collect()
}

/// Marks each `(job, email)` booked unless it already is; returns the jobs of those that changed
/// (once per changed pair). Pairs must be distinct.
pub async fn set_booked(
    conn: &mut AsyncPgConnection,
    pairs: &[(JobId, EmailId)],
) -> Result<Vec<JobId>, IngestError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let jobs: Vec<uuid::Uuid> = pairs.iter().map(|(job, _)| job.as_uuid()).collect();
    let emails: Vec<uuid::Uuid> = pairs.iter().map(|(_, email)| email.as_uuid()).collect();
    let rows: Vec<JobRow> = diesel::sql_query(
        "UPDATE job_emails AS je SET booked = true \
         FROM unnest($1::uuid[], $2::uuid[]) AS v(job_id, email_id) \
         WHERE je.job_id = v.job_id AND je.email_id = v.email_id AND NOT je.booked \
         RETURNING je.job_id",
    )
    .bind::<Array<SqlUuid>, _>(jobs)
    .bind::<Array<SqlUuid>, _>(emails)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| JobId::from(row.job_id)).collect())
}

/// The emails a job sent, for a retry.
pub async fn emails_of(conn: &mut AsyncPgConnection, job: JobId) -> Result<Vec<EmailId>, IngestError> {
    use diesel::{ExpressionMethods as _, QueryDsl as _};

    use crate::schema::job_emails;
    Ok(job_emails::table.filter(job_emails::job_id.eq(job)).select(job_emails::email_id).load(conn).await?)
}
