//! The job registry on `/metrics`: `penny_jobs{job_type, status}`, the number of jobs of each
//! type in each status (with the platform's prefix and `service="mail-ingest"` label).
//!
//! The gauge is sampled when `/metrics` is scraped, from one `GROUP BY` over `jobs`, so nothing
//! on the job paths pays for it. Every replica reports the same numbers (they read one table):
//! aggregate with `max`, not `sum`. Every known type × status pair is always present (0 when no
//! job is in it), so a status that empties reads 0 rather than keeping its last value.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use penny_contract::{JobStatus, JobType};
use penny_platform::db::DbPool;
use penny_platform::metrics::prometheus::{IntGaugeVec, Opts};
use penny_platform::metrics::{Metrics, MetricsError, Sampler};

const JOB_TYPES: [JobType; 3] = [JobType::EmailFetch, JobType::EmailExtraction, JobType::EmailReprocess];
const JOB_STATUSES: [JobStatus; 5] =
    [JobStatus::Queued, JobStatus::Running, JobStatus::Success, JobStatus::Failed, JobStatus::Cancelled];

/// Registers the job gauge in the service's registry and samples it on every scrape.
pub fn register(metrics: &Metrics, pool: DbPool) -> Result<(), MetricsError> {
    metrics.add_sampler(JobsSampler::register(metrics, pool)?);
    Ok(())
}

/// Samples `penny_jobs` from the `jobs` table.
pub struct JobsSampler {
    pool: DbPool,
    jobs: IntGaugeVec,
    /// Every (type, status) pair reported so far, set to 0 when a sample no longer finds it.
    known: Mutex<HashSet<(String, String)>>,
}

impl JobsSampler {
    /// Registers `penny_jobs` in `metrics`, every known pair at 0 until the first scrape.
    pub fn register(metrics: &Metrics, pool: DbPool) -> Result<Self, MetricsError> {
        let jobs = metrics.register(IntGaugeVec::new(
            Opts::new("jobs", "Jobs in the registry, by type and status."),
            &["job_type", "status"],
        )?)?;
        let mut known = HashSet::new();
        for job_type in JOB_TYPES {
            for status in JOB_STATUSES {
                jobs.with_label_values(&[job_type.as_ref(), status.as_ref()]).set(0);
                known.insert((job_type.to_string(), status.to_string()));
            }
        }
        Ok(Self { pool, jobs, known: Mutex::new(known) })
    }
}

#[derive(QueryableByName)]
struct JobCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    job_type: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    jobs: i64,
}

impl Sampler for JobsSampler {
    fn name(&self) -> &'static str {
        "jobs"
    }

    fn sample(&self) -> BoxFuture<'_, Result<(), MetricsError>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let rows: Vec<JobCount> = diesel::sql_query(
                "SELECT job_type, status, count(*) AS jobs FROM jobs GROUP BY job_type, status",
            )
            .load(&mut conn)
            .await?;
            let counts: HashMap<(String, String), i64> =
                rows.into_iter().map(|row| ((row.job_type, row.status), row.jobs)).collect();
            let mut known = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (job_type, status) in known.iter() {
                if !counts.contains_key(&(job_type.clone(), status.clone())) {
                    self.jobs.with_label_values(&[job_type.as_str(), status.as_str()]).set(0);
                }
            }
            for ((job_type, status), jobs) in counts {
                self.jobs.with_label_values(&[job_type.as_str(), status.as_str()]).set(jobs);
                known.insert((job_type, status));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use diesel_async::RunQueryDsl;
    use penny_platform::db::{self, DbConfig};
    use penny_platform::metrics::{Metrics, Sampler};
    use penny_testkit::TestDb;

    use super::JobsSampler;

    #[tokio::test]
    async fn the_gauge_counts_jobs_by_type_and_status_and_reads_zero_when_a_status_empties() {
        let test_db = TestDb::new().await;
        let config =
            DbConfig::new(secrecy::SecretString::from(test_db.url()), crate::INFO.schema, 2).unwrap();
        db::migrate(&config, &crate::MIGRATIONS).await.unwrap();
        let pool = db::pool(&config).unwrap();
        let metrics = Metrics::new(crate::INFO.name).unwrap();
        let sampler = JobsSampler::register(&metrics, pool.clone()).unwrap();
        let gauge = |job_type: &str, status: &str| sampler.jobs.with_label_values(&[job_type, status]).get();

        let insert = |job_type: &'static str, status: &'static str| {
            diesel::sql_query(
                "INSERT INTO jobs (id, user_id, job_type, status, triggered_by) \
                 VALUES (gen_random_uuid(), gen_random_uuid(), $1, $2, 'MANUAL')",
            )
            .bind::<diesel::sql_types::Text, _>(job_type)
            .bind::<diesel::sql_types::Text, _>(status)
        };
        let mut conn = pool.get().await.unwrap();
        for (job_type, status) in
            [("EMAIL_FETCH", "RUNNING"), ("EMAIL_FETCH", "SUCCESS"), ("EMAIL_FETCH", "SUCCESS")]
        {
            insert(job_type, status).execute(&mut conn).await.unwrap();
        }
        insert("EMAIL_EXTRACTION", "QUEUED").execute(&mut conn).await.unwrap();
        sampler.sample().await.unwrap();
        assert_eq!(gauge("EMAIL_FETCH", "RUNNING"), 1);
        assert_eq!(gauge("EMAIL_FETCH", "SUCCESS"), 2);
        assert_eq!(gauge("EMAIL_EXTRACTION", "QUEUED"), 1);
        assert_eq!(gauge("EMAIL_REPROCESS", "FAILED"), 0);

        diesel::sql_query("UPDATE jobs SET status = 'SUCCESS' WHERE status = 'RUNNING'")
            .execute(&mut conn)
            .await
            .unwrap();
        sampler.sample().await.unwrap();
        assert_eq!((gauge("EMAIL_FETCH", "RUNNING"), gauge("EMAIL_FETCH", "SUCCESS")), (0, 3));

        metrics.add_sampler(sampler);
        let text = metrics.render().await;
        assert!(
            text.contains(r#"penny_jobs{job_type="EMAIL_FETCH",status="SUCCESS",service="mail-ingest"} 3"#),
            "{text}"
        );
    }
}
