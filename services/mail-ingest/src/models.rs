//! Rows of the `ingest` schema and the shapes the API answers with.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use penny_contract::{
    AccountId, AccountStatus, EmailExtractionStatus, EmailId, JobId, JobStatus, JobType, Provider, TlsMode,
    TriggeredBy, UserId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::{connected_accounts, emails, jobs};

/// A connected mailbox as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connected_accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: AccountId,
    pub user_id: UserId,
    pub provider: Provider,
    pub email: String,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub settings: serde_json::Value,
    pub secret_key_id: Option<String>,
    pub secret: Option<Vec<u8>>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Seconds between scheduled fetches (`None`: the service's default; 0: never).
    pub fetch_interval_secs: Option<i32>,
    /// When the scheduler fetches it next.
    pub next_fetch_at: Option<DateTime<Utc>>,
}

/// A connected mailbox to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = connected_accounts)]
pub struct NewAccount<'a> {
    pub id: AccountId,
    pub user_id: UserId,
    pub provider: Provider,
    pub email: &'a str,
    pub settings: serde_json::Value,
    pub secret_key_id: Option<&'a str>,
    pub secret: Option<&'a [u8]>,
}

/// The non-secret settings of an IMAP account (`connected_accounts.settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    /// The mailbox fetched (default `INBOX`).
    pub mailbox: String,
}

/// A connected mailbox as the API shows it: never a token or a password.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountView {
    pub id: AccountId,
    pub provider: Provider,
    pub email: String,
    pub status: AccountStatus,
    /// Why the account needs attention, when it does.
    pub status_reason: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Server, TLS mode, username and mailbox of an IMAP account.
    pub imap: Option<ImapSettings>,
    /// Seconds between scheduled fetches; null: the server's default; 0: never.
    pub fetch_interval_secs: Option<i32>,
    /// When the scheduler fetches it next (null: at its next tick, if it is fetched at all).
    pub next_fetch_at: Option<DateTime<Utc>>,
}

impl From<Account> for AccountView {
    fn from(account: Account) -> Self {
        let imap = match account.provider {
            Provider::Imap => serde_json::from_value(account.settings).ok(),
            _ => None,
        };
        Self {
            id: account.id,
            provider: account.provider,
            email: account.email,
            status: account.status,
            status_reason: account.status_reason,
            last_fetched_at: account.last_fetched_at,
            created_at: account.created_at,
            imap,
            fetch_interval_secs: account.fetch_interval_secs,
            next_fetch_at: account.next_fetch_at,
        }
    }
}

/// A stored email without its body.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = emails, check_for_backend(diesel::pg::Pg))]
pub struct Email {
    pub id: EmailId,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub provider: Provider,
    pub provider_message_id: String,
    pub subject: String,
    pub from_address: String,
    pub received_at: DateTime<Utc>,
    pub html_only: bool,
    pub checksum: String,
    pub size_bytes: i64,
    pub extraction_status: EmailExtractionStatus,
    pub extraction_version: Option<String>,
    pub transactions_found: i32,
    pub body_purged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An email to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = emails)]
pub struct NewEmail {
    pub id: EmailId,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub provider: Provider,
    pub provider_message_id: String,
    pub subject: String,
    pub from_address: String,
    pub received_at: DateTime<Utc>,
    pub body_text: Option<String>,
    pub html_only: bool,
    pub checksum: String,
    pub size_bytes: i64,
}

/// An email in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmailView {
    pub id: EmailId,
    pub account_id: AccountId,
    pub provider: Provider,
    pub subject: String,
    pub from: String,
    pub received_at: DateTime<Utc>,
    pub extraction_status: EmailExtractionStatus,
    pub extraction_version: Option<String>,
    pub transactions_found: i32,
    /// The mail had no text part; the body was made from its HTML.
    pub html_only: bool,
    /// SHA-256 of the raw message.
    pub checksum: String,
    pub created_at: DateTime<Utc>,
}

impl From<Email> for EmailView {
    fn from(email: Email) -> Self {
        Self {
            id: email.id,
            account_id: email.account_id,
            provider: email.provider,
            subject: email.subject,
            from: email.from_address,
            received_at: email.received_at,
            extraction_status: email.extraction_status,
            extraction_version: email.extraction_version,
            transactions_found: email.transactions_found,
            html_only: email.html_only,
            checksum: email.checksum,
            created_at: email.created_at,
        }
    }
}

/// One email with its text body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmailDetail {
    #[serde(flatten)]
    pub email: EmailView,
    /// The text body (HTML-only mail rendered as text); null once purged.
    pub body_text: Option<String>,
    /// When the body was purged after the retention period.
    pub body_purged_at: Option<DateTime<Utc>>,
}

/// A job as stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    pub id: JobId,
    /// The job's owner (useful to admins listing every user's jobs).
    pub user_id: UserId,
    /// The account a fetch job reads.
    pub account_id: Option<AccountId>,
    pub job_type: JobType,
    pub status: JobStatus,
    pub triggered_by: TriggeredBy,
    pub parent_job_id: Option<JobId>,
    #[schema(value_type = Object)]
    pub input_payload: serde_json::Value,
    /// The counts of the job (`total, stored, duplicates, malformed` for a fetch;
    /// `total, extracted, skipped, failed, booked` for an extraction).
    #[schema(value_type = Object)]
    pub output_payload: serde_json::Value,
    #[schema(value_type = Option<Object>)]
    pub error_payload: Option<serde_json::Value>,
    pub retry_count: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A job to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub id: JobId,
    pub user_id: UserId,
    pub account_id: Option<AccountId>,
    pub job_type: JobType,
    pub status: JobStatus,
    pub triggered_by: TriggeredBy,
    pub parent_job_id: Option<JobId>,
    pub input_payload: serde_json::Value,
    pub output_payload: serde_json::Value,
    pub started_at: Option<DateTime<Utc>>,
}

/// Every list answers `{items, next_cursor}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `{job_id}`: the answer of the endpoints that start a job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobCreated {
    pub job_id: JobId,
}
