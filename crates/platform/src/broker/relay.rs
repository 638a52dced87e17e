//! The outbox relay: publishes pending outbox rows in order and deletes them once the broker has
//! confirmed them (a sent row is a deleted row: the table holds only what is pending, and marking
//! a row costs no rewrite of its body).
//!
//! A batch is taken with one `DELETE … RETURNING` over rows picked `FOR UPDATE SKIP LOCKED`, in a
//! transaction that stays open while the batch is published and confirmed and commits after the
//! confirms (a failure before the commit puts every row back). Two replicas therefore never
//! publish the same row, and a row is published again only if the relay dies between the
//! broker's confirms and the commit (consumers absorb that duplicate).
//! The relay wakes on `LISTEN/NOTIFY` from the outbox trigger, or after a short poll, and
//! lingers a few milliseconds before taking rows so that concurrent commits share a batch.
//!
//! A row that no queue takes (its consumer has never started, so its queue does not exist yet)
//! stays pending and is offered again after a back-off of its own (`not_before`), so an event
//! published before its consumer's first start is delayed, not lost, and never holds back the
//! rows behind it. Each consumer declares its own queue.
//!
//! Built [`Relay::with_metrics`], it counts the rows it published and those no queue took, by
//! routing key, once their batch has committed. The backlog itself is not its business: it is
//! sampled at scrape time ([`crate::metrics::OutboxSampler`]), so the relay never waits on a
//! count.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use lapin::Connection;
use penny_contract::routing;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use super::publisher::{Outgoing, Publisher};
use super::topology::{self, QueuePolicy};
use super::{Backoff, BrokerConfig, BrokerError, headers};
use crate::db::{DbConfig, DbPool};
use crate::metrics::{BrokerMetrics, Metrics};
use crate::outbox::OutboxRow;

/// Relay tuning.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows per batch (one transaction, one wait for confirms).
    pub batch_size: i64,
    /// How long to sleep when nothing notifies.
    pub poll_interval: Duration,
    /// How long to wait after a wake-up before taking rows, so that the rows of several
    /// transactions committing at about the same time go out in one batch (one transaction, one
    /// wait for confirms) instead of one small batch each.
    pub linger: Duration,
    /// Queues to declare on connecting besides the exchanges (normally none: each consumer
    /// declares its own).
    pub queues: Vec<topology::QueueSpec>,
    pub policy: QueuePolicy,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
            linger: Duration::from_millis(10),
            queues: Vec::new(),
            policy: QueuePolicy::default(),
        }
    }
}

/// Publishes one service's outbox.
pub struct Relay {
    connected: Arc<AtomicBool>,
    pool: DbPool,
    db: DbConfig,
    broker: BrokerConfig,
    config: RelayConfig,
    link: Option<(Connection, Publisher)>,
    /// `None` until [`Relay::with_metrics`]: nothing is counted.
    metrics: Option<BrokerMetrics>,
}

/// Rows of one committed batch by routing key: (published, unroutable).
type Tally = HashMap<String, (u64, u64)>;

impl Relay {
    /// A relay for the outbox in `db`'s schema.
    pub fn new(pool: DbPool, db: DbConfig, broker: BrokerConfig, config: RelayConfig) -> Self {
        Self {
            connected: Arc::new(AtomicBool::new(false)),
            pool,
            db,
            broker,
            config,
            link: None,
            metrics: None,
        }
    }

    /// Counts the messages this relay publishes in `metrics`.
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some(metrics.broker().clone());
        self
    }

    /// A flag that is true while the last attempt to reach the broker succeeded (readiness).
    pub fn connected_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.connected)
    }

    async fn publisher(&mut self) -> Result<Publisher, BrokerError> {
        if let Some((connection, publisher)) = &self.link
            && connection.status().connected()
            && publisher.channel().status().connected()
        {
            return Ok(publisher.clone());
        }
        self.link = None;
        let connection = self.broker.connect().await?;
        let config = &self.config;
        let publisher = self
            .broker
            .bounded(async {
                let publisher = Publisher::open(&connection).await?;
                topology::declare(publisher.channel(), &config.queues, &config.policy).await?;
                Ok::<_, BrokerError>(publisher)
            })
            .await?;
        self.link = Some((connection, publisher.clone()));
        Ok(publisher)
    }

    /// Publishes one batch of pending rows; returns how many were published (and deleted).
    pub async fn step(&mut self) -> Result<usize, BrokerError> {
        Ok(self.step_inner(true).await?.0)
    }

    /// Publishes a batch and has the broker confirm it, then rolls back instead of deleting the
    /// rows: what a relay that dies at the worst moment leaves behind. For tests.
    #[doc(hidden)]
    pub async fn step_then_crash(&mut self) -> Result<usize, BrokerError> {
        Ok(self.step_inner(false).await?.0)
    }

    /// Returns (rows published, rows deferred because no queue took them).
    async fn step_inner(&mut self, mark: bool) -> Result<(usize, usize), BrokerError> {
        let publisher = match self.publisher().await {
            Ok(publisher) => publisher,
            Err(error) => {
                self.link = None;
                return Err(error);
            }
        };
        let batch_size = self.config.batch_size;
        let broker = &self.broker;
        let mut conn = self.pool.get().await?;
        let result = conn
            .transaction(async |tx| {
                let rows = take_pending(tx, batch_size).await?;
                if rows.is_empty() {
                    return Ok((0, 0, Tally::new()));
                }
                let routed = broker.bounded(publish_rows(&publisher, &rows)).await?;
                if !mark {
                    return Err(BrokerError::Db(diesel::result::Error::RollbackTransaction.into()));
                }
                let mut tally = Tally::new();
                for (row, routed) in rows.iter().zip(&routed) {
                    let entry = tally.entry(row.routing_key.clone()).or_default();
                    if *routed {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
                let unroutable: Vec<&OutboxRow> =
                    rows.iter().zip(&routed).filter(|(_, routed)| !**routed).map(|(row, _)| row).collect();
                if !unroutable.is_empty() {
                    defer(tx, &unroutable).await?;
                }
                Ok((rows.len() - unroutable.len(), unroutable.len(), tally))
            })
            .await;
        match result {
            Ok((published, unroutable, tally)) => {
                self.connected.store(true, Ordering::Relaxed);
                if let Some(metrics) = &self.metrics {
                    for (routing_key, (sent, unroutable)) in &tally {
                        metrics.published(routing_key, *sent, *unroutable);
                    }
                }
                if unroutable > 0 {
                    tracing::info!(unroutable, "no queue takes these events yet; offering them again later");
                }
                Ok((published, unroutable))
            }
            Err(BrokerError::Db(crate::db::DbError::Query(diesel::result::Error::RollbackTransaction)))
                if !mark =>
            {
                Ok((0, 0))
            }
            Err(error) => {
                self.link = None;
                if !matches!(error, BrokerError::Db(_)) {
                    self.connected.store(false, Ordering::Relaxed);
                }
                Err(error)
            }
        }
    }

    /// Publishes everything pending; returns the number of rows published.
    pub async fn drain(&mut self) -> Result<usize, BrokerError> {
        let mut total = 0;
        loop {
            let (published, deferred) = self.step_inner(true).await?;
            total += published;
            if published + deferred == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs until `shutdown` is cancelled, reconnecting to the broker and the database with
    /// back-off when either goes away.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new();
        let mut listener: Option<AsyncPgConnection> = None;
        while !shutdown.is_cancelled() {
            match self.drain().await {
                Ok(published) => {
                    backoff.reset();
                    if published > 0 {
                        tracing::debug!(published, "outbox relay published");
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "outbox relay failed");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.cancelled() => break,
                    }
                    continue;
                }
            }
            if listener.is_none() {
                listener = self.listen().await.ok();
            }
            let wait = async {
                match listener.as_mut() {
                    Some(conn) => {
                        let notifications = conn.notifications_stream();
                        futures::pin_mut!(notifications);
                        match tokio::time::timeout(self.config.poll_interval, notifications.next()).await {
                            Ok(Some(Ok(_))) | Err(_) => true,
                            // The listening connection failed: poll until it is re-established.
                            Ok(Some(Err(_)) | None) => false,
                        }
                    }
                    None => {
                        tokio::time::sleep(self.config.poll_interval).await;
                        true
                    }
                }
            };
            tokio::select! {
                healthy = wait => if !healthy { listener = None },
                () = shutdown.cancelled() => break,
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.linger) => {}
                () = shutdown.cancelled() => break,
            }
        }
        tracing::info!("outbox relay stopped");
    }

    async fn listen(&self) -> Result<AsyncPgConnection, BrokerError> {
        let mut conn = AsyncPgConnection::establish(self.db.url.expose_secret())
            .await
            .map_err(|e| BrokerError::Db(e.into()))?;
        diesel::sql_query(format!("LISTEN \"{}.outbox\"", self.db.schema)).execute(&mut conn).await?;
        Ok(conn)
    }
}

/// Takes (deletes and returns) up to `limit` rows due for publishing, oldest first, skipping
/// rows another relay holds. Deleting up front marks each row once (a `FOR UPDATE` then a
/// `DELETE` wrote every row twice); the caller's transaction stays open while the rows are
/// published, so a failure before its commit puts them all back.
async fn take_pending(
    tx: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<OutboxRow>, diesel::result::Error> {
    let mut rows: Vec<OutboxRow> = diesel::sql_query(
        "DELETE FROM outbox WHERE id IN ( \
             SELECT id FROM outbox WHERE not_before IS NULL OR not_before <= now() \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, message_id, routing_key, body, headers, created_at, attempts, not_before",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(tx)
    .await?;
    rows.sort_unstable_by_key(|row| row.id);
    Ok(rows)
}

/// Puts unroutable rows back (same id, so they keep their place in the order) to be offered
/// again after a back-off that doubles per attempt (0.2 s up to 30 s).
async fn defer(tx: &mut AsyncPgConnection, rows: &[&OutboxRow]) -> Result<(), diesel::result::Error> {
    use diesel::sql_types::{Array, BigInt, Int4, Jsonb, Text, Timestamptz, Uuid};
    diesel::sql_query(
        "INSERT INTO outbox (id, message_id, routing_key, body, headers, created_at, attempts, not_before) \
         OVERRIDING SYSTEM VALUE \
         SELECT id, message_id, routing_key, body, headers, created_at, attempts + 1, \
                now() + make_interval(secs => least(30, 0.2 * power(2, least(attempts, 10)))) \
         FROM unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::int4[]) \
           AS r(id, message_id, routing_key, body, headers, created_at, attempts)",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.id).collect::<Vec<_>>())
    .bind::<Array<Uuid>, _>(rows.iter().map(|r| r.message_id.as_uuid()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.routing_key.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.body.as_str()).collect::<Vec<_>>())
    .bind::<Array<Jsonb>, _>(rows.iter().map(|r| &r.headers).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
    .bind::<Array<Int4>, _>(rows.iter().map(|r| r.attempts).collect::<Vec<_>>())
    .execute(tx)
    .await?;
    Ok(())
}

/// Publishes the rows; returns, per row, whether a queue took it.
async fn publish_rows(publisher: &Publisher, rows: &[OutboxRow]) -> Result<Vec<bool>, BrokerError> {
    let messages: Vec<Outgoing<'_>> = rows
        .iter()
        .map(|row| {
            let mut carried: Vec<(&str, String)> = row
                .headers
                .as_object()
                .map(|map| {
                    map.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?.to_owned()))).collect()
                })
                .unwrap_or_default();
            carried.push((headers::ORIGINAL_ROUTING_KEY, row.routing_key.clone()));
            Outgoing {
                exchange: routing::EVENTS_EXCHANGE,
                routing_key: &row.routing_key,
                message_id: row.message_id.to_string(),
                body: row.body.as_bytes(),
                headers: headers::table(carried),
            }
        })
        .collect();
    let report = publisher.publish(&messages).await?;
    Ok(report.routed)
}
