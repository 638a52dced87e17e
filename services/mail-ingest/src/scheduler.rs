//! The scheduler of CRON fetches: every tick, the one replica holding a PostgreSQL advisory
//! lock queues an `EMAIL_FETCH` job (triggered by `CRON`) for each connected mailbox that is due
//! and has no fetch QUEUED or RUNNING, and moves its next run one interval (plus jitter) ahead.
//!
//! An account is due when `next_fetch_at` has passed (or was never set). Its interval is its own
//! `fetch_interval_secs` or the service's default; 0 means never. Only ACTIVE IMAP, Gmail and
//! Outlook accounts are fetched (uploads have nothing to fetch). The lock is taken per tick and
//! per transaction (`pg_try_advisory_xact_lock`), so a replica that dies releases it at once.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use penny_contract::{AccountStatus, JobStatus, JobType, Provider, TriggeredBy};
use penny_platform::db::DbPool;
use rand::Rng as _;
use tokio_util::sync::CancellationToken;

use crate::error::IngestError;
use crate::fetch::runner;
use crate::models::Account;
use crate::schema::{connected_accounts, jobs};

/// The advisory lock key of the scheduler ("penny-sc" in ASCII), per database.
pub const LOCK_KEY: i64 = 0x7065_6e6e_792d_7363;

/// How the scheduler runs.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleConfig {
    /// The default interval between fetches of an account; zero: never.
    pub interval: Duration,
    /// Up to this much is added at random to each next run.
    pub jitter: Duration,
    /// How often to look for accounts due.
    pub tick: Duration,
    /// Accounts scheduled per tick at most.
    pub max_per_tick: i64,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// Another replica holds the lock: nothing was done.
    LockHeld,
    /// This many fetch jobs were queued.
    Scheduled(usize),
}

/// The scheduler of one replica.
#[derive(Clone)]
pub struct Scheduler {
    pool: DbPool,
    config: ScheduleConfig,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

impl Scheduler {
    /// A scheduler over `pool`.
    pub fn new(pool: DbPool, config: ScheduleConfig) -> Self {
        Self { pool, config }
    }

    /// Ticks until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(self.config.tick.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            match self.tick().await {
                Ok(Tick::Scheduled(n)) if n > 0 => tracing::info!(jobs = n, "scheduled {n} fetches"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the scheduler's tick failed"),
            }
        }
    }

    /// One tick; see the module documentation.
    pub async fn tick(&self) -> Result<Tick, IngestError> {
        let mut conn = self.pool.get().await?;
        let config = self.config;
        conn.transaction(async |conn| {
            let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                .bind::<BigInt, _>(LOCK_KEY)
                .get_result(conn)
                .await?;
            if !lock.locked {
                return Ok(Tick::LockHeld);
            }
            let due = due_accounts(conn, config).await?;
            let mut scheduled = 0;
            for account in due {
                let interval = account
                    .fetch_interval_secs
                    .map_or(config.interval, |secs| Duration::from_secs(secs.max(0) as u64));
                let job = runner::queue_job(conn, &account, TriggeredBy::Cron, None).await?;
                let jitter_ms = config.jitter.as_millis() as u64;
                let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms));
                let next = Utc::now() + chrono::Duration::from_std(interval + jitter).unwrap_or_default();
                diesel::update(connected_accounts::table.find(account.id))
                    .set(connected_accounts::next_fetch_at.eq(next))
                    .execute(conn)
                    .await?;
                tracing::debug!(
                    account.id = %account.id,
                    user.id = %account.user_id,
                    job.id = %job.id,
                    "scheduled fetch job {} of account {}",
                    job.id,
                    account.id
                );
                scheduled += 1;
            }
            Ok(Tick::Scheduled(scheduled))
        })
        .await
    }
}

/// Accounts due for a fetch with none QUEUED or RUNNING.
async fn due_accounts(
    conn: &mut AsyncPgConnection,
    config: ScheduleConfig,
) -> Result<Vec<Account>, IngestError> {
    let active_fetch = jobs::table
        .filter(jobs::account_id.eq(connected_accounts::id.nullable()))
        .filter(jobs::job_type.eq(JobType::EmailFetch))
        .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running]))
        .select(jobs::id);
    let mut query = connected_accounts::table
        .filter(connected_accounts::status.eq(AccountStatus::Active))
        .filter(connected_accounts::provider.eq_any([Provider::Imap, Provider::Gmail, Provider::Outlook]))
        .filter(
            connected_accounts::next_fetch_at.is_null().or(connected_accounts::next_fetch_at.le(Utc::now())),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(active_fetch)))
        .into_boxed();
    query = if config.interval.is_zero() {
        // Off by default: only accounts with an interval of their own.
        query.filter(connected_accounts::fetch_interval_secs.gt(0))
    } else {
        query.filter(
            connected_accounts::fetch_interval_secs
                .is_null()
                .or(connected_accounts::fetch_interval_secs.gt(0)),
        )
    };
    Ok(query
        .order(connected_accounts::next_fetch_at.asc().nulls_first())
        .limit(config.max_per_tick)
        .select(Account::as_select())
        .load(conn)
        .await?)
}
