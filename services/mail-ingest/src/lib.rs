//! Connected mailboxes, incremental fetching, stored emails and the job registry.
//!
//! [`Application::build`] assembles the service from its settings, so `main.rs` and the tests
//! start the same thing (the tests on port 0 with a database of their own).
//!
//! How the parts fit:
//! - [`routes`]: one module per resource, one file per action; handlers check input and call
//!   [`store`] query functions, each over `&mut AsyncPgConnection`;
//! - [`oauth`]: connecting Gmail and Outlook (authorization code with PKCE, signed state, token
//!   refresh and revocation);
//! - [`fetch`]: the fetchers (upload, IMAP, Gmail, Graph), which hand raw messages to [`ingest::Ingestor`]; it
//!   parses them ([`penny_mailtext`]), stores each email once and requests its extraction
//!   through the outbox, in the fetcher's transaction;
//! - [`mbox`]: the incremental mbox reader (pure); [`crypto`]: secrets sealed at rest;
//! - [`users`]: the reactions to `user.registered` and `user.deleted` (queue `ingest.users`);
//! - [`error::IngestError`]: the one error type, mapped once into the platform's `ApiError`.

// Unit tests may unwrap: a panic is how they fail.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod crypto;
pub mod cursor;
pub mod error;
pub mod fetch;
pub mod ingest;
pub mod mbox;
pub mod metrics;
pub mod models;
pub mod oauth;
pub mod registry;
pub mod reprocess;
pub mod routes;
pub mod scheduler;
pub mod schema;
pub mod store;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_platform::broker::ConsumerConfig;
use penny_platform::broker::topology::{INGEST_FETCH, INGEST_REGISTRY, INGEST_USERS};
use penny_platform::cli::RunMode;
use penny_platform::db::DbPool;
use penny_platform::service::{Foundation, HttpHandle};
use penny_platform::{ServiceInfo, Settings};
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::OpenApi as _;

use crate::crypto::SecretBox;
use crate::fetch::upload::UploadLimits;
use crate::oauth::{OAuth, OAuthConfig, ProviderConfig};

/// Who this service is.
pub const INFO: ServiceInfo =
    ServiceInfo { name: "mail-ingest", env_prefix: "MAIL_INGEST", schema: "ingest", default_port: 8083 };

/// The service's own migrations (`migrations/mail-ingest/`), run after the platform's.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/mail-ingest");

/// Settings of this service beyond the shared ones (environment: `PENNY_` + the name in upper
/// case, e.g. `PENNY_IMPORT_LIMIT_BYTES`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MailIngestSettings {
    /// The largest upload accepted by `POST /v1/mailbox/import`, in bytes (default 1 GiB).
    pub import_limit_bytes: u64,
    /// The largest single message kept; a larger one is recorded and skipped (default 25 MiB).
    pub max_message_bytes: usize,
    /// Email bodies are purged this many days after they were stored (unset: kept).
    pub body_retention_days: Option<u32>,
    /// AEAD keys for third-party secrets: `id:base64-of-32-bytes`, comma-separated.
    pub secret_keys: Option<SecretString>,
    /// The id of the key that seals new secrets (default: the first of `secret_keys`).
    pub secret_key_active: Option<String>,
    /// Messages fetched and committed per batch.
    pub fetch_batch_size: usize,
    /// Automatic retries of a fetch that failed for a reason that may pass (default 3).
    pub fetch_retry_limit: u32,
    /// The wait before the first automatic retry, in milliseconds; it doubles each time
    /// (default 2000, at most 5 minutes).
    pub fetch_retry_backoff_ms: u64,
    /// Whether this replica runs the scheduler of CRON fetches (default true; replicas take
    /// turns through a PostgreSQL advisory lock, so running it everywhere is safe).
    pub scheduler_enabled: bool,
    /// How often connected mailboxes are fetched, in seconds, unless an account sets its own
    /// interval (default 900; 0 turns scheduled fetches off).
    pub fetch_interval_secs: u32,
    /// Up to this many seconds are added at random to each scheduled fetch, so mailboxes
    /// connected together are not all fetched together (default 60).
    pub fetch_jitter_secs: u32,
    /// How often the scheduler looks for accounts due, in seconds (default 15).
    pub scheduler_tick_secs: u32,
    /// Gmail OAuth client id (Google Cloud Console); unset, Gmail cannot be connected.
    pub gmail_client_id: Option<String>,
    /// Gmail OAuth client secret.
    pub gmail_client_secret: Option<SecretString>,
    /// Google's authorization endpoint.
    pub gmail_auth_url: String,
    /// Google's token endpoint.
    pub gmail_token_url: String,
    /// Google's token revocation endpoint (used when a Gmail account is deleted).
    pub gmail_revoke_url: String,
    /// The Gmail API's base URL.
    pub gmail_api_url: String,
    /// The Gmail search selecting the mail a full sync fetches.
    pub gmail_query: String,
    /// Outlook (Microsoft Entra) OAuth client id; unset, Outlook cannot be connected.
    pub outlook_client_id: Option<String>,
    /// Outlook OAuth client secret.
    pub outlook_client_secret: Option<SecretString>,
    /// Microsoft's authorization endpoint (`common` accepts work and personal accounts).
    pub outlook_auth_url: String,
    /// Microsoft's token endpoint.
    pub outlook_token_url: String,
    /// Microsoft Graph's base URL.
    pub outlook_api_url: String,
    /// Where providers send the browser back (`{base}/v1/accounts/oauth/{provider}/callback`);
    /// default: the public URL.
    pub oauth_redirect_base: Option<String>,
}

impl Default for MailIngestSettings {
    fn default() -> Self {
        Self {
            import_limit_bytes: 1024 * 1024 * 1024,
            max_message_bytes: 25 * 1024 * 1024,
            body_retention_days: None,
            secret_keys: None,
            secret_key_active: None,
            fetch_batch_size: 100,
            fetch_retry_limit: 3,
            fetch_retry_backoff_ms: 2000,
            scheduler_enabled: true,
            fetch_interval_secs: 900,
            fetch_jitter_secs: 60,
            scheduler_tick_secs: 15,
            gmail_client_id: None,
            gmail_client_secret: None,
            gmail_auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            gmail_token_url: "https://oauth2.googleapis.com/token".into(),
            gmail_revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            gmail_api_url: "https://gmail.googleapis.com".into(),
            gmail_query: DEFAULT_GMAIL_QUERY.into(),
            outlook_client_id: None,
            outlook_client_secret: None,
            outlook_auth_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize".into(),
            outlook_token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token".into(),
            outlook_api_url: "https://graph.microsoft.com/v1.0".into(),
            oauth_redirect_base: None,
        }
    }
}

/// The default Gmail search: Google's "Updates" category (where banks' alerts and most receipts
/// land) and subjects that name a payment.
pub const DEFAULT_GMAIL_QUERY: &str = "category:updates OR subject:(receipt OR payment OR transaction OR charged OR purchase OR debit OR credit)";

impl MailIngestSettings {
    /// The automatic retries of a fetch job.
    pub fn retry_policy(&self) -> fetch::runner::RetryPolicy {
        fetch::runner::RetryPolicy {
            limit: self.fetch_retry_limit,
            base: Duration::from_millis(self.fetch_retry_backoff_ms.max(1)),
            max: Duration::from_secs(300),
        }
    }

    /// The scheduler's timing.
    pub fn schedule_config(&self) -> scheduler::ScheduleConfig {
        scheduler::ScheduleConfig {
            interval: Duration::from_secs(u64::from(self.fetch_interval_secs)),
            jitter: Duration::from_secs(u64::from(self.fetch_jitter_secs)),
            tick: Duration::from_secs(u64::from(self.scheduler_tick_secs.max(1))),
            max_per_tick: 500,
        }
    }

    /// The bounds of one upload.
    pub fn upload_limits(&self) -> UploadLimits {
        UploadLimits {
            max_bytes: self.import_limit_bytes,
            max_message_bytes: self.max_message_bytes,
            batch_messages: 500,
            batch_bytes: 8 * 1024 * 1024,
        }
    }

    /// The OAuth configuration; a provider is offered when its client id and secret are both
    /// set, and setting only one of them is an error.
    pub fn oauth_config(&self, public_url: &str) -> anyhow::Result<OAuthConfig> {
        fn provider(
            name: &str,
            id: Option<&String>,
            secret: Option<&SecretString>,
            urls: [&String; 3],
        ) -> anyhow::Result<Option<ProviderConfig>> {
            use secrecy::ExposeSecret as _;
            let id = id.map(|s| s.trim()).filter(|s| !s.is_empty());
            let secret = secret.filter(|s| !s.expose_secret().trim().is_empty());
            match (id, secret) {
                (None, None) => Ok(None),
                (Some(id), Some(secret)) => Ok(Some(ProviderConfig {
                    client_id: id.to_owned(),
                    client_secret: secret.clone(),
                    auth_url: urls[0].clone(),
                    token_url: urls[1].clone(),
                    api_url: urls[2].clone(),
                })),
                _ => anyhow::bail!(
                    "set both PENNY_{0}_CLIENT_ID and PENNY_{0}_CLIENT_SECRET, or neither",
                    name.to_ascii_uppercase()
                ),
            }
        }
        Ok(OAuthConfig {
            gmail: provider(
                "gmail",
                self.gmail_client_id.as_ref(),
                self.gmail_client_secret.as_ref(),
                [&self.gmail_auth_url, &self.gmail_token_url, &self.gmail_api_url],
            )?,
            outlook: provider(
                "outlook",
                self.outlook_client_id.as_ref(),
                self.outlook_client_secret.as_ref(),
                [&self.outlook_auth_url, &self.outlook_token_url, &self.outlook_api_url],
            )?,
            gmail_revoke_url: self.gmail_revoke_url.clone(),
            gmail_query: self.gmail_query.clone(),
            redirect_base: self.oauth_redirect_base.clone().unwrap_or_else(|| public_url.to_owned()),
            public_url: public_url.to_owned(),
        })
    }
}

/// The service's own subcommands.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum IngestCommand {
    /// Re-encrypts every stored secret (IMAP passwords, OAuth tokens) under the active key
    /// (`PENNY_SECRET_KEY_ACTIVE`); run after adding a key, before removing the old one.
    RotateSecrets,
}

/// Runs `rotate-secrets`: one transaction over every account sealed by another key.
pub async fn rotate_secrets(settings: Settings<MailIngestSettings>) -> anyhow::Result<usize> {
    use diesel_async::AsyncConnection as _;

    let secrets = SecretBox::from_config(
        settings.service.secret_keys.as_ref(),
        settings.service.secret_key_active.as_deref(),
    )?;
    let config = penny_platform::db::DbConfig::new(settings.common.database_url.clone(), INFO.schema, 1)?;
    penny_platform::db::migrate(&config, &MIGRATIONS).await?;
    let pool = penny_platform::db::pool(&config)?;
    let mut conn = pool.get().await?;
    let count = conn.transaction(async |conn| store::accounts::reencrypt_all(conn, &secrets).await).await?;
    tracing::info!(secrets.rotated = count, "re-encrypted {count} secrets under the active key");
    Ok(count)
}

/// Emails a reprocess job publishes per transaction.
const REPROCESS_CHUNK: usize = 200;

/// Registry events folded per transaction (three batches are prefetched).
const REGISTRY_BATCH: usize = 300;

/// What handlers share.
#[derive(Clone)]
pub struct IngestState {
    pub pool: DbPool,
    /// For mailbox uploads, which hold a connection while the client sends its file.
    pub uploads: DbPool,
    pub settings: Arc<MailIngestSettings>,
    pub secrets: Arc<SecretBox>,
    pub oauth: Arc<OAuth>,
    /// Wakes the reprocess dispatcher when a job is queued.
    pub reprocess: reprocess::Dispatcher,
}

/// A built, not yet running, service.
pub struct Application {
    foundation: Foundation,
    http: HttpHandle,
    oauth: Arc<OAuth>,
}

impl Application {
    /// Builds the service: migrations, pool, token verification, the `ingest.users` and
    /// `ingest.fetch` consumers (in `serve` and `work` modes), the body purge (when a retention is set) and the HTTP server.
    pub async fn build(settings: Settings<MailIngestSettings>, mode: RunMode) -> anyhow::Result<Self> {
        let secrets = SecretBox::from_config(
            settings.service.secret_keys.as_ref(),
            settings.service.secret_key_active.as_deref(),
        )?;
        if secrets.active_key_id().is_none() {
            tracing::warn!(
                "no secret key configured (PENNY_SECRET_KEYS): IMAP and OAuth accounts cannot be added"
            );
        }
        let oauth = Arc::new(OAuth::new(settings.service.oauth_config(&settings.common.public_url)?)?);
        let mut foundation = Foundation::start(INFO, settings.common, &MIGRATIONS, None).await?;
        metrics::register(&foundation.metrics, foundation.pool.clone())?;
        let service = Arc::new(settings.service);
        let secrets = Arc::new(secrets);
        let dispatcher = reprocess::Dispatcher::new(foundation.pool.clone(), REPROCESS_CHUNK);
        if mode.runs_workers() {
            let handler = users::UsersHandler::new(Arc::clone(&foundation.tombstones));
            foundation.spawn_consumer(handler, INGEST_USERS);
            let options = fetch::imap::FetchOptions {
                batch_size: service.fetch_batch_size.max(1),
                retry: service.retry_policy(),
            };
            let fetcher = fetch::worker::FetchHandler::new(
                foundation.pool.clone(),
                Arc::clone(&secrets),
                Arc::clone(&oauth),
                options,
            );
            foundation.spawn_consumer(fetcher, INGEST_FETCH);
            // The registry folds a batch set-wise: a larger batch means fewer statements and
            // commits per event.
            let config = ConsumerConfig::new(INGEST_REGISTRY).with_batch(REGISTRY_BATCH);
            foundation.spawn_consumer_with(registry::RegistryHandler, config);
            let dispatcher = dispatcher.clone();
            foundation.spawn_worker(move |stop| dispatcher.run(stop));
            if service.scheduler_enabled {
                let scheduler = scheduler::Scheduler::new(foundation.pool.clone(), service.schedule_config());
                foundation.spawn_worker(move |stop| scheduler.run(stop));
            }
            if let Some(days) = service.body_retention_days {
                tokio::spawn(purge_bodies(foundation.pool.clone(), days));
            }
        }
        let state = IngestState {
            pool: foundation.pool.clone(),
            uploads: foundation.uploads.clone(),
            settings: service,
            secrets,
            oauth: Arc::clone(&oauth),
            reprocess: dispatcher,
        };
        let http = foundation.http(
            mode,
            &routes::ApiDoc::openapi(),
            move |cfg: &mut web::ServiceConfig, pool: &DbPool| {
                cfg.app_data(web::Data::new(IngestState { pool: pool.clone(), ..state.clone() }));
                routes::configure(cfg);
            },
        )?;
        Ok(Self { foundation, http, oauth })
    }

    /// The HTTP port (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.http.port
    }

    /// The service's foundation (pool, tombstones), for tests and workers.
    pub fn foundation(&self) -> &Foundation {
        &self.foundation
    }

    /// The OAuth client (tests drive fetch jobs with it).
    pub fn oauth(&self) -> Arc<OAuth> {
        Arc::clone(&self.oauth)
    }

    /// Runs until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { foundation, http, .. } = self;
        http.server.await?;
        foundation.shutdown().await;
        Ok(())
    }
}

/// Purges bodies older than the retention, hourly.
async fn purge_bodies(pool: DbPool, days: u32) {
    let mut ticker = tokio::time::interval(Duration::from_secs(3600));
    loop {
        ticker.tick().await;
        let before = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
        let purged = match pool.get().await {
            Ok(mut conn) => store::emails::purge_bodies(&mut conn, before).await,
            Err(error) => Err(error.into()),
        };
        match purged {
            Ok(0) => {}
            Ok(count) => tracing::info!(emails.purged = count, "purged {count} email bodies past retention"),
            Err(error) => tracing::warn!(%error, "failed to purge email bodies"),
        }
    }
}
