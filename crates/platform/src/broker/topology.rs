//! Exchanges and queues, declared idempotently by every component when it (re)connects.
//!
//! For each consumer queue `Q` bound to routing keys of `penny.events`:
//! - `Q`: a durable quorum queue with an explicit delivery limit; messages that exceed it are
//!   dead-lettered through `penny.dlx` to `Q.parked` (at-least-once dead-lettering, which needs
//!   `x-overflow=reject-publish` or RabbitMQ silently falls back to at-most-once);
//! - `Q.retry.N`: one delay queue per back-off step (messages expire only from the head of a
//!   queue, so each step has its own TTL) that dead-letters back to `Q` alone through the
//!   default exchange, not to every queue bound to the original routing key;
//! - `Q.parked`: where messages end that cannot be parsed or exhausted their retries, keeping
//!   their original routing key in the `x-original-routing-key` header and the reason in
//!   `x-penny-park-reason` / `x-penny-error` (or RabbitMQ's `x-death`).

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};
use penny_contract::routing;

use super::BrokerError;

/// A consumer queue and the routing keys it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: &'static str,
    pub bindings: &'static [&'static str],
}

/// ledger: books extracted transactions.
pub const LEDGER_BOOKING: QueueSpec =
    QueueSpec { name: "ledger.booking", bindings: &[routing::EMAIL_EXTRACTED] };
/// ledger: creates and deletes users' slices.
pub const LEDGER_USERS: QueueSpec =
    QueueSpec { name: "ledger.users", bindings: &[routing::USER_REGISTERED, routing::USER_DELETED] };
/// mail-ingest: runs fetch jobs.
pub const INGEST_FETCH: QueueSpec =
    QueueSpec { name: "ingest.fetch", bindings: &[routing::INGEST_FETCH_REQUESTED] };
/// mail-ingest: folds outcomes and status into emails and jobs.
pub const INGEST_REGISTRY: QueueSpec = QueueSpec {
    name: "ingest.registry",
    bindings: &[
        routing::EMAIL_EXTRACTED,
        routing::EMAIL_BOOKED,
        routing::JOB_STATUS,
        routing::EXTRACTION_STARTED,
    ],
};
/// mail-ingest: creates upload accounts and deletes users' slices.
pub const INGEST_USERS: QueueSpec =
    QueueSpec { name: "ingest.users", bindings: &[routing::USER_REGISTERED, routing::USER_DELETED] };
/// extraction: extracts emails.
pub const EXTRACTION_REQUESTS: QueueSpec =
    QueueSpec { name: "extraction.requests", bindings: &[routing::EXTRACTION_REQUESTED] };
/// extraction: deletes users' slices.
pub const EXTRACTION_USERS: QueueSpec =
    QueueSpec { name: "extraction.users", bindings: &[routing::USER_REGISTERED, routing::USER_DELETED] };

/// Every consumer queue of the catalogue (each consumer declares its own; operators' tools list
/// the parking queues from here).
pub const CATALOGUE: [QueueSpec; 7] = [
    LEDGER_BOOKING,
    LEDGER_USERS,
    INGEST_FETCH,
    INGEST_REGISTRY,
    INGEST_USERS,
    EXTRACTION_REQUESTS,
    EXTRACTION_USERS,
];

/// Delivery limit and retry steps of the consumer queues.
#[derive(Debug, Clone)]
pub struct QueuePolicy {
    /// Redeliveries (crashes, channel losses) before the broker parks a message.
    pub delivery_limit: u32,
    /// One delay per retry step; after the last one a failing message is parked.
    pub retry_delays: Vec<Duration>,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            delivery_limit: 10,
            retry_delays: vec![Duration::from_secs(1), Duration::from_secs(10), Duration::from_secs(60)],
        }
    }
}

/// The name of a queue's retry queue for `step` (1-based).
pub fn retry_queue(queue: &str, step: usize) -> String {
    format!("{queue}.retry.{step}")
}

/// The name of a queue's parking queue.
pub fn parking_queue(queue: &str) -> String {
    format!("{queue}.parked")
}

fn args(entries: Vec<(&str, AMQPValue)>) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in entries {
        table.insert(ShortString::from(key), value);
    }
    table
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// Declares the two exchanges.
pub async fn declare_exchanges(channel: &Channel) -> Result<(), BrokerError> {
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel
        .exchange_declare(
            routing::EVENTS_EXCHANGE.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            routing::DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Declares one consumer queue with its retry and parking queues and bindings.
pub async fn declare_queue(
    channel: &Channel,
    spec: &QueueSpec,
    policy: &QueuePolicy,
) -> Result<(), BrokerError> {
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    let parked = parking_queue(spec.name);
    channel
        .queue_declare(parked.as_str().into(), durable, args(vec![("x-queue-type", text("quorum"))]))
        .await?;
    channel
        .queue_bind(
            parked.as_str().into(),
            routing::DEAD_LETTER_EXCHANGE.into(),
            spec.name.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    channel
        .queue_declare(
            spec.name.into(),
            durable,
            args(vec![
                ("x-queue-type", text("quorum")),
                ("x-delivery-limit", AMQPValue::LongLongInt(i64::from(policy.delivery_limit))),
                ("x-dead-letter-exchange", text(routing::DEAD_LETTER_EXCHANGE)),
                ("x-dead-letter-routing-key", text(spec.name)),
                ("x-dead-letter-strategy", text("at-least-once")),
                ("x-overflow", text("reject-publish")),
            ]),
        )
        .await?;
    for key in spec.bindings {
        channel
            .queue_bind(
                spec.name.into(),
                routing::EVENTS_EXCHANGE.into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }

    for (index, delay) in policy.retry_delays.iter().enumerate() {
        let ttl = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        channel
            .queue_declare(
                retry_queue(spec.name, index + 1).as_str().into(),
                durable,
                args(vec![
                    ("x-queue-type", text("quorum")),
                    ("x-message-ttl", AMQPValue::LongLongInt(ttl)),
                    ("x-dead-letter-exchange", text("")),
                    ("x-dead-letter-routing-key", text(spec.name)),
                    ("x-dead-letter-strategy", text("at-least-once")),
                    ("x-overflow", text("reject-publish")),
                ]),
            )
            .await?;
    }
    Ok(())
}

/// Declares the exchanges and every queue of `queues`.
pub async fn declare(
    channel: &Channel,
    queues: &[QueueSpec],
    policy: &QueuePolicy,
) -> Result<(), BrokerError> {
    declare_exchanges(channel).await?;
    for spec in queues {
        declare_queue(channel, spec, policy).await?;
    }
    Ok(())
}
