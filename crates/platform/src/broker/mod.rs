//! The RabbitMQ layer: topology, publishing with confirms, the outbox relay and consumers with
//! retries, parking and an inbox. It loses nothing and applies nothing twice:
//!
//! - a service writes events to its outbox in the transaction of the change ([`crate::outbox`]);
//! - the [`relay::Relay`] publishes pending rows in order, persistent and `mandatory`, awaits the
//!   broker's confirms for the whole batch and only then deletes the rows (they were sent);
//! - a [`consumer::Consumer`] takes a batch, applies it in one database transaction that also
//!   records every message id in the inbox (so a redelivery is a no-op), commits, and only then
//!   acks (one `multiple` ack). A message that cannot be parsed is parked at once; a handler
//!   error is retried through delay queues and parked after the budget, with the reason.
//!
//! Every component owns its connection and reconnects with back-off after an outage,
//! re-declaring the topology and re-subscribing.

pub mod consumer;
pub mod headers;
pub mod publisher;
pub mod relay;
pub mod topology;

use std::time::Duration;

use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};

pub use consumer::{Consumer, ConsumerConfig, Decode, Delivered, Handler, HandlerError, StepOutcome};
pub use publisher::Publisher;
pub use relay::Relay;
pub use topology::QueueSpec;

/// Failures talking to the broker (or to the database on the broker's behalf).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("the broker refused (nacked) a published message")]
    Nacked,
    #[error("timed out waiting for the broker")]
    Timeout,
    #[error("the broker URL is invalid: {0}")]
    Url(String),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("the consumer is not subscribed (the broker cancelled it or the channel closed)")]
    NotSubscribed,
}

impl From<diesel::result::Error> for BrokerError {
    fn from(error: diesel::result::Error) -> Self {
        BrokerError::Db(error.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for BrokerError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        BrokerError::Db(error.into())
    }
}

/// Where the broker is, and how long to trust a silent one.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `amqp://user:pass@host:port/vhost`.
    pub url: SecretString,
    /// A name for the connection, shown in RabbitMQ's management UI.
    pub connection_name: String,
    /// The longest wait for any one broker operation (connecting, a declare, an ack, a batch's
    /// confirms). A connection that dies without a FIN or an RST leaves lapin's futures pending
    /// until the heartbeat notices; this bound turns such a wait into an error and a reconnect.
    pub operation_timeout: Duration,
    /// The heartbeat interval asked of the broker, in seconds (when the URL names none).
    pub heartbeat_secs: u16,
}

impl BrokerConfig {
    /// A broker at `url`, with default timeouts.
    pub fn new(url: SecretString, connection_name: impl Into<String>) -> Self {
        Self {
            url,
            connection_name: connection_name.into(),
            operation_timeout: Duration::from_secs(15),
            heartbeat_secs: 10,
        }
    }

    /// Opens a connection (one attempt, bounded by the operation timeout).
    pub async fn connect(&self) -> Result<Connection, BrokerError> {
        let mut uri: AMQPUri = self.url.expose_secret().parse().map_err(BrokerError::Url)?;
        uri.query.heartbeat.get_or_insert(self.heartbeat_secs);
        let properties =
            ConnectionProperties::default().with_connection_name(self.connection_name.as_str().into());
        self.bounded(Connection::connect_uri(uri, properties)).await
    }

    /// Awaits one broker operation for at most the operation timeout.
    pub async fn bounded<T, E: Into<BrokerError>>(
        &self,
        operation: impl Future<Output = Result<T, E>>,
    ) -> Result<T, BrokerError> {
        match tokio::time::timeout(self.operation_timeout, operation).await {
            Ok(result) => result.map_err(Into::into),
            Err(_) => Err(BrokerError::Timeout),
        }
    }
}

/// Exponential back-off with jitter for reconnecting: 100 ms doubling up to 10 s.
#[derive(Debug, Clone)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Starts at the shortest delay.
    pub fn new() -> Self {
        Self { attempt: 0 }
    }

    /// The next delay to wait.
    pub fn next_delay(&mut self) -> Duration {
        let base = 100u64.saturating_mul(1 << self.attempt.min(7)).min(10_000);
        self.attempt = self.attempt.saturating_add(1);
        let jitter = rand::random::<u64>() % (base / 4 + 1);
        Duration::from_millis(base + jitter)
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}
