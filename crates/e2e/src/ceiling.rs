//! The pipeline benchmark's ceiling: what bare lapin + PostgreSQL code reaches on this machine
//! with the guarantees Penny keeps, without any of Penny's code on the hot path.
//!
//! A producer stores each message's row and publishes it (persistent, `mandatory`, to a durable
//! quorum queue declared like Penny's), awaiting the broker's confirms per window of 500, as the
//! outbox relay does. Each hop is a consumer (batches of 300 with three prefetched, as the
//! services' hot consumers) that inserts, in one transaction, the batch's message ids into an
//! inbox table and one row per message, commits, publishes the batch to the next hop with confirms
//! when there is one, and only then acks the batch with one `multiple` ack. `hops = 1` has the
//! shape of the loop of `crates/platform/benches/messaging.rs`; `hops = 3` chains three of them
//! like the pipeline's extraction → ledger → registry.
//!
//! Everything runs in this process on the same cores as the broker and the database, like the
//! services do.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use penny_platform::broker::topology::{self, QueuePolicy, QueueSpec};
use penny_testkit::{TestDb, TestVhost};

/// Messages per consumer transaction.
pub const BATCH: usize = 300;
/// Messages the broker may send ahead.
pub const PREFETCH: u16 = 900;
/// Publishes per confirm window.
pub const WINDOW: usize = 500;

const EXCHANGE: &str = "penny.events";
const ONE_HOP: [QueueSpec; 1] = [QueueSpec { name: "ceiling1.hop1", bindings: &["ceiling1.hop1"] }];
const THREE_HOPS: [QueueSpec; 3] = [
    QueueSpec { name: "ceiling3.hop1", bindings: &["ceiling3.hop1"] },
    QueueSpec { name: "ceiling3.hop2", bindings: &["ceiling3.hop2"] },
    QueueSpec { name: "ceiling3.hop3", bindings: &["ceiling3.hop3"] },
];

/// Runs `messages` messages of `payload_bytes` bytes through `hops` (1 or 3) hops; messages/s
/// from the first store to the last hop's last commit.
pub async fn run(hops: usize, messages: usize, payload: &[u8]) -> anyhow::Result<f64> {
    let specs: &'static [QueueSpec] = match hops {
        1 => &ONE_HOP,
        3 => &THREE_HOPS,
        _ => bail!("the ceiling runs 1 or 3 hops"),
    };
    let db = TestDb::new().await;
    let vhost = TestVhost::new().await;
    let mut setup =
        AsyncPgConnection::establish(db.url()).await.context("cannot reach the ceiling's database")?;
    setup
        .batch_execute(
            "CREATE TABLE stored (id UUID PRIMARY KEY, body BYTEA NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
             CREATE TABLE inbox (hop INT NOT NULL, message_id UUID NOT NULL, PRIMARY KEY (hop, message_id));
             CREATE TABLE effects (id UUID PRIMARY KEY, hop INT NOT NULL, message_id UUID NOT NULL, body BYTEA NOT NULL,
                                   created_at TIMESTAMPTZ NOT NULL DEFAULT now());",
        )
        .await?;
    let connection = lapin::Connection::connect(&vhost.url(), Default::default()).await?;
    let declare = connection.create_channel().await?;
    topology::declare(&declare, specs, &QueuePolicy::default()).await?;

    let started = Instant::now();
    let mut consumers = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let next = specs.get(index + 1).map(|s| s.bindings[0]);
        let url = db.url().to_owned();
        let amqp = vhost.url();
        consumers.push(tokio::spawn(hop(index as i32 + 1, url, amqp, spec.name, next, messages)));
    }
    produce(&connection, &mut setup, specs[0].bindings[0], messages, payload).await?;
    for consumer in consumers {
        consumer.await.context("a hop panicked")??;
    }
    let elapsed = started.elapsed();
    drop(connection);
    Ok(messages as f64 / elapsed.as_secs_f64())
}

/// Stores and publishes `messages` messages, a window at a time.
async fn produce(
    connection: &lapin::Connection,
    db: &mut AsyncPgConnection,
    routing_key: &str,
    messages: usize,
    payload: &[u8],
) -> anyhow::Result<()> {
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut sent = 0;
    while sent < messages {
        let window = WINDOW.min(messages - sent);
        let ids: Vec<uuid::Uuid> = (0..window).map(|_| uuid::Uuid::now_v7()).collect();
        let bodies: Vec<Vec<u8>> = (0..window).map(|_| payload.to_vec()).collect();
        db.transaction(async |tx| {
            diesel::sql_query("INSERT INTO stored (id, body) SELECT unnest($1::uuid[]), unnest($2::bytea[])")
                .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
                .bind::<diesel::sql_types::Array<diesel::sql_types::Binary>, _>(&bodies)
                .execute(tx)
                .await
        })
        .await?;
        let pairs: Vec<(uuid::Uuid, &[u8])> =
            ids.iter().copied().zip(bodies.iter().map(Vec::as_slice)).collect();
        publish(&channel, routing_key, &pairs).await?;
        sent += window;
    }
    Ok(())
}

/// Publishes persistent, mandatory messages and awaits every confirm.
async fn publish(
    channel: &Channel,
    routing_key: &str,
    messages: &[(uuid::Uuid, &[u8])],
) -> anyhow::Result<()> {
    let mut confirms = Vec::with_capacity(messages.len());
    for (id, body) in messages {
        let properties =
            BasicProperties::default().with_delivery_mode(2).with_message_id(id.to_string().as_str().into());
        confirms.push(
            channel
                .basic_publish(
                    EXCHANGE.into(),
                    routing_key.into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    body,
                    properties,
                )
                .await?,
        );
    }
    for confirm in confirms {
        if !confirm.await?.is_ack() {
            bail!("the broker refused a message");
        }
    }
    Ok(())
}

/// One hop: consume batches, apply each in one transaction, forward it, ack it.
async fn hop(
    number: i32,
    db_url: String,
    amqp_url: String,
    queue: &'static str,
    next: Option<&'static str>,
    messages: usize,
) -> anyhow::Result<()> {
    let connection = lapin::Connection::connect(&amqp_url, Default::default()).await?;
    let consume = connection.create_channel().await?;
    consume.basic_qos(PREFETCH, BasicQosOptions::default()).await?;
    let forward = connection.create_channel().await?;
    forward.confirm_select(ConfirmSelectOptions::default()).await?;
    let mut stream = consume
        .basic_consume(
            queue.into(),
            format!("hop{number}").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut db = AsyncPgConnection::establish(&db_url).await?;
    let mut done = 0;
    while done < messages {
        let first = match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
            Ok(Some(Ok(delivery))) => delivery,
            Ok(Some(Err(error))) => return Err(error.into()),
            Ok(None) => bail!("hop {number}: the consumer stopped"),
            Err(_) => bail!("hop {number}: nothing arrived for 60 s after {done} messages"),
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match stream.next().now_or_never() {
                Some(Some(Ok(delivery))) => batch.push(delivery),
                _ => break,
            }
        }
        let ids: Vec<uuid::Uuid> = batch
            .iter()
            .map(|d| {
                d.properties
                    .message_id()
                    .as_ref()
                    .and_then(|id| id.as_str().parse().ok())
                    .context("a message without a UUID message id")
            })
            .collect::<anyhow::Result<_>>()?;
        let rows: Vec<uuid::Uuid> = ids.iter().map(|_| uuid::Uuid::now_v7()).collect();
        let bodies: Vec<Vec<u8>> = batch.iter().map(|d| d.data.clone()).collect();
        db.transaction(async |tx| {
            diesel::sql_query(
                "INSERT INTO inbox (hop, message_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
            )
            .bind::<diesel::sql_types::Integer, _>(number)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
            .execute(tx)
            .await?;
            diesel::sql_query(
                "INSERT INTO effects (id, hop, message_id, body) \
                 SELECT unnest($1::uuid[]), $2, unnest($3::uuid[]), unnest($4::bytea[])",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&rows)
            .bind::<diesel::sql_types::Integer, _>(number)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Binary>, _>(&bodies)
            .execute(tx)
            .await
        })
        .await?;
        if let Some(next) = next {
            let pairs: Vec<(uuid::Uuid, &[u8])> =
                rows.iter().copied().zip(bodies.iter().map(Vec::as_slice)).collect();
            publish(&forward, next, &pairs).await?;
        }
        if let Some(last) = batch.last() {
            last.acker.ack(BasicAckOptions { multiple: true }).await?;
        }
        done += batch.len();
    }
    Ok(())
}
