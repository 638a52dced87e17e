//! Classifies emails and extracts their transactions with rules and, when configured, an LLM.
//!
//! [`Application::build`] assembles the service from its settings, so `main.rs` and the tests
//! start the same thing (the tests on port 0 with a database of their own).

pub mod routes;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_platform::cli::RunMode;
use penny_platform::service::{Foundation, HttpHandle};
use penny_platform::{ServiceInfo, Settings};
use serde::Deserialize;
use utoipa::OpenApi as _;

/// Who this service is.
pub const INFO: ServiceInfo =
    ServiceInfo { name: "extraction", env_prefix: "EXTRACTION", schema: "extraction", default_port: 8084 };

/// The service's own migrations (`migrations/extraction/`), run after the platform's.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/extraction");

/// Settings of this service beyond the shared ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ExtractionSettings {}

/// A built, not yet running, service.
pub struct Application {
    foundation: Foundation,
    http: HttpHandle,
}

impl Application {
    /// Builds the service: migrations, pool, token verification and the HTTP server.
    pub async fn build(settings: Settings<ExtractionSettings>, mode: RunMode) -> anyhow::Result<Self> {
        let foundation = Foundation::start(INFO, settings.common, &MIGRATIONS, None).await?;
        let http = foundation.http(mode, &routes::ApiDoc::openapi(), routes::configure)?;
        Ok(Self { foundation, http })
    }

    /// The HTTP port (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.http.port
    }

    /// Runs until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { foundation, http } = self;
        http.server.await?;
        drop(foundation);
        Ok(())
    }
}
