//! Users, roles, passwords, access and refresh tokens, password reset.
//!
//! [`Application::build`] assembles the service from its settings, so `main.rs` and the tests
//! start the same thing (the tests on port 0 with a database of their own).
//!
//! How the parts fit: `routes/` parse requests and answer; `accounts`, `sessions`, `reset` and
//! `credentials` hold the rules (what registering, refreshing or resetting means); `store/` holds
//! the queries, each taking a connection so the rules compose them in one transaction;
//! `passwords` (argon2id on dedicated threads), `tokens` (JWT signing, refresh tokens),
//! `mailer` and `rate_limit` are the mechanisms underneath.

pub mod accounts;
pub mod cli;
pub mod credentials;
pub mod domain;
pub mod error;
pub mod mailer;
pub mod passwords;
pub mod rate_limit;
pub mod reset;
pub mod routes;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod store;
pub mod tokens;

use std::sync::Arc;

use actix_web::web;
use anyhow::Context as _;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_platform::cli::RunMode;
use penny_platform::db::DbPool;
use penny_platform::http::auth::KeySource;
use penny_platform::service::{Foundation, HttpHandle};
use penny_platform::{ServiceInfo, Settings};
use utoipa::OpenApi as _;

pub use settings::AuthSettings;
pub use state::AppState;

/// Who this service is.
pub const INFO: ServiceInfo =
    ServiceInfo { name: "auth", env_prefix: "AUTH", schema: "auth", default_port: 8081 };

/// The service's own migrations (`migrations/auth/`), run after the platform's.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/auth");

/// Reads the signing keys the settings name.
pub fn signing_keys(settings: &AuthSettings) -> anyhow::Result<tokens::SigningKeys> {
    let active = settings.jwt_private_key_file.as_deref().context(
        "set jwt_private_key_file (PENNY_JWT_PRIVATE_KEY_FILE) to an Ed25519 PKCS#8 PEM; \
         `make run` generates one in .local/keys/",
    )?;
    tokens::SigningKeys::from_files(active, &settings.jwt_previous_key_files)
}

/// A built, not yet running, service.
pub struct Application {
    foundation: Foundation,
    state: web::Data<AppState>,
    http: HttpHandle,
}

impl Application {
    /// Builds the service: keys, migrations, pool, token verification with its own keys, the
    /// hashing threads, the mailer, the first admin if configured, and the HTTP server.
    pub async fn build(settings: Settings<AuthSettings>, mode: RunMode) -> anyhow::Result<Self> {
        let Settings { common, service } = settings;
        let keys = signing_keys(&service)?;
        let tokens = tokens::AccessTokens::new(
            keys,
            &common.jwt_issuer,
            &common.jwt_audience,
            service.access_token_ttl_secs,
        );
        let foundation =
            Foundation::start(INFO, common, &MIGRATIONS, Some(KeySource::Static(tokens.jwks()))).await?;
        let state =
            AppState::build(service, foundation.pool.clone(), tokens, Arc::clone(&foundation.tombstones))
                .await?;
        accounts::bootstrap_admin(&state.pool, &state.hasher, &state.settings).await?;
        let shared = state.clone();
        let http = foundation.http(
            mode,
            &routes::ApiDoc::openapi(),
            move |cfg: &mut web::ServiceConfig, pool: &DbPool| {
                cfg.app_data(web::Data::new(AppState { pool: pool.clone(), ..shared.clone() }));
                routes::configure(cfg);
            },
        )?;
        let state = web::Data::new(state);
        Ok(Self { foundation, state, http })
    }

    /// The HTTP port (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.http.port
    }

    /// The shared state (tests and benchmarks reach the pool and the hasher through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Runs until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { foundation, state, http } = self;
        http.server.await?;
        drop(state);
        drop(foundation);
        Ok(())
    }
}
