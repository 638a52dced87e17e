//! The command line, as clap derive types. Each subcommand's arguments live here; what they do
//! lives in `commands/` and `ops/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `penny`: Penny's operator command line, a client of the public API through the gateway.
#[derive(Debug, Parser)]
#[command(name = "penny", version, about, propagate_version = true)]
pub struct Cli {
    /// The gateway's base URL.
    #[arg(long, env = "PENNY_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,

    /// Print answers as JSON instead of tables (list and show commands).
    #[arg(long, global = true)]
    pub json: bool,

    /// When following jobs, give up after this many seconds (exit 1); default: wait until done.
    #[arg(long, global = true, value_name = "SECS")]
    pub wait_timeout: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and store the session (token pair) for this gateway.
    Login(LoginArgs),
    /// End the session on the server and forget it here.
    Logout,
    /// Create an account (sign-up), then log in with `penny login`.
    Register(RegisterArgs),
    /// Connected mailboxes.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Upload an mbox export or one .eml and follow its jobs to the end.
    Import(ImportArgs),
    /// The job registry.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Send emails through extraction again (an EMAIL_REPROCESS job).
    Reprocess(ReprocessArgs),
    /// Ledger transactions.
    #[command(subcommand)]
    Transactions(TransactionsCommand),
    /// Income, expense and net per category or month, per currency.
    Summary(SummaryArgs),
    /// Download transactions as CSV.
    Export(ExportArgs),
    /// Operator tools that talk to the infrastructure, not the public API.
    #[command(subcommand)]
    Ops(OpsCommand),
}

/// `penny login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username or email (asked for when missing).
    #[arg(long, short = 'u')]
    pub user: Option<String>,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `penny register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Display name (defaults to the username).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Log in right after registering.
    #[arg(long)]
    pub login: bool,
}

/// `penny accounts ...`.
#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List connected mailboxes.
    List,
    /// Connect an IMAP mailbox (the server checks the credentials with a login).
    AddImap(AddImapArgs),
    /// Fetch new mail from a mailbox now.
    Fetch(FetchArgs),
}

/// How an IMAP connection is secured.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TlsArg {
    Implicit,
    Starttls,
    None,
}

impl TlsArg {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsArg::Implicit => "implicit",
            TlsArg::Starttls => "starttls",
            TlsArg::None => "none",
        }
    }
}

/// `penny accounts add-imap`.
#[derive(Debug, Args)]
pub struct AddImapArgs {
    #[arg(long)]
    pub host: String,
    #[arg(long)]
    pub port: u16,
    #[arg(long, value_enum)]
    pub tls: TlsArg,
    #[arg(long)]
    pub username: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// The mailbox to read (the server's default is INBOX).
    #[arg(long)]
    pub mailbox: Option<String>,
}

/// `penny accounts fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The account id.
    pub id: String,
    /// Follow the fetch and its extraction to the end.
    #[arg(long)]
    pub wait: bool,
}

/// `penny import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An mbox export, or one message as `.eml`.
    pub file: PathBuf,
    /// Print the job id and return once the upload is stored, without following the jobs.
    #[arg(long)]
    pub no_wait: bool,
}

/// `penny jobs ...`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(JobsListArgs),
    /// Show one job.
    Show(JobIdArgs),
    /// Follow a job (and the jobs it starts) to the end.
    Follow(JobIdArgs),
    /// Cancel a QUEUED or RUNNING job.
    Cancel(JobIdArgs),
    /// Retry a FAILED job (as a new job).
    Retry(RetryArgs),
}

/// `penny jobs list`.
#[derive(Debug, Args)]
pub struct JobsListArgs {
    /// QUEUED, RUNNING, SUCCESS, FAILED or CANCELLED.
    #[arg(long)]
    pub status: Option<String>,
    /// EMAIL_FETCH, EMAIL_EXTRACTION or EMAIL_REPROCESS.
    #[arg(long = "type")]
    pub job_type: Option<String>,
    /// Only the jobs started by this one.
    #[arg(long)]
    pub parent: Option<String>,
    /// Every user's jobs (admins only).
    #[arg(long)]
    pub all_users: bool,
    /// At most this many jobs.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// A job id.
#[derive(Debug, Args)]
pub struct JobIdArgs {
    pub id: String,
}

/// `penny jobs retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    pub id: String,
    /// Follow the new job to the end.
    #[arg(long)]
    pub wait: bool,
}

/// Which emails to reprocess.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScopeArg {
    All,
    Failed,
    Outdated,
    Range,
}

impl ScopeArg {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeArg::All => "all",
            ScopeArg::Failed => "failed",
            ScopeArg::Outdated => "outdated",
            ScopeArg::Range => "range",
        }
    }
}

/// `penny reprocess`.
#[derive(Debug, Args)]
pub struct ReprocessArgs {
    #[arg(long, value_enum)]
    pub scope: ScopeArg,
    /// Emails received from (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Emails received before (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Only this account's emails.
    #[arg(long)]
    pub account: Option<String>,
    /// Follow the job to the end.
    #[arg(long)]
    pub wait: bool,
}

/// `penny transactions ...`.
#[derive(Debug, Subcommand)]
pub enum TransactionsCommand {
    /// List transactions, newest first.
    List(TransactionsListArgs),
}

/// The filters of `GET /v1/transactions` (and its CSV export).
#[derive(Debug, Args, Default)]
pub struct TransactionFilters {
    /// occurred_at from (inclusive): RFC 3339 or YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// occurred_at before (exclusive): RFC 3339 or YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    /// IANA time zone for date-only --from/--to.
    #[arg(long)]
    pub tz: Option<String>,
    /// A category id.
    #[arg(long)]
    pub category: Option<String>,
    /// income or expense.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// manual, api, import, gmail, outlook, imap or upload.
    #[arg(long)]
    pub source: Option<String>,
    /// Text in the merchant or the notes.
    #[arg(long, short = 'q')]
    pub query: Option<String>,
    /// Smallest amount (a decimal).
    #[arg(long)]
    pub min_amount: Option<String>,
    /// Largest amount (a decimal).
    #[arg(long)]
    pub max_amount: Option<String>,
    /// Only those flagged (true) or not flagged (false) for review.
    #[arg(long)]
    pub needs_review: Option<bool>,
}

impl TransactionFilters {
    /// The query parameters of the set filters.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        [
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("tz", self.tz.clone()),
            ("category_id", self.category.clone()),
            ("type", self.kind.clone()),
            ("source", self.source.clone()),
            ("q", self.query.clone()),
            ("min_amount", self.min_amount.clone()),
            ("max_amount", self.max_amount.clone()),
            ("needs_review", self.needs_review.map(|b| b.to_string())),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// `penny transactions list`.
#[derive(Debug, Args)]
pub struct TransactionsListArgs {
    #[command(flatten)]
    pub filters: TransactionFilters,
    /// At most this many transactions.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

/// How the summary groups.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    Category,
    Month,
}

impl GroupByArg {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupByArg::Category => "category",
            GroupByArg::Month => "month",
        }
    }
}

/// `penny summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// From (inclusive): RFC 3339 or YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<String>,
    /// Before (exclusive): RFC 3339 or YYYY-MM-DD.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "category")]
    pub group_by: GroupByArg,
    /// IANA time zone for month boundaries and date-only bounds (default UTC).
    #[arg(long)]
    pub tz: Option<String>,
}

/// `penny export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the CSV here instead of standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filters: TransactionFilters,
}

/// `penny ops ...`.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Parking (dead-letter) queues: list, inspect, replay.
    Dlq(DlqArgs),
    /// Re-encrypt stored mailbox secrets under the active key (runs `penny-mail-ingest
    /// rotate-secrets` with this environment).
    RotateSecrets(RotateSecretsArgs),
}

/// Where RabbitMQ is.
#[derive(Debug, Args)]
pub struct RabbitArgs {
    /// RabbitMQ's management HTTP API, with credentials.
    #[arg(
        long = "rabbitmq-url",
        env = "PENNY_RABBITMQ_MANAGEMENT_URL",
        default_value = "http://guest:guest@127.0.0.1:15672",
        hide_env_values = true
    )]
    pub management_url: String,
    /// RabbitMQ's AMQP listener for `replay` (host and credentials; the vhost is --vhost).
    /// Defaults to the management URL's host and credentials on port 5672.
    #[arg(long = "amqp-url", env = "PENNY_RABBITMQ_AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<String>,
    /// The vhost Penny's queues live in.
    #[arg(long, env = "PENNY_RABBITMQ_VHOST", default_value = "/")]
    pub vhost: String,
}

/// `penny ops dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(flatten)]
    pub rabbit: RabbitArgs,
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// `penny ops dlq ...`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every parking queue and how many messages it holds.
    List,
    /// The parked messages of one queue (left in place).
    Show(DlqShowArgs),
    /// Republish parked messages with their original routing key, removing each from the
    /// parking queue only once the broker has confirmed its copy.
    Replay(DlqReplayArgs),
}

/// `penny ops dlq show`.
#[derive(Debug, Args)]
pub struct DlqShowArgs {
    /// A parking queue (`ledger.booking.parked`) or its consumer queue (`ledger.booking`).
    pub queue: String,
    /// At most this many messages, from the head.
    #[arg(long, default_value_t = 20)]
    pub count: usize,
    /// Print each message's body too.
    #[arg(long)]
    pub body: bool,
}

/// `penny ops dlq replay`.
#[derive(Debug, Args)]
pub struct DlqReplayArgs {
    /// A parking queue (`ledger.booking.parked`) or its consumer queue (`ledger.booking`).
    pub queue: String,
    /// At most this many messages (default: every message parked when the replay starts).
    #[arg(long)]
    pub count: Option<usize>,
}

/// `penny ops rotate-secrets`.
#[derive(Debug, Args)]
pub struct RotateSecretsArgs {
    /// The `penny-mail-ingest` binary (default: found in PATH).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// More arguments for it, after `--` (e.g. `-- --config mail-ingest.toml`).
    #[arg(last = true)]
    pub args: Vec<String>,
}
