//! Classifies emails and extracts their transactions with rules and, when configured, an LLM.
//!
//! [`Application::build`] assembles the service from its settings, so `main.rs` and the tests
//! start the same thing (the tests on port 0 with a database of their own).
//!
//! How the parts fit:
//! - [`pipeline`]: the policy (`rules`, `llm`, `cascade`) over the rule engine (`penny-rules`)
//!   and the [`llm`] extractor, with LLM answers reused and every call recorded;
//! - [`worker`]: `extraction.requested` in batches (one attempt per request, `email.extracted`
//!   through the outbox) and `user.deleted`;
//! - [`routes`]: the dry run, the attempts of an email and the LLM usage;
//! - [`store`]: the queries over [`schema`];
//! - [`metrics`]: LLM calls, tokens and cost on the service's `/metrics`.

// Unit tests may unwrap: a panic is how they fail.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod llm;
pub mod metrics;
pub mod pipeline;
pub mod routes;
pub mod schema;
pub mod settings;
pub mod store;
pub mod worker;

use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_contract::Envelope;
use penny_contract::events::ExtractionStarted;
use penny_platform::broker::ConsumerConfig;
use penny_platform::broker::topology;
use penny_platform::cli::RunMode;
use penny_platform::db::DbPool;
use penny_platform::service::{Foundation, HttpHandle};
use penny_platform::{ServiceInfo, Settings, outbox};
use utoipa::OpenApi as _;

pub use settings::{ExtractionSettings, Policy};

use crate::metrics::LlmMetrics;
use crate::pipeline::Pipeline;

/// Who this service is.
pub const INFO: ServiceInfo =
    ServiceInfo { name: "extraction", env_prefix: "EXTRACTION", schema: "extraction", default_port: 8084 };

/// The service's own migrations (`migrations/extraction/`), run after the platform's.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/extraction");

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct ExtractionState {
    pub pool: DbPool,
    pub pipeline: Arc<Pipeline>,
}

/// A built, not yet running, service.
pub struct Application {
    foundation: Foundation,
    http: HttpHandle,
}

impl Application {
    /// Builds the service: migrations, pool, token verification, the workers (in `serve` and
    /// `work` modes, announcing the extraction version) and the HTTP server.
    pub async fn build(settings: Settings<ExtractionSettings>, mode: RunMode) -> anyhow::Result<Self> {
        let pipeline = Pipeline::from_settings(&settings.service)?;
        let mut foundation = Foundation::start(INFO, settings.common, &MIGRATIONS, None).await?;
        let pipeline = Arc::new(pipeline.with_metrics(LlmMetrics::register(&foundation.metrics)?));
        if mode.runs_workers() {
            announce(&foundation.pool, pipeline.version()).await?;
            let requests = worker::RequestsWorker {
                pipeline: Arc::clone(&pipeline),
                pool: foundation.pool.clone(),
                tombstones: Arc::clone(&foundation.tombstones),
                concurrency: settings.service.llm_concurrency,
            };
            let config =
                ConsumerConfig::new(topology::EXTRACTION_REQUESTS).with_batch(settings.service.batch_size);
            foundation.spawn_consumer_with(requests, config);
            let users = worker::UsersWorker { tombstones: Arc::clone(&foundation.tombstones) };
            foundation.spawn_consumer(users, topology::EXTRACTION_USERS);
        }
        tracing::info!(version = pipeline.version(), policy = ?pipeline.policy(), "extraction ready");
        let http = foundation.http(
            mode,
            &routes::ApiDoc::openapi(),
            move |cfg: &mut web::ServiceConfig, pool: &DbPool| {
                let pipeline = Arc::clone(&pipeline);
                cfg.app_data(web::Data::new(ExtractionState { pool: pool.clone(), pipeline }));
                routes::configure(cfg);
            },
        )?;
        Ok(Self { foundation, http })
    }

    /// The HTTP port (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.http.port
    }

    /// The service's foundation (pool, broker, tombstones).
    pub fn foundation(&self) -> &Foundation {
        &self.foundation
    }

    /// Runs until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { foundation, http } = self;
        http.server.await?;
        foundation.shutdown().await;
        Ok(())
    }
}

/// Publishes `extraction.started` (through the outbox) so mail-ingest learns the newest version.
async fn announce(pool: &DbPool, version: &str) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    let envelope = Envelope::new(ExtractionStarted { extraction_version: version.to_owned() }, None);
    outbox::enqueue(&mut conn, &envelope).await?;
    Ok(())
}
