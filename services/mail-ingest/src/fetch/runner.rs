//! Running fetch jobs: creating an `EMAIL_FETCH` job for an account and carrying it out.
//!
//! [`run_job`] is the worker's step (and what tests drive directly): it moves a QUEUED job to
//! RUNNING (a RUNNING job is resumed: it was interrupted, and the account's cursor says where
//! it stopped), runs the account's fetcher, which commits batch by batch, and finishes the job
//! SUCCESS with its counts, or FAILED with the reason once its automatic retries
//! ([`RetryPolicy`]) are spent; a cancelled job stops at the next batch boundary and ends
//! CANCELLED. Ending the job seals its child extraction job ([`crate::registry::finish_fetch`]).
//! A finished job is left alone, so a redelivered request does nothing. An account that is not ACTIVE (REVOKED, REAUTH_REQUIRED) is
//! never fetched; a refused grant or login marks it REAUTH_REQUIRED, so it stops being fetched
//! until its owner connects it again.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use penny_contract::events::FetchRequested;
use penny_contract::{AccountStatus, Envelope, JobId, JobStatus, JobType, Provider, TriggeredBy};

use crate::crypto::SecretBox;
use crate::error::IngestError;
use crate::fetch::imap::{self, FetchOptions, ImapConfig, ImapError};
use crate::ingest::{FetchCounts, Target};
use crate::models::{Account, Job, NewJob};
use crate::oauth::{OAuth, OAuthError};
use crate::{registry, store};

/// Creates a QUEUED fetch job for `account`.
pub async fn create_job(
    conn: &mut AsyncPgConnection,
    account: &Account,
    triggered_by: TriggeredBy,
) -> Result<Job, IngestError> {
    create_job_with(conn, account, triggered_by, None).await
}

/// Creates a QUEUED fetch job for `account` and publishes `ingest.fetch.requested` for it
/// (through the outbox, on the caller's transaction); `retry_of` names the failed job it
/// retries.
pub async fn queue_job(
    conn: &mut AsyncPgConnection,
    account: &Account,
    triggered_by: TriggeredBy,
    retry_of: Option<JobId>,
) -> Result<Job, IngestError> {
    let job = create_job_with(conn, account, triggered_by, retry_of).await?;
    let event = FetchRequested { job_id: job.id, account_id: account.id, user_id: account.user_id };
    penny_platform::outbox::enqueue(conn, &Envelope::new(event, Some(job.id.as_uuid()))).await?;
    Ok(job)
}

async fn create_job_with(
    conn: &mut AsyncPgConnection,
    account: &Account,
    triggered_by: TriggeredBy,
    retry_of: Option<JobId>,
) -> Result<Job, IngestError> {
    let mut input = serde_json::json!({ "account_id": account.id });
    if let Some(failed) = retry_of {
        input["retry_of"] = serde_json::json!(failed);
    }
    store::jobs::insert(
        conn,
        &NewJob {
            id: JobId::new(),
            user_id: account.user_id,
            account_id: Some(account.id),
            job_type: JobType::EmailFetch,
            status: JobStatus::Queued,
            triggered_by,
            parent_job_id: None,
            input_payload: input,
            output_payload: serde_json::json!({"total": 0, "stored": 0, "duplicates": 0, "malformed": 0}),
            started_at: None,
        },
    )
    .await
}

/// Automatic retries inside a fetch job: after a failure that may pass (a server that cannot be
/// reached or answers 5xx, a token endpoint that fails), the fetch is tried again from the
/// account's cursor after `base`, then twice that, and so on (at most `max`), `limit` times;
/// each retry is counted in the job's `retry_count`. The job is FAILED only when they run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub limit: u32,
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { limit: 3, base: Duration::from_secs(2), max: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// No automatic retries.
    pub fn none() -> Self {
        Self { limit: 0, ..Self::default() }
    }

    /// The wait before retry number `retry` (1-based).
    pub fn delay(&self, retry: u32) -> Duration {
        self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max)
    }
}

/// What [`run_job`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The fetch finished; the job is SUCCESS.
    Fetched(FetchCounts),
    /// The fetch failed; the job is FAILED with this error code.
    Failed(&'static str),
    /// The fetch stopped because the job was cancelled; it is CANCELLED.
    Cancelled,
    /// The job was already finished (or does not exist, or was cancelled or started by another
    /// run while this one read it): nothing was done.
    Skipped,
}

/// Runs the fetch job `id`; see the module documentation. Errors are only returned for
/// failures of Penny's own database: a mail server's failure fails the job instead, after the
/// automatic retries of `options.retry` when it may pass.
#[tracing::instrument(skip_all, fields(job.id = %id, user.id, account.id))]
pub async fn run_job(
    conn: &mut AsyncPgConnection,
    secrets: &SecretBox,
    oauth: &OAuth,
    id: JobId,
    options: FetchOptions,
) -> Result<RunOutcome, IngestError> {
    let Some(job) = store::jobs::get(conn, None, id).await? else { return Ok(RunOutcome::Skipped) };
    if job.job_type != JobType::EmailFetch || job.status.is_terminal() {
        return Ok(RunOutcome::Skipped);
    }
    tracing::Span::current().record("user.id", tracing::field::display(job.user_id));
    let account = match job.account_id {
        Some(account) => store::accounts::find(conn, account).await?,
        None => None,
    };
    let Some(account) = account else {
        return fail(conn, id, "account_gone", "the account was deleted").await;
    };
    tracing::Span::current().record("account.id", tracing::field::display(account.id));
    if account.status != AccountStatus::Active {
        let message = format!("the account is {}; connect it again", account.status);
        return fail(conn, id, "account_inactive", &message).await;
    }
    // The job may have been cancelled (or taken by another worker) since it was read: only the
    // run that moves it to RUNNING goes on.
    if job.status == JobStatus::Queued {
        let started = store::jobs::transition(conn, id, JobStatus::Running, None).await?;
        if !started {
            return Ok(RunOutcome::Skipped);
        }
    }
    let target = Target {
        user: account.user_id,
        account: account.id,
        provider: account.provider,
        fetch_job: id,
        triggered_by: job.triggered_by,
    };
    // Retries already counted survive a redelivery, so a worker restart does not reset them.
    let mut retries = u32::try_from(job.retry_count).unwrap_or(0);
    let mut account = account;
    let mut first = true;
    loop {
        if store::jobs::cancel_requested(conn, id).await? {
            return cancelled(conn, id).await;
        }
        if !std::mem::take(&mut first) {
            // The account may have changed during the back-off: disconnected (its secret erased,
            // REVOKED) or given new tokens by the attempt before; a retry uses what is stored now.
            let Some(current) = store::accounts::find(conn, account.id).await? else {
                return fail(conn, id, "account_gone", "the account was deleted").await;
            };
            if current.status != AccountStatus::Active {
                let message = format!("the account is {}; connect it again", current.status);
                return fail(conn, id, "account_inactive", &message).await;
            }
            account = current;
        }
        let fetched = fetch_once(conn, &account, secrets, oauth, target, options).await;
        let error = match fetched {
            Ok(counts) => {
                registry::finish_fetch(conn, id, JobStatus::Success, None).await?;
                tracing::info!(
                    job.id = %id,
                    messages.total = counts.total,
                    messages.stored = counts.stored,
                    messages.duplicates = counts.duplicates,
                    "fetch job {id} finished"
                );
                return Ok(RunOutcome::Fetched(counts));
            }
            Err(IngestError::Cancelled) => return cancelled(conn, id).await,
            Err(error) => error,
        };
        let Some((code, message)) = transient(&error) else {
            return give_up(conn, id, &account, error).await;
        };
        if retries >= options.retry.limit {
            return fail(conn, id, code, &message).await;
        }
        retries += 1;
        let wait = options.retry.delay(retries);
        let payload = serde_json::json!({
            "code": code, "message": message, "retry": retries, "retry_in_ms": wait.as_millis() as u64,
        });
        store::jobs::count_retry(conn, id, payload).await?;
        tracing::info!(
            job.id = %id,
            error.code = code,
            retry = retries,
            wait_ms = wait.as_millis() as u64,
            "fetch job {id} failed ({code}); retry {retries} in {} ms",
            wait.as_millis()
        );
        if sleep_unless_cancelled(conn, id, wait).await? {
            return cancelled(conn, id).await;
        }
    }
}

/// Waits `wait`, looking every second whether the job was asked to stop; returns whether it was.
async fn sleep_unless_cancelled(
    conn: &mut AsyncPgConnection,
    id: JobId,
    wait: Duration,
) -> Result<bool, IngestError> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let now = tokio::time::Instant::now();
        if now >= until {
            return Ok(false);
        }
        tokio::time::sleep((until - now).min(Duration::from_secs(1))).await;
        if store::jobs::cancel_requested(conn, id).await? {
            return Ok(true);
        }
    }
}

/// One attempt at the account's fetch.
async fn fetch_once(
    conn: &mut AsyncPgConnection,
    account: &Account,
    secrets: &SecretBox,
    oauth: &OAuth,
    target: Target,
    options: FetchOptions,
) -> Result<FetchCounts, IngestError> {
    match account.provider {
        Provider::Imap => {
            let config = ImapConfig::from_account(account, secrets)?;
            imap::fetch_account(conn, account, &config, target, options).await
        }
        Provider::Upload => Err(IngestError::Conflict {
            code: "nothing_to_fetch",
            message: "upload accounts are filled by POST /v1/mailbox/import".into(),
        }),
        Provider::Gmail | Provider::Outlook => {
            crate::fetch::remote::fetch_oauth_account(conn, account, secrets, oauth, target, options).await
        }
        Provider::Other => Err(IngestError::Conflict {
            code: "unsupported_provider",
            message: "this provider cannot be fetched yet".into(),
        }),
    }
}

/// The error code and message of a failure that may pass with time, or `None` for one that
/// will not (refused credentials, missing configuration, an unreadable secret).
fn transient(error: &IngestError) -> Option<(&'static str, String)> {
    match error {
        IngestError::Imap(ImapError::LoginFailed) => None,
        IngestError::Imap(error) => Some(("mail_server_error", error.to_string())),
        IngestError::OAuth(
            OAuthError::Unreachable(_)
            | OAuthError::RateLimited { .. }
            | OAuthError::TokenEndpoint(_)
            | OAuthError::BadResponse(_),
        ) => Some(("provider_error", error.to_string())),
        IngestError::OAuth(OAuthError::Provider { status, .. }) if *status >= 500 || *status == 429 => {
            Some(("provider_error", error.to_string()))
        }
        _ => None,
    }
}

/// Fails the job for a failure that retrying will not cure (or returns Penny's own errors).
async fn give_up(
    conn: &mut AsyncPgConnection,
    id: JobId,
    account: &Account,
    error: IngestError,
) -> Result<RunOutcome, IngestError> {
    match error {
        IngestError::Imap(ImapError::LoginFailed) => {
            store::accounts::set_status(
                conn,
                account.id,
                AccountStatus::ReauthRequired,
                Some("the mail server refused the stored credentials"),
            )
            .await?;
            fail(conn, id, "login_failed", "the mail server refused the stored credentials").await
        }
        IngestError::OAuth(OAuthError::InvalidGrant) => {
            let reason =
                "the provider refused the stored authorization (invalid_grant); connect the mailbox again";
            store::accounts::set_status(conn, account.id, AccountStatus::ReauthRequired, Some(reason))
                .await?;
            tracing::warn!(
                account.id = %account.id,
                job.id = %id,
                "account {} needs to be connected again: invalid_grant",
                account.id
            );
            fail(conn, id, "reauth_required", reason).await
        }
        IngestError::OAuth(OAuthError::NotConfigured(provider)) => {
            let message = format!("{provider} is not configured on this server");
            fail(conn, id, "provider_not_configured", &message).await
        }
        IngestError::OAuth(error) => fail(conn, id, "provider_error", &error.to_string()).await,
        IngestError::Imap(error) => fail(conn, id, "mail_server_error", &error.to_string()).await,
        IngestError::Crypto(error) => fail(conn, id, "secret_unreadable", &error.to_string()).await,
        IngestError::Conflict { code, message } => fail(conn, id, code, &message).await,
        other => Err(other),
    }
}

async fn cancelled(conn: &mut AsyncPgConnection, id: JobId) -> Result<RunOutcome, IngestError> {
    registry::finish_fetch(conn, id, JobStatus::Cancelled, None).await?;
    tracing::info!(job.id = %id, "fetch job {id} stopped: cancelled");
    Ok(RunOutcome::Cancelled)
}

async fn fail(
    conn: &mut AsyncPgConnection,
    id: JobId,
    code: &'static str,
    message: &str,
) -> Result<RunOutcome, IngestError> {
    tracing::warn!(job.id = %id, error.code = code, error.message = message, "fetch job {id} failed");
    let error = serde_json::json!({ "code": code, "message": message });
    registry::finish_fetch(conn, id, JobStatus::Failed, Some(error)).await?;
    Ok(RunOutcome::Failed(code))
}
