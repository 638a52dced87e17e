//! Running fetch jobs: creating an `EMAIL_FETCH` job for an account and carrying it out.
//!
//! [`run_job`] is the worker's step (and what tests drive directly): it moves a QUEUED job to
//! RUNNING (a RUNNING job is resumed: it was interrupted, and the account's cursor says where
//! it stopped), runs the account's fetcher, which commits batch by batch, and finishes the job
//! SUCCESS with its counts, or FAILED with the reason. A finished job is left alone, so a
//! redelivered request does nothing. An account that is not ACTIVE (REVOKED, REAUTH_REQUIRED) is
//! never fetched; a refused grant or login marks it REAUTH_REQUIRED, so it stops being fetched
//! until its owner connects it again.

use diesel_async::AsyncPgConnection;
use penny_contract::{AccountStatus, JobId, JobStatus, JobType, Provider, TriggeredBy};

use crate::crypto::SecretBox;
use crate::error::IngestError;
use crate::fetch::imap::{self, FetchOptions, ImapConfig, ImapError};
use crate::ingest::{FetchCounts, Target};
use crate::models::{Account, Job, NewJob};
use crate::oauth::{OAuth, OAuthError};
use crate::store;

/// Creates a QUEUED fetch job for `account`.
pub async fn create_job(
    conn: &mut AsyncPgConnection,
    account: &Account,
    triggered_by: TriggeredBy,
) -> Result<Job, IngestError> {
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
            input_payload: serde_json::json!({ "account_id": account.id }),
            output_payload: serde_json::json!({"total": 0, "stored": 0, "duplicates": 0, "malformed": 0}),
            started_at: None,
        },
    )
    .await
}

/// What [`run_job`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The fetch finished; the job is SUCCESS.
    Fetched(FetchCounts),
    /// The fetch failed; the job is FAILED with this error code.
    Failed(&'static str),
    /// The job was already finished (or does not exist): nothing was done.
    Skipped,
}

/// Runs the fetch job `id`; see the module documentation. Errors are only returned for
/// failures of Penny's own database: a mail server's failure fails the job instead.
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
    if job.status == JobStatus::Queued {
        store::jobs::transition(conn, id, JobStatus::Running, None).await?;
    }
    let target = Target {
        user: account.user_id,
        account: account.id,
        provider: account.provider,
        fetch_job: id,
        triggered_by: job.triggered_by,
    };
    let fetched = match account.provider {
        Provider::Imap => match ImapConfig::from_account(&account, secrets) {
            Ok(config) => imap::fetch_account(conn, &account, &config, target, options).await,
            Err(error) => Err(error),
        },
        Provider::Upload => {
            return fail(
                conn,
                id,
                "nothing_to_fetch",
                "upload accounts are filled by POST /v1/mailbox/import",
            )
            .await;
        }
        Provider::Gmail | Provider::Outlook => {
            crate::fetch::remote::fetch_oauth_account(conn, &account, secrets, oauth, target, options).await
        }
        Provider::Other => {
            return fail(conn, id, "unsupported_provider", "this provider cannot be fetched yet").await;
        }
    };
    match fetched {
        Ok(counts) => {
            store::jobs::transition(conn, id, JobStatus::Success, None).await?;
            tracing::info!(
                job.id = %id,
                messages.total = counts.total,
                messages.stored = counts.stored,
                messages.duplicates = counts.duplicates,
                "fetch job {id} finished"
            );
            Ok(RunOutcome::Fetched(counts))
        }
        Err(IngestError::Imap(ImapError::LoginFailed)) => {
            store::accounts::set_status(
                conn,
                account.id,
                AccountStatus::ReauthRequired,
                Some("the mail server refused the stored credentials"),
            )
            .await?;
            fail(conn, id, "login_failed", "the mail server refused the stored credentials").await
        }
        Err(IngestError::Imap(error)) => fail(conn, id, "mail_server_error", &error.to_string()).await,
        Err(IngestError::OAuth(OAuthError::InvalidGrant)) => {
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
        Err(IngestError::OAuth(OAuthError::NotConfigured(provider))) => {
            let message = format!("{provider} is not configured on this server");
            fail(conn, id, "provider_not_configured", &message).await
        }
        Err(IngestError::OAuth(error)) => fail(conn, id, "provider_error", &error.to_string()).await,
        Err(IngestError::Crypto(error)) => fail(conn, id, "secret_unreadable", &error.to_string()).await,
        Err(other) => Err(other),
    }
}

async fn fail(
    conn: &mut AsyncPgConnection,
    id: JobId,
    code: &'static str,
    message: &str,
) -> Result<RunOutcome, IngestError> {
    tracing::warn!(job.id = %id, error.code = code, error.message = message, "fetch job {id} failed");
    let error = serde_json::json!({ "code": code, "message": message });
    store::jobs::transition(conn, id, JobStatus::Failed, Some(error)).await?;
    Ok(RunOutcome::Failed(code))
}
