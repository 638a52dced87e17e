//! Prometheus metrics: one registry per service, served on the service's own `/metrics`.
//!
//! [`Metrics::new`] builds the registry every metric of a service goes into. The registry adds
//! the `penny_` prefix and a `service` label to everything it holds, so the platform's metrics
//! and a service's own ones read alike (`penny_http_requests_total{service="ledger",...}`).
//! What the platform puts there itself:
//!
//! - HTTP: `penny_http_requests_total` and the `penny_http_requests_duration_seconds` histogram,
//!   by route pattern, method and status (recorded by the server's middleware);
//! - consumers, by queue: `penny_messages_consumed_total` (deliveries taken, redeliveries
//!   included), `penny_messages_applied_total`, `penny_messages_duplicates_total` (already in
//!   the inbox), `penny_messages_retried_total`, `penny_messages_parked_total` (also by
//!   `reason`: `malformed` or `retries_exhausted`) and the
//!   `penny_consumer_batch_duration_seconds` histogram;
//! - the outbox relay: `penny_messages_published_total` and `penny_messages_unroutable_total`
//!   (confirmed but taken by no queue yet, offered again later), by routing key;
//! - the outbox backlog, sampled when `/metrics` is scraped (see [`OutboxSampler`]):
//!   `penny_outbox_pending` and `penny_outbox_oldest_pending_seconds`.
//!
//! A service adds its own metrics with [`Metrics::register`], and gauges that are cheapest to
//! compute from the database when scraped with [`Metrics::add_sampler`]: a scrape runs every
//! sampler (concurrently, each bounded by [`SAMPLE_TIMEOUT`]) and then encodes the registry, so
//! the relay and the consumers never pay for a count nobody reads. Gauges sampled from a table
//! that several replicas share report the same value from each replica: aggregate them with
//! `max`, not `sum`.
//!
//! Prometheus types are re-exported as [`prometheus`] so services use the same version.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
pub use prometheus;
use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

use crate::db::{DbError, DbPool};

/// The prefix of every metric name.
pub const PREFIX: &str = "penny";

/// How long one sampler may take during a scrape before its gauges are served as they were.
pub const SAMPLE_TIMEOUT: Duration = Duration::from_secs(2);

/// Buckets of the HTTP latency histogram, in seconds: sub-millisecond handlers up to long
/// uploads.
pub const HTTP_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Buckets of the consumer batch histogram, in seconds: a rules batch takes milliseconds, a
/// batch waiting on an LLM tens of seconds.
pub const BATCH_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Setting metrics up or sampling them failed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
    #[error("failed to set up the HTTP metrics: {0}")]
    Http(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for MetricsError {
    fn from(error: diesel::result::Error) -> Self {
        MetricsError::Db(error.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for MetricsError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        MetricsError::Db(error.into())
    }
}

/// Something that refreshes gauges of its own when `/metrics` is scraped (a count over a table).
pub trait Sampler: Send + Sync + 'static {
    /// A short name for logs and `penny_metrics_sample_failures_total`.
    fn name(&self) -> &'static str;

    /// Updates the sampler's gauges. On an error the gauges keep their last values.
    fn sample(&self) -> BoxFuture<'_, Result<(), MetricsError>>;
}

/// One service's metrics: its registry, the platform's own metrics in it, and the samplers run
/// at scrape time. Cheap to clone; every clone shares the registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    registry: Registry,
    http: PrometheusMetrics,
    broker: BrokerMetrics,
    samplers: Mutex<Vec<Arc<dyn Sampler>>>,
    sample_failures: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("service", &self.inner.service).finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry for `service` (its name becomes the `service` label), with the platform's
    /// HTTP and broker metrics registered. Each service (each app of a test process) has its
    /// own, so several of them never collide.
    pub fn new(service: &str) -> Result<Self, MetricsError> {
        let labels = HashMap::from([("service".to_owned(), service.to_owned())]);
        let registry = Registry::new_custom(Some(PREFIX.to_owned()), Some(labels))?;
        // No namespace of its own (the registry adds the prefix) and no endpoint: `/metrics` is
        // a route of the server, so scraping can run the samplers first.
        let http = PrometheusMetricsBuilder::new("")
            .registry(registry.clone())
            .buckets(HTTP_BUCKETS)
            .mask_unmatched_patterns("UNMATCHED")
            .build()
            .map_err(|e| MetricsError::Http(e.to_string()))?;
        let broker = BrokerMetrics::new()?;
        broker.register(&registry)?;
        let sample_failures = IntCounterVec::new(
            Opts::new("metrics_sample_failures_total", "Scrape-time samplers that failed or timed out."),
            &["sampler"],
        )?;
        registry.register(Box::new(sample_failures.clone()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                service: service.to_owned(),
                registry,
                http,
                broker,
                samplers: Mutex::new(Vec::new()),
                sample_failures,
            }),
        })
    }

    /// The service these metrics describe.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The registry (to gather from in tests, or to register collectors by hand).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Registers `collector` and hands it back, so it can be kept and updated.
    pub fn register<C: Collector + Clone + 'static>(&self, collector: C) -> Result<C, MetricsError> {
        self.inner.registry.register(Box::new(collector.clone()))?;
        Ok(collector)
    }

    /// Adds a sampler run on every scrape.
    pub fn add_sampler(&self, sampler: impl Sampler) {
        self.inner.samplers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Arc::new(sampler));
    }

    /// The request-metrics middleware of the HTTP server.
    pub(crate) fn http_middleware(&self) -> PrometheusMetrics {
        self.inner.http.clone()
    }

    /// The broker's metrics, for consumers and relays.
    pub(crate) fn broker(&self) -> &BrokerMetrics {
        &self.inner.broker
    }

    /// Runs the samplers, then encodes the registry in the Prometheus text format: what
    /// `/metrics` serves.
    pub async fn render(&self) -> String {
        let samplers: Vec<Arc<dyn Sampler>> =
            self.inner.samplers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        futures::future::join_all(samplers.iter().map(|sampler| async move {
            let failure = match tokio::time::timeout(SAMPLE_TIMEOUT, sampler.sample()).await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error.to_string(),
                Err(_) => "timed out".to_owned(),
            };
            tracing::warn!(sampler = sampler.name(), error = %failure, "metrics sampler failed");
            self.inner.sample_failures.with_label_values(&[sampler.name()]).inc();
        }))
        .await;
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.inner.registry.gather(), &mut buffer) {
            tracing::error!(%error, "failed to encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// The messaging layer's metrics (see the module docs for their names).
#[derive(Clone)]
pub(crate) struct BrokerMetrics {
    consumed: IntCounterVec,
    applied: IntCounterVec,
    duplicates: IntCounterVec,
    retried: IntCounterVec,
    parked: IntCounterVec,
    batch_seconds: HistogramVec,
    published: IntCounterVec,
    unroutable: IntCounterVec,
}

impl BrokerMetrics {
    /// The metrics, not registered anywhere yet (a consumer or relay built without a registry
    /// still counts, unseen).
    pub(crate) fn new() -> Result<Self, prometheus::Error> {
        let counter =
            |name: &str, help: &str, labels: &[&str]| IntCounterVec::new(Opts::new(name, help), labels);
        Ok(Self {
            consumed: counter(
                "messages_consumed_total",
                "Deliveries a consumer took from its queue (redeliveries and retries included).",
                &["queue"],
            )?,
            applied: counter(
                "messages_applied_total",
                "Messages applied and committed by a consumer.",
                &["queue"],
            )?,
            duplicates: counter(
                "messages_duplicates_total",
                "Deliveries already in the consumer's inbox, acked without effect.",
                &["queue"],
            )?,
            retried: counter(
                "messages_retried_total",
                "Messages a handler failed on, sent to a delay queue to be tried again.",
                &["queue"],
            )?,
            parked: counter(
                "messages_parked_total",
                "Messages parked in the queue's parking queue, by reason (malformed, retries_exhausted).",
                &["queue", "reason"],
            )?,
            batch_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "consumer_batch_duration_seconds",
                    "Time to apply, commit and settle one batch of deliveries.",
                )
                .buckets(BATCH_BUCKETS.to_vec()),
                &["queue"],
            )?,
            published: counter(
                "messages_published_total",
                "Outbox rows the relay published and the broker confirmed, by routing key.",
                &["routing_key"],
            )?,
            unroutable: counter(
                "messages_unroutable_total",
                "Outbox rows the broker confirmed but no queue took yet (offered again later).",
                &["routing_key"],
            )?,
        })
    }

    fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.consumed.clone()))?;
        registry.register(Box::new(self.applied.clone()))?;
        registry.register(Box::new(self.duplicates.clone()))?;
        registry.register(Box::new(self.retried.clone()))?;
        registry.register(Box::new(self.parked.clone()))?;
        registry.register(Box::new(self.batch_seconds.clone()))?;
        registry.register(Box::new(self.published.clone()))?;
        registry.register(Box::new(self.unroutable.clone()))?;
        Ok(())
    }

    /// The counters of one queue, labelled once.
    pub(crate) fn consumer(&self, queue: &str) -> ConsumerMetrics {
        ConsumerMetrics {
            consumed: self.consumed.with_label_values(&[queue]),
            applied: self.applied.with_label_values(&[queue]),
            duplicates: self.duplicates.with_label_values(&[queue]),
            retried: self.retried.with_label_values(&[queue]),
            parked_malformed: self.parked.with_label_values(&[queue, "malformed"]),
            parked_exhausted: self.parked.with_label_values(&[queue, "retries_exhausted"]),
            batch_seconds: self.batch_seconds.with_label_values(&[queue]),
        }
    }

    /// Counts rows of one routing key the relay published, and those no queue took.
    pub(crate) fn published(&self, routing_key: &str, sent: u64, unroutable: u64) {
        if sent > 0 {
            self.published.with_label_values(&[routing_key]).inc_by(sent);
        }
        if unroutable > 0 {
            self.unroutable.with_label_values(&[routing_key]).inc_by(unroutable);
        }
    }
}

/// One consumer's counters.
#[derive(Clone)]
pub(crate) struct ConsumerMetrics {
    pub(crate) consumed: IntCounter,
    pub(crate) applied: IntCounter,
    pub(crate) duplicates: IntCounter,
    pub(crate) retried: IntCounter,
    pub(crate) parked_malformed: IntCounter,
    pub(crate) parked_exhausted: IntCounter,
    pub(crate) batch_seconds: Histogram,
}

/// Samples the outbox backlog of a service's schema on every scrape: the rows not yet published
/// and the age of the oldest. The count walks the partial index on pending rows, so it stays
/// cheap while the relay keeps up, and the relay itself never waits for it.
pub struct OutboxSampler {
    pool: DbPool,
    pending: IntGauge,
    oldest_seconds: Gauge,
}

impl OutboxSampler {
    /// Registers `penny_outbox_pending` and `penny_outbox_oldest_pending_seconds` in `metrics`.
    pub fn register(metrics: &Metrics, pool: DbPool) -> Result<Self, MetricsError> {
        let pending = metrics.register(IntGauge::new("outbox_pending", "Outbox rows not yet published.")?)?;
        let oldest_seconds = metrics.register(Gauge::new(
            "outbox_oldest_pending_seconds",
            "Age of the oldest outbox row not yet published (0 when none is pending).",
        )?)?;
        Ok(Self { pool, pending, oldest_seconds })
    }
}

#[derive(QueryableByName)]
struct Backlog {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pending: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    oldest_seconds: f64,
}

impl Sampler for OutboxSampler {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn sample(&self) -> BoxFuture<'_, Result<(), MetricsError>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let backlog: Backlog = diesel::sql_query(
                "SELECT count(*) AS pending, \
                 coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds \
                 FROM outbox",
            )
            .get_result(&mut conn)
            .await?;
            self.pending.set(backlog.pending);
            self.oldest_seconds.set(backlog.oldest_seconds.max(0.0));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_the_prefix_and_the_service_label() {
        let metrics = Metrics::new("widgets").unwrap();
        let consumer = metrics.broker().consumer("test.queue");
        consumer.consumed.inc_by(3);
        consumer.parked_malformed.inc();
        metrics.broker().published("user.deleted", 1, 0);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let text = runtime.block_on(metrics.render());
        assert!(
            text.contains(r#"penny_messages_consumed_total{queue="test.queue",service="widgets"} 3"#),
            "{text}"
        );
        assert!(text.contains(
            r#"penny_messages_parked_total{queue="test.queue",reason="malformed",service="widgets"} 1"#
        ));
        assert!(
            text.contains(
                r#"penny_messages_published_total{routing_key="user.deleted",service="widgets"} 1"#
            )
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("penny_") && line.contains(r#"service="widgets""#), "{line}");
        }
    }

    #[test]
    fn two_services_in_one_process_do_not_collide() {
        let a = Metrics::new("a").unwrap();
        let b = Metrics::new("b").unwrap();
        a.broker().consumer("q").applied.inc();
        assert_eq!(b.broker().consumer("q").applied.get(), 0);
        assert!(a.register(IntGauge::new("same", "x").unwrap()).is_ok());
        assert!(b.register(IntGauge::new("same", "x").unwrap()).is_ok());
        assert!(a.register(IntGauge::new("same", "x").unwrap()).is_err(), "registered twice in one registry");
    }
}
