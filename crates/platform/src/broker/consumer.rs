//! Consumers: batches applied in one database transaction, acked after the commit.
//!
//! [`Consumer::step`] takes what is ready (up to a batch), and for each message:
//! - parses it with the handler's [`Decode`]; a message that cannot be parsed is parked at once
//!   with the reason;
//! - skips it if its id is already in the inbox (a redelivery or an outbox duplicate);
//! - otherwise hands the batch to the [`Handler`] inside one transaction that also records the
//!   ids in the inbox (unless the handler is [`Handler::IDEMPOTENT`] by its own keys). If the
//!   batch fails, each message is tried alone so one poison message does not hold back the
//!   rest; a message that still fails is sent to the next delay queue, or parked once the retry
//!   budget is spent (and the handler's parking hook runs).
//!
//! Only then is the whole batch acked with one `multiple` ack. Nothing is ever dropped: every
//! message ends applied, waiting in a retry queue, or parked. Tests drive `step` directly.
//!
//! Tracing: a batch is handled in a `consume` span that continues the trace of its first
//! message's publisher (its `traceparent` header) and links the traces of the others; a message
//! tried alone gets a span that continues its own trace. Events the handler enqueues inside
//! the span carry the trace on; a batch handler that wants each message's follow-up in that
//! message's own trace uses [`Delivered::span`] and [`crate::outbox::enqueue_each_in`].
//!
//! Stopping: [`Consumer::run`] checks its shutdown token between steps, so a batch in hand is
//! applied, committed and acked before it returns; then it closes its connection, which hands
//! the deliveries prefetched but not started back to the broker for another consumer.
//!
//! Metrics (when built [`Consumer::with_metrics`]): deliveries consumed, applied, duplicates,
//! retried and parked, and the batch duration, labelled by queue (see [`crate::metrics`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Connection, Consumer as LapinConsumer};
use penny_contract::events::{Envelope, Event, EventError};
use penny_contract::{MessageId, routing};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::publisher::{Outgoing, Publisher};
use super::topology::{self, QueuePolicy, QueueSpec};
use super::{Backoff, BrokerConfig, BrokerError, headers};
use crate::db::DbPool;
use crate::metrics::{ConsumerMetrics, Metrics};

/// How a message body becomes the handler's type.
pub trait Decode: Sized + Clone + Send + Sync + 'static {
    /// Parses one message; an error parks the message as malformed.
    fn decode(routing_key: &str, body: &[u8]) -> Result<Self, EventError>;
}

impl<E: Event + Clone + Send + Sync + 'static> Decode for Envelope<E> {
    fn decode(_: &str, body: &[u8]) -> Result<Self, EventError> {
        Envelope::from_slice(body)
    }
}

impl Decode for penny_contract::events::UserEvent {
    fn decode(routing_key: &str, body: &[u8]) -> Result<Self, EventError> {
        penny_contract::events::UserEvent::decode(routing_key, body)
    }
}

/// A parsed message and what the broker said about it.
#[derive(Debug, Clone)]
pub struct Delivered<M> {
    pub message_id: MessageId,
    pub routing_key: String,
    pub message: M,
    /// How many times a handler already failed on it.
    pub attempt: u32,
    pub headers: HashMap<String, String>,
}

impl<M> Delivered<M> {
    /// A span for the work done on this message alone, continuing the trace of its publisher.
    /// A batch handler runs each message's own work in it and enqueues the message's follow-up
    /// events with [`crate::outbox::enqueue_each_in`], so that every message of a batch (not
    /// only the first, whose trace the batch's span continues) keeps its trace downstream.
    pub fn span(&self) -> tracing::Span {
        let span =
            tracing::info_span!("message", message.id = %self.message_id, routing_key = %self.routing_key);
        crate::telemetry::continue_trace(&span, &self.headers);
        span
    }
}

/// A handler failure: retried with back-off, then parked with this text as the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    /// Wraps any error.
    pub fn new(error: impl std::fmt::Display) -> Self {
        Self(error.to_string())
    }
}

impl From<diesel::result::Error> for HandlerError {
    fn from(error: diesel::result::Error) -> Self {
        Self::new(error)
    }
}

impl From<crate::db::DbError> for HandlerError {
    fn from(error: crate::db::DbError) -> Self {
        Self::new(error)
    }
}

/// What a service does with the messages of one queue.
pub trait Handler: Send + Sync + 'static {
    /// The parsed message type.
    type Message: Decode;

    /// Whether applying a message twice is already a no-op by the handler's own natural keys
    /// (DESIGN.md allows natural keys or an inbox). Such a handler's consumer writes no inbox row
    /// per message, which is one insert and one index entry less for each; a batch that holds
    /// the same message twice still reaches the handler once.
    const IDEMPOTENT: bool = false;

    /// Applies a batch inside the open transaction `conn`; the consumer commits and acks.
    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        batch: &'a [Delivered<Self::Message>],
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;

    /// Runs, in its own transaction, when a message that parsed is parked after its retries
    /// (extraction publishes a FAILED outcome for a parked request here).
    fn on_parked<'a>(
        &'a self,
        _conn: &'a mut AsyncPgConnection,
        _message: &'a Delivered<Self::Message>,
        _reason: &'a str,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        async { Ok(()) }
    }

    /// Runs after a batch committed (to update in-memory caches).
    fn after_commit(&self, _batch: &[Delivered<Self::Message>]) {}
}

/// Consumer tuning.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub queue: QueueSpec,
    /// Messages per transaction.
    pub batch_size: usize,
    /// Unacked messages the broker may send ahead; about 3× the batch keeps the pipe full.
    pub prefetch: u16,
    pub policy: QueuePolicy,
    /// The queues to declare on connecting (normally just this consumer's).
    pub declare: Vec<QueueSpec>,
    /// How often an idle consumer checks that the broker still counts it as a consumer of its
    /// queue (a deleted and re-declared quorum queue does not always cancel its consumers).
    pub liveness_check: Duration,
}

impl ConsumerConfig {
    /// Defaults for `queue`.
    pub fn new(queue: QueueSpec) -> Self {
        Self {
            queue,
            batch_size: 100,
            prefetch: 300,
            policy: QueuePolicy::default(),
            declare: vec![queue],
            liveness_check: Duration::from_secs(5),
        }
    }

    /// Takes up to `batch_size` messages per transaction, with three batches' worth prefetched.
    /// Hot queues take larger batches: fewer commits and statements per message.
    pub fn with_batch(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self.prefetch = u16::try_from(self.batch_size.saturating_mul(3)).unwrap_or(u16::MAX);
        self
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    /// Messages taken from the queue.
    pub received: usize,
    /// Applied by the handler.
    pub applied: usize,
    /// Already in the inbox: acked without effect.
    pub duplicates: usize,
    /// Sent to a delay queue.
    pub retried: usize,
    /// Parked (malformed or out of retries).
    pub parked: usize,
}

struct Link {
    connection: Connection,
    publisher: Publisher,
    stream: LapinConsumer,
    last_checked: std::time::Instant,
    /// Liveness checks in a row that found messages ready while this consumer got none.
    starved_checks: u8,
}

/// Consumes one queue with one handler.
pub struct Consumer<H: Handler> {
    handler: H,
    pool: DbPool,
    broker: BrokerConfig,
    config: ConsumerConfig,
    link: Option<Link>,
    /// `None` until [`Consumer::with_metrics`]: nothing is counted.
    metrics: Option<ConsumerMetrics>,
}

#[derive(QueryableByName)]
struct Fresh {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    message_id: uuid::Uuid,
}

/// Records `ids` in the inbox of `consumer` and returns those not seen before.
async fn claim(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    ids: &[uuid::Uuid],
) -> Result<Vec<uuid::Uuid>, diesel::result::Error> {
    let fresh: Vec<Fresh> = diesel::sql_query(
        "INSERT INTO inbox (consumer, message_id) SELECT $1, unnest($2::uuid[]) \
         ON CONFLICT DO NOTHING RETURNING message_id",
    )
    .bind::<diesel::sql_types::Text, _>(consumer)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(fresh.into_iter().map(|f| f.message_id).collect())
}

enum Parsed<M> {
    Ok(Delivered<M>),
    Malformed(String),
}

impl<H: Handler> Consumer<H> {
    /// A consumer of `config.queue`; it connects on its first step.
    pub fn new(handler: H, pool: DbPool, broker: BrokerConfig, config: ConsumerConfig) -> Self {
        Self { handler, pool, broker, config, link: None, metrics: None }
    }

    /// Counts what this consumer does in `metrics`, labelled with its queue.
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.broker().consumer(self.config.queue.name));
        self
    }

    fn count(&self, update: impl FnOnce(&ConsumerMetrics)) {
        if let Some(metrics) = &self.metrics {
            update(metrics);
        }
    }

    /// The handler (tests inspect it).
    pub fn handler(&self) -> &H {
        &self.handler
    }

    async fn connect(&mut self) -> Result<(), BrokerError> {
        if let Some(link) = &self.link
            && link.connection.status().connected()
            && link.publisher.channel().status().connected()
        {
            return Ok(());
        }
        self.link = None;
        let connection = self.broker.connect().await?;
        let config = &self.config;
        let (publisher, stream) = self
            .broker
            .bounded(async {
                let publisher = Publisher::open(&connection).await?;
                topology::declare(publisher.channel(), &config.declare, &config.policy).await?;
                let channel = connection.create_channel().await?;
                channel.basic_qos(config.prefetch, BasicQosOptions::default()).await?;
                let stream = channel
                    .basic_consume(
                        config.queue.name.into(),
                        format!("{}-{}", config.queue.name, uuid::Uuid::now_v7().simple()).as_str().into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
                Ok::<_, BrokerError>((publisher, stream))
            })
            .await?;
        tracing::info!(queue = self.config.queue.name, "consuming");
        self.link = Some(Link {
            connection,
            publisher,
            stream,
            last_checked: std::time::Instant::now(),
            starved_checks: 0,
        });
        Ok(())
    }

    /// Waits up to `wait` for a first message, takes whatever else is ready up to a batch,
    /// processes it and acks it.
    pub async fn step(&mut self, wait: Duration) -> Result<StepOutcome, BrokerError> {
        self.connect().await?;
        let deliveries = self.receive(wait).await?;
        tracing::trace!(queue = self.config.queue.name, received = deliveries.len(), "step");
        if deliveries.is_empty() {
            self.check_liveness().await?;
            return Ok(StepOutcome::default());
        }
        let started = Instant::now();
        let outcome = self.process(&deliveries).await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                // Nothing was acked: drop the channel so the broker redelivers the batch.
                self.link = None;
                return Err(error);
            }
        };
        if let Some(last) = deliveries.last() {
            let acked = self.broker.bounded(last.acker.ack(BasicAckOptions { multiple: true })).await;
            if !matches!(acked, Ok(true)) {
                // The channel died after the commit: the broker redelivers and the inbox turns
                // the redelivery into a no-op.
                tracing::warn!(
                    queue = self.config.queue.name,
                    "ack not delivered; messages will be redelivered"
                );
                self.link = None;
            }
        }
        self.count(|m| m.batch_seconds.observe(started.elapsed().as_secs_f64()));
        Ok(outcome)
    }

    /// When idle, asks the broker (a passive declare) whether the queue still exists, still has a
    /// consumer, and is not holding ready messages back from this idle one; if not, drops the
    /// link so the next step declares and subscribes again. The last test catches a deleted and
    /// re-declared quorum queue that still counts the old subscription but never delivers to it.
    async fn check_liveness(&mut self) -> Result<(), BrokerError> {
        let Some(link) = self.link.as_mut() else { return Ok(()) };
        if link.last_checked.elapsed() < self.config.liveness_check {
            return Ok(());
        }
        link.last_checked = std::time::Instant::now();
        let queue = self.config.queue.name;
        tracing::trace!(queue, "checking that the broker still counts this consumer");
        let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
        let declared = link.publisher.channel().queue_declare(queue.into(), passive, FieldTable::default());
        let alive = match self.broker.bounded(declared).await {
            Ok(state) if state.consumer_count() == 0 => false,
            Ok(state) => {
                // Two checks in a row, so messages that arrived just now are not mistaken.
                link.starved_checks = if state.message_count() > 0 { link.starved_checks + 1 } else { 0 };
                link.starved_checks < 2
            }
            Err(error) => {
                tracing::debug!(queue, %error, "liveness check failed");
                false
            }
        };
        if !alive {
            tracing::warn!(queue, "the broker no longer delivers to this consumer; subscribing again");
            self.link = None;
            return Err(BrokerError::NotSubscribed);
        }
        Ok(())
    }

    /// Takes and applies a batch like [`Consumer::step`], then drops the connection without
    /// acking: what a consumer killed between its commit and its ack leaves behind. For tests.
    #[doc(hidden)]
    pub async fn step_then_crash(&mut self, wait: Duration) -> Result<StepOutcome, BrokerError> {
        self.connect().await?;
        let deliveries = self.receive(wait).await?;
        let outcome =
            if deliveries.is_empty() { StepOutcome::default() } else { self.process(&deliveries).await? };
        if let Some(link) = self.link.take() {
            let _ = link.connection.close(0, "simulated crash".into()).await;
        }
        Ok(outcome)
    }

    async fn receive(&mut self, wait: Duration) -> Result<Vec<Delivery>, BrokerError> {
        let Some(link) = self.link.as_mut() else { return Err(BrokerError::NotSubscribed) };
        let mut deliveries = Vec::new();
        match tokio::time::timeout(wait, link.stream.next()).await {
            Err(_) => return Ok(deliveries),
            Ok(None) => {
                self.link = None;
                return Err(BrokerError::NotSubscribed);
            }
            Ok(Some(delivery)) => deliveries.push(delivery?),
        }
        while deliveries.len() < self.config.batch_size {
            match link.stream.next().now_or_never() {
                Some(Some(Ok(delivery))) => deliveries.push(delivery),
                Some(Some(Err(error))) => return Err(error.into()),
                Some(None) | None => break,
            }
        }
        Ok(deliveries)
    }

    fn parse(delivery: &Delivery) -> Parsed<H::Message> {
        let headers = headers::strings(delivery.properties.headers().as_ref());
        let routing_key = headers
            .get(headers::ORIGINAL_ROUTING_KEY)
            .cloned()
            .unwrap_or_else(|| delivery.routing_key.as_str().to_owned());
        let Some(message_id) =
            delivery.properties.message_id().as_ref().and_then(|id| id.as_str().parse().ok())
        else {
            return Parsed::Malformed("the message has no valid message_id".into());
        };
        match H::Message::decode(&routing_key, &delivery.data) {
            Ok(message) => {
                let attempt = headers.get(headers::ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(0);
                Parsed::Ok(Delivered { message_id, routing_key, message, attempt, headers })
            }
            Err(error) => Parsed::Malformed(error.to_string()),
        }
    }

    async fn process(&mut self, deliveries: &[Delivery]) -> Result<StepOutcome, BrokerError> {
        let outcome = self.process_inner(deliveries).await;
        let counted = match &outcome {
            Ok(outcome) => *outcome,
            Err(PartialOutcome { done, .. }) => *done,
        };
        self.count(|m| {
            m.consumed.inc_by(counted.received as u64);
            m.applied.inc_by(counted.applied as u64);
            m.duplicates.inc_by(counted.duplicates as u64);
            m.retried.inc_by(counted.retried as u64);
        });
        outcome.map_err(|partial| partial.error)
    }

    /// Processes a batch; on a failure, says what was done before it (for the metrics).
    async fn process_inner(&mut self, deliveries: &[Delivery]) -> Result<StepOutcome, PartialOutcome> {
        let mut outcome = StepOutcome { received: deliveries.len(), ..Default::default() };
        let failed = |outcome: StepOutcome| move |error: BrokerError| PartialOutcome { done: outcome, error };
        let mut batch = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match Self::parse(delivery) {
                Parsed::Ok(message) => batch.push((delivery, message)),
                Parsed::Malformed(reason) => {
                    tracing::warn!(queue = self.config.queue.name, %reason, "parking a malformed message");
                    self.park(delivery, "malformed", &reason).await.map_err(failed(outcome))?;
                    outcome.parked += 1;
                    self.count(|m| m.parked_malformed.inc());
                }
            }
        }
        if batch.is_empty() {
            return Ok(outcome);
        }
        let messages: Vec<Delivered<H::Message>> = batch.iter().map(|(_, m)| m.clone()).collect();
        let span = self.consume_span(&messages);
        match self.apply(&messages).instrument(span).await {
            Ok(applied) => {
                outcome.applied += applied;
                outcome.duplicates += messages.len() - applied;
                return Ok(outcome);
            }
            Err(ApplyError::Broker(error)) => return Err(failed(outcome)(error)),
            Err(ApplyError::Handler(error)) if messages.len() > 1 => {
                tracing::debug!(%error, "batch failed; applying its messages one at a time");
            }
            Err(ApplyError::Handler(_)) => {}
        }
        for (delivery, message) in &batch {
            let single = std::slice::from_ref(message);
            match self.apply(single).instrument(self.consume_span(single)).await {
                Ok(applied) => {
                    outcome.applied += applied;
                    outcome.duplicates += 1 - applied;
                }
                Err(ApplyError::Broker(error)) => return Err(failed(outcome)(error)),
                Err(ApplyError::Handler(error)) => {
                    if self.retry_or_park(delivery, message, &error.0).await.map_err(failed(outcome))? {
                        outcome.retried += 1;
                    } else {
                        outcome.parked += 1;
                        self.count(|m| m.parked_exhausted.inc());
                    }
                }
            }
        }
        Ok(outcome)
    }

    /// The span messages are applied in: it continues the trace of the first message's
    /// publisher, and links the traces of the others (each trace then shows this hop).
    fn consume_span(&self, messages: &[Delivered<H::Message>]) -> tracing::Span {
        let span = tracing::info_span!(
            "consume",
            otel.kind = "consumer",
            queue = self.config.queue.name,
            messages = messages.len()
        );
        crate::telemetry::continue_traces(&span, messages.iter().map(|m| &m.headers));
        span
    }

    async fn apply(&self, messages: &[Delivered<H::Message>]) -> Result<usize, ApplyError> {
        let consumer = self.config.queue.name;
        let handler = &self.handler;
        let mut conn = self.pool.get().await.map_err(|e| ApplyError::Broker(e.into()))?;
        let applied = conn
            .transaction(async |tx| {
                let ids: Vec<uuid::Uuid> = messages.iter().map(|m| m.message_id.as_uuid()).collect();
                let mut fresh: HashSet<uuid::Uuid> = if H::IDEMPOTENT {
                    ids.into_iter().collect()
                } else {
                    claim(tx, consumer, &ids).await.map_err(ApplyError::from_db)?.into_iter().collect()
                };
                // `remove` keeps only the first copy when one batch holds a message twice.
                let new: Vec<Delivered<H::Message>> =
                    messages.iter().filter(|m| fresh.remove(&m.message_id.as_uuid())).cloned().collect();
                if !new.is_empty() {
                    handler.handle(tx, &new).await.map_err(ApplyError::Handler)?;
                }
                Ok::<_, ApplyError>(new)
            })
            .await?;
        self.handler.after_commit(&applied);
        Ok(applied.len())
    }

    /// Sends a failed message to its next delay queue (`true`) or parks it (`false`).
    async fn retry_or_park(
        &mut self,
        delivery: &Delivery,
        message: &Delivered<H::Message>,
        error: &str,
    ) -> Result<bool, BrokerError> {
        let attempt = message.attempt + 1;
        let queue = self.config.queue.name;
        let steps = self.config.policy.retry_delays.len();
        if (attempt as usize) <= steps {
            tracing::warn!(queue, message.id = %message.message_id, attempt, %error, "handler failed; retrying later");
            let retry = topology::retry_queue(queue, attempt as usize);
            self.republish(
                delivery,
                "",
                &retry,
                &[(headers::ATTEMPT, attempt.to_string()), (headers::ERROR, truncate(error))],
            )
            .await?;
            return Ok(true);
        }
        tracing::error!(queue, message.id = %message.message_id, %error, "handler failed after every retry; parking");
        self.park(delivery, "retries_exhausted", error).await?;
        let handler = &self.handler;
        let mut conn = self.pool.get().await?;
        let hook = conn.transaction(async |tx| handler.on_parked(tx, message, error).await).await;
        if let Err(hook_error) = hook {
            // The message is parked either way; an operator replays it from the parking queue.
            tracing::error!(queue, message.id = %message.message_id, error = %hook_error, "parking hook failed");
        }
        Ok(false)
    }

    async fn park(&mut self, delivery: &Delivery, reason: &str, detail: &str) -> Result<(), BrokerError> {
        let queue = self.config.queue.name;
        self.republish(
            delivery,
            routing::DEAD_LETTER_EXCHANGE,
            queue,
            &[
                (headers::PARK_REASON, reason.to_owned()),
                (headers::ERROR, truncate(detail)),
                (headers::CONSUMER, queue.to_owned()),
            ],
        )
        .await
    }

    /// Publishes a copy of `delivery` (body, id, headers plus `extra`) and waits for its confirm.
    async fn republish(
        &mut self,
        delivery: &Delivery,
        exchange: &str,
        routing_key: &str,
        extra: &[(&str, String)],
    ) -> Result<(), BrokerError> {
        let Some(link) = self.link.as_ref() else { return Err(BrokerError::NotSubscribed) };
        let mut carried = headers::strings(delivery.properties.headers().as_ref());
        carried
            .entry(headers::ORIGINAL_ROUTING_KEY.to_owned())
            .or_insert_with(|| delivery.routing_key.as_str().to_owned());
        for (key, value) in extra {
            carried.insert((*key).to_owned(), value.clone());
        }
        let message_id =
            delivery.properties.message_id().as_ref().map(|id| id.as_str().to_owned()).unwrap_or_default();
        let outgoing = Outgoing {
            exchange,
            routing_key,
            message_id,
            body: &delivery.data,
            headers: headers::table(carried.iter().map(|(k, v)| (k.as_str(), v.clone()))),
        };
        self.broker.bounded(link.publisher.publish(std::slice::from_ref(&outgoing))).await?;
        Ok(())
    }

    /// Steps until `shutdown` is cancelled, reconnecting with back-off after failures (and after
    /// the broker cancels the subscription, e.g. when the queue was deleted).
    ///
    /// A batch in hand when `shutdown` is cancelled is finished (applied, committed, acked)
    /// first; then the connection is closed, so the broker hands what was prefetched but not
    /// started to another consumer at once.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new();
        let queue = self.config.queue.name;
        while !shutdown.is_cancelled() {
            match self.step(Duration::from_millis(500)).await {
                Ok(_) => backoff.reset(),
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(queue, %error, retry_in_ms = delay.as_millis() as u64, "consumer failed; reconnecting");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.cancelled() => break,
                    }
                }
            }
        }
        if let Some(link) = self.link.take() {
            let closed = self.broker.bounded(link.connection.close(200, "shutting down".into())).await;
            if let Err(error) = closed {
                tracing::debug!(queue, %error, "closing the connection failed; the broker notices on its own");
            }
        }
        tracing::info!(queue, "consumer stopped");
    }
}

/// A batch that failed part-way: what was done before the failure, and the failure.
struct PartialOutcome {
    done: StepOutcome,
    error: BrokerError,
}

fn truncate(text: &str) -> String {
    text.chars().take(500).collect()
}

enum ApplyError {
    Handler(HandlerError),
    Broker(BrokerError),
}

impl ApplyError {
    fn from_db(error: diesel::result::Error) -> Self {
        ApplyError::Broker(error.into())
    }
}

impl From<diesel::result::Error> for ApplyError {
    fn from(error: diesel::result::Error) -> Self {
        // A failed commit or rollback: the database is in trouble, not the message.
        ApplyError::Broker(error.into())
    }
}
