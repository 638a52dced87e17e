//! What the handlers share, built once from the settings.

use std::sync::Arc;
use std::time::Duration;

use penny_platform::db::DbPool;
use penny_platform::tombstones::Tombstones;

use crate::mailer::{DirMailer, Mailer, SmtpMailer};
use crate::passwords::{HashParams, PasswordHasher};
use crate::rate_limit::AddressLimiter;
use crate::settings::AuthSettings;
use crate::tokens::AccessTokens;

/// The handlers' state, stored as app data: one per HTTP worker, with that worker's pool and
/// everything else shared.
#[derive(Clone)]
pub struct AppState {
    /// The auth schema.
    pub pool: DbPool,
    /// Password hashing off the executor.
    pub hasher: PasswordHasher,
    /// Signs access tokens.
    pub tokens: Arc<AccessTokens>,
    /// Delivers reset codes.
    pub mailer: Arc<dyn Mailer>,
    /// Per-address limits.
    pub limiter: Arc<AddressLimiter>,
    /// Deleted users, so this replica refuses their tokens at once.
    pub tombstones: Arc<Tombstones>,
    /// A session's absolute lifetime.
    pub refresh_ttl: chrono::Duration,
    /// The service's settings.
    pub settings: AuthSettings,
}

impl AppState {
    /// Builds the state: starts the hashing threads and chooses the mailer.
    pub async fn build(
        settings: AuthSettings,
        pool: DbPool,
        tokens: AccessTokens,
        tombstones: Arc<Tombstones>,
    ) -> anyhow::Result<Self> {
        let params = HashParams {
            memory_kib: settings.argon2_memory_kib,
            iterations: settings.argon2_iterations,
            parallelism: settings.argon2_parallelism,
        };
        let hasher =
            PasswordHasher::start(params, settings.password_hash_threads, settings.password_min_score)
                .await?;
        let mailer: Arc<dyn Mailer> = match &settings.smtp_url {
            Some(url) => Arc::new(SmtpMailer::new(url, &settings.mail_from)?),
            None => {
                tracing::info!(mail.dir = %settings.mail_dir.display(), "no smtp_url: mail goes to a folder");
                Arc::new(DirMailer::new(settings.mail_dir.clone(), &settings.mail_from)?)
            }
        };
        let limiter = Arc::new(AddressLimiter::new(
            settings.rate_limits_enabled,
            settings.rate_limit_address_requests,
            Duration::from_secs(settings.rate_limit_address_window_secs),
        ));
        let refresh_ttl = chrono::Duration::seconds(i64::try_from(settings.refresh_token_ttl_secs)?);
        Ok(Self {
            pool,
            hasher,
            tokens: Arc::new(tokens),
            mailer,
            limiter,
            tombstones,
            refresh_ttl,
            settings,
        })
    }

    /// The failed-login window in seconds, as the store wants it.
    pub fn login_window_secs(&self) -> i64 {
        i64::try_from(self.settings.login_failure_window_secs).unwrap_or(i64::MAX / 2)
    }
}
