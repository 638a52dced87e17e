//! Starting a service: the steps every Penny service binary shares, so each `main.rs` is a
//! line and each `lib.rs` only adds its routes and workers.
//!
//! [`run`] parses the command line (`serve`, `api`, `work`, `migrate`, plus the service's own
//! subcommands), loads settings, installs telemetry and hands over. [`Foundation::start`] builds
//! what a running service needs: the pool (after migrating, unless turned off), the tombstone
//! cache, the token verifier and the outbox relay (every mode publishes its outbox).
//! [`Foundation::spawn_consumer`] adds message workers, [`Foundation::http`] starts the HTTP
//! server on the configured port (0 picks a free one, as tests do), and dropping or
//! [`Foundation::shutdown`] stops the workers: each finishes its current batch (or leaves it
//! unacked for redelivery) and returns.
//!
//! Every Foundation has its own [`Metrics`] registry, served on its `/metrics`: the relay, the
//! consumers and the HTTP server count into it, the outbox backlog is sampled at scrape time,
//! and the service registers its own metrics there.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::web;
use clap::{Parser, Subcommand};
use diesel_migrations::EmbeddedMigrations;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::broker::BrokerConfig;
use crate::broker::consumer::{Consumer, ConsumerConfig, Handler};
use crate::broker::relay::{Relay, RelayConfig};
use crate::broker::topology::QueueSpec;
use crate::cli::{GlobalArgs, RunMode};
use crate::db::{self, DbConfig, DbPool, WorkerPools};
use crate::http::JwtVerifier;
use crate::http::auth::KeySource;
use crate::http::health::{FlagCheck, ReadinessCheck, ReadinessChecks};
use crate::http::server::{self, HttpServerConfig, PlatformState};
use crate::metrics::{Metrics, OutboxSampler};
use crate::settings::{CommonSettings, ServiceInfo, Settings};
use crate::tombstones::Tombstones;

/// How often the tombstone cache reloads from the database.
const TOMBSTONE_REFRESH: Duration = Duration::from_secs(5);

/// A service's command line: the shared run modes, or the service's own subcommands `E`.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli<E: Subcommand> {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command<E>>,
}

/// A run mode or a service-specific subcommand.
#[derive(Debug, Subcommand)]
pub enum Command<E: Subcommand> {
    #[command(flatten)]
    Mode(RunMode),
    #[command(flatten)]
    Extra(E),
}

/// For services without subcommands of their own.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum NoExtraCommands {}

/// Parses the command line, loads settings and telemetry, runs `migrate` itself and passes
/// every other command to `start`, which runs until the service stops.
pub async fn run<S, E, F, Fut>(
    info: ServiceInfo,
    migrations: &'static EmbeddedMigrations,
    start: F,
) -> anyhow::Result<()>
where
    S: DeserializeOwned,
    E: Subcommand + std::fmt::Debug,
    F: FnOnce(Settings<S>, Command<E>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let cli = Cli::<E>::parse();
    let settings = Settings::<S>::load(&info, cli.global.config.as_deref())?;
    let _telemetry =
        crate::telemetry::init(info.name, settings.common.log_format, &settings.common.log_filter)?;
    let command = cli.command.unwrap_or(Command::Mode(RunMode::Serve));
    if let Command::Mode(RunMode::Migrate) = command {
        let config = db_config(&info, &settings.common)?;
        db::migrate(&config, migrations).await?;
        tracing::info!(service = info.name, "migrations are up to date");
        return Ok(());
    }
    let outcome = start(settings, command).await;
    if let Err(error) = &outcome {
        tracing::error!(error = ?error, "service stopped with an error");
    }
    outcome
}

fn db_config(info: &ServiceInfo, common: &CommonSettings) -> anyhow::Result<DbConfig> {
    Ok(DbConfig::new(common.database_url.clone(), info.schema, common.database_pool_size)?)
}

/// What every running service stands on.
pub struct Foundation {
    pub info: ServiceInfo,
    pub common: CommonSettings,
    pub db: DbConfig,
    /// The pool of the message workers and background tasks (HTTP handlers have their own).
    pub pool: DbPool,
    /// The pool of streaming uploads (`upload_connections`), apart from the API's and the
    /// workers' so that slow clients cannot starve either.
    pub uploads: DbPool,
    pub tombstones: Arc<Tombstones>,
    pub verifier: Arc<JwtVerifier>,
    /// Where the broker is.
    pub broker: BrokerConfig,
    /// Readiness checks besides the database (the broker, as the relay last saw it).
    pub readiness: Vec<Arc<dyn ReadinessCheck>>,
    /// The service's metrics registry (served on `/metrics`); services register theirs here.
    pub metrics: Metrics,
    shutdown: CancellationToken,
    workers: Vec<tokio::task::JoinHandle<()>>,
    refresher: tokio::task::JoinHandle<()>,
}

impl Drop for Foundation {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.refresher.abort();
    }
}

impl Foundation {
    /// Migrates (unless `migrate_on_start` is off), builds the pool, loads tombstones and sets
    /// up token verification from `jwks_file` or `jwks_url`, or from `keys` when given (auth
    /// verifies with its own keys).
    pub async fn start(
        info: ServiceInfo,
        common: CommonSettings,
        migrations: &'static EmbeddedMigrations,
        keys: Option<KeySource>,
    ) -> anyhow::Result<Self> {
        let db = db_config(&info, &common)?;
        if common.migrate_on_start {
            db::migrate(&db, migrations).await?;
        }
        let pool = db::pool(&db)?;
        let uploads = db::pool(&DbConfig { pool_size: common.upload_connections.max(1), ..db.clone() })?;
        let tombstones = Tombstones::new();
        tombstones.refresh(&pool).await?;
        let refresher = tombstones.spawn_refresher(pool.clone(), TOMBSTONE_REFRESH);
        let keys = match (keys, &common.jwks_file, &common.jwks_url) {
            (Some(keys), _, _) => keys,
            (None, Some(file), _) => KeySource::File(file.clone()),
            (None, None, Some(url)) => KeySource::Url(url.clone()),
            (None, None, None) => anyhow::bail!("set jwks_url or jwks_file so access tokens can be verified"),
        };
        let verifier = Arc::new(JwtVerifier::new(
            keys,
            &common.jwt_issuer,
            &common.jwt_audience,
            Arc::clone(&tombstones),
        ));
        let broker = BrokerConfig::new(common.amqp_url.clone(), format!("penny-{}", info.name));
        let metrics = Metrics::new(info.name)?;
        metrics.add_sampler(OutboxSampler::register(&metrics, pool.clone())?);
        let shutdown = CancellationToken::new();
        let relay = Relay::new(pool.clone(), db.clone(), broker.clone(), RelayConfig::default())
            .with_metrics(&metrics);
        let readiness: Vec<Arc<dyn ReadinessCheck>> =
            vec![Arc::new(FlagCheck::new("broker", relay.connected_flag()))];
        let workers = vec![tokio::spawn(relay.run(shutdown.child_token()))];
        Ok(Self {
            info,
            common,
            db,
            pool,
            uploads,
            tombstones,
            verifier,
            broker,
            readiness,
            metrics,
            shutdown,
            workers,
            refresher,
        })
    }

    /// Starts a worker consuming `queue` with `handler`, until shutdown.
    pub fn spawn_consumer<H: Handler>(&mut self, handler: H, queue: QueueSpec) {
        self.spawn_consumer_with(handler, ConsumerConfig::new(queue));
    }

    /// Starts a worker with its own tuning (batch size, prefetch), until shutdown.
    pub fn spawn_consumer_with<H: Handler>(&mut self, handler: H, config: ConsumerConfig) {
        let consumer = Consumer::new(handler, self.pool.clone(), self.broker.clone(), config)
            .with_metrics(&self.metrics);
        self.workers.push(tokio::spawn(consumer.run(self.shutdown.child_token())));
    }

    /// Starts a background task of the service's own (a scheduler, a dispatcher), given a
    /// token that is cancelled at shutdown; shutdown waits for it like for the consumers.
    pub fn spawn_worker<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.workers.push(tokio::spawn(task(self.shutdown.child_token())));
    }

    /// Stops the relay and the consumers and waits (up to the shutdown timeout) for them to
    /// finish what they hold: a consumer applies, commits and acks the batch in hand, then
    /// closes its connection so the broker hands its prefetched messages to another consumer.
    /// A worker still busy at the timeout is aborted: its open transaction rolls back, its
    /// connection drops, and the broker redelivers its unacked messages (a batch that did
    /// commit but was not acked is redelivered too, and the inbox makes that a no-op). Either
    /// way nothing is lost and nothing is applied twice.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let mut workers = std::mem::take(&mut self.workers);
        let timeout = Duration::from_secs(self.common.shutdown_timeout_secs);
        let all = futures::future::join_all(workers.iter_mut());
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(service = self.info.name, "workers did not stop in time; aborting them");
            // A handle that already finished must not be polled again.
            let busy: Vec<_> = workers.into_iter().filter(|worker| !worker.is_finished()).collect();
            for worker in &busy {
                worker.abort();
            }
            // Aborted tasks end at their next await; waiting drops their connections before we
            // return.
            futures::future::join_all(busy).await;
        }
    }

    /// Starts the HTTP server: the service's `routes` in modes that run the API, only the
    /// platform's probes and metrics in `work` mode. `routes` is called once per worker thread
    /// with that worker's own database pool (see [`WorkerPools`]), which its handlers use.
    ///
    /// Each worker thread has `http_worker_connections`; [`Foundation::pool`] is the message
    /// workers'.
    pub fn http<F>(
        &self,
        mode: RunMode,
        openapi: &utoipa::openapi::OpenApi,
        routes: F,
    ) -> anyhow::Result<HttpHandle>
    where
        F: Fn(&mut web::ServiceConfig, &DbPool) + Clone + Send + 'static,
    {
        let listener = TcpListener::bind((self.common.host.as_str(), self.common.port))?;
        let port = listener.local_addr()?.port();
        let database = if mode.runs_api() {
            WorkerPools::for_api(&self.db, self.common.http_worker_connections)?
        } else {
            WorkerPools::for_probes(&self.db)?
        };
        let workers = database.len();
        let state = PlatformState {
            service: self.info,
            verifier: Arc::clone(&self.verifier),
            database,
            readiness: ReadinessChecks(self.readiness.clone()),
            openapi: Arc::new(serde_json::to_value(openapi)?),
            trusted_proxies: self.common.trusted_proxies.clone(),
            json_limit: self.common.json_limit_bytes,
            metrics: self.metrics.clone(),
        };
        let config = HttpServerConfig { listener, shutdown_timeout_secs: self.common.shutdown_timeout_secs };
        let server = if mode.runs_api() {
            server::build(config, state, routes)?
        } else {
            server::build(config, state, |_: &mut web::ServiceConfig, _: &DbPool| {})?
        };
        tracing::info!(service = self.info.name, port, mode = ?mode, workers, "listening");
        Ok(HttpHandle { port, handle: server.handle(), server })
    }
}

/// A started HTTP server.
pub struct HttpHandle {
    pub port: u16,
    pub handle: ServerHandle,
    pub server: Server,
}
