//! Messaging throughput: outbox → broker → consumer → PostgreSQL with the platform's own relay
//! and consumer, against a bare lapin + diesel loop with the same guarantees (outbox rows read
//! `FOR UPDATE SKIP LOCKED`, persistent messages to a quorum queue, confirms awaited per batch,
//! rows deleted after the confirms; consumer batches in one transaction with an inbox, one
//! `multiple` ack after the commit), in the same run against the real services on this machine.
//!
//! `cargo bench -p penny-platform --bench messaging` (PENNY_BENCH_MESSAGES sets the count).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use futures::{FutureExt, StreamExt};
use lapin::BasicProperties;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use penny_contract::events::UserDeleted;
use penny_contract::{Envelope, UserId};
use penny_platform::broker::consumer::{ConsumerConfig, Delivered, Handler, HandlerError};
use penny_platform::broker::relay::{Relay, RelayConfig};
use penny_platform::broker::topology::{self, QueuePolicy, QueueSpec};
use penny_platform::broker::{BrokerConfig, Consumer};
use penny_platform::db::{self, DbConfig, DbPool};
use penny_platform::outbox::{self, OutboxRow};
use penny_testkit::{TestDb, TestVhost};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const WIDGETS: EmbeddedMigrations = embed_migrations!("tests/fixtures/migrations");
const QUEUE: QueueSpec = QueueSpec { name: "bench.widgets", bindings: &["user.deleted"] };
const BATCH: usize = 100;
const PREFETCH: u16 = 300;
const RELAY_BATCH: i64 = 500;

struct Widgets;

impl Handler for Widgets {
    type Message = Envelope<UserDeleted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        let names: Vec<String> = batch.iter().map(|d| d.message.payload.user_id.to_string()).collect();
        insert_widgets(conn, &names).await?;
        Ok(())
    }
}

async fn insert_widgets(conn: &mut AsyncPgConnection, names: &[String]) -> Result<(), diesel::result::Error> {
    let ids: Vec<uuid::Uuid> = names.iter().map(|_| uuid::Uuid::now_v7()).collect();
    diesel::sql_query("INSERT INTO widgets (id, name) SELECT unnest($1::uuid[]), unnest($2::text[])")
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
        .execute(conn)
        .await?;
    Ok(())
}

struct Setup {
    _db: TestDb,
    vhost: TestVhost,
    config: DbConfig,
    pool: DbPool,
}

async fn setup(messages: usize) -> Setup {
    let db = TestDb::new().await;
    let vhost = TestVhost::new().await;
    let config = DbConfig::new(SecretString::from(db.url()), "bench", 8).unwrap();
    db::migrate(&config, &WIDGETS).await.unwrap();
    let pool = db::pool(&config).unwrap();
    let mut conn = pool.get().await.unwrap();
    let users: Vec<UserId> = (0..messages).map(|_| UserId::new()).collect();
    for chunk in users.chunks(500) {
        conn.transaction(async |tx| {
            for user in chunk {
                outbox::enqueue(tx, &Envelope::new(UserDeleted { user_id: *user }, None)).await?;
            }
            Ok::<_, db::DbError>(())
        })
        .await
        .unwrap();
    }
    Setup { _db: db, vhost, config, pool }
}

async fn effects(pool: &DbPool) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = pool.get().await.unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM widgets").get_result::<Count>(&mut conn).await.unwrap().n
}

async fn wait_for(pool: &DbPool, expected: usize) {
    while effects(pool).await < expected as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn policy() -> QueuePolicy {
    QueuePolicy::default()
}

async fn layer(messages: usize) -> f64 {
    let setup = setup(messages).await;
    let broker = BrokerConfig::new(SecretString::from(setup.vhost.url()), "bench");
    let shutdown = CancellationToken::new();
    let mut consumer_config = ConsumerConfig::new(QUEUE);
    consumer_config.batch_size = BATCH;
    consumer_config.prefetch = PREFETCH;
    let mut consumer = Consumer::new(Widgets, setup.pool.clone(), broker.clone(), consumer_config);
    consumer.step(Duration::from_millis(1)).await.unwrap(); // declare and subscribe before timing
    let relay_config = RelayConfig { batch_size: RELAY_BATCH, ..RelayConfig::default() };
    let relay = Relay::new(setup.pool.clone(), setup.config.clone(), broker, relay_config);

    let started = Instant::now();
    let consumer_task = tokio::spawn(consumer.run(shutdown.clone()));
    let relay_task = tokio::spawn(relay.run(shutdown.clone()));
    wait_for(&setup.pool, messages).await;
    let elapsed = started.elapsed();
    shutdown.cancel();
    let _ = tokio::join!(consumer_task, relay_task);
    messages as f64 / elapsed.as_secs_f64()
}

/// The same steps written inline with lapin and diesel, without the layer's abstractions.
async fn bare(messages: usize) -> f64 {
    let setup = setup(messages).await;
    let connection = lapin::Connection::connect(&setup.vhost.url(), Default::default()).await.unwrap();
    let publish = connection.create_channel().await.unwrap();
    publish.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    topology::declare(&publish, &[QUEUE], &policy()).await.unwrap();
    let consume = connection.create_channel().await.unwrap();
    consume.basic_qos(PREFETCH, BasicQosOptions::default()).await.unwrap();
    let mut stream = consume
        .basic_consume(
            QUEUE.name.into(),
            "bare".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();

    let started = Instant::now();
    let consumer_pool = setup.pool.clone();
    let consumer = tokio::spawn(async move {
        let mut done = 0;
        while done < messages {
            let Some(Ok(first)) = stream.next().await else { break };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match stream.next().now_or_never() {
                    Some(Some(Ok(delivery))) => batch.push(delivery),
                    _ => break,
                }
            }
            let ids: Vec<uuid::Uuid> = batch
                .iter()
                .map(|d| d.properties.message_id().as_ref().unwrap().as_str().parse().unwrap())
                .collect();
            let names: Vec<String> = batch
                .iter()
                .map(|d| {
                    let envelope: Envelope<UserDeleted> = serde_json::from_slice(&d.data).unwrap();
                    envelope.payload.user_id.to_string()
                })
                .collect();
            let mut conn = consumer_pool.get().await.unwrap();
            conn.transaction(async |tx| {
                diesel::sql_query(
                    "INSERT INTO inbox (consumer, message_id) SELECT 'bare', unnest($1::uuid[]) ON CONFLICT DO NOTHING",
                )
                .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
                .execute(tx)
                .await?;
                insert_widgets(tx, &names).await
            })
            .await
            .unwrap();
            batch.last().unwrap().acker.ack(BasicAckOptions { multiple: true }).await.unwrap();
            done += batch.len();
        }
    });

    let mut conn = setup.pool.get().await.unwrap();
    loop {
        let published = conn
            .transaction(async |tx| {
                let rows: Vec<OutboxRow> = outbox::outbox::table
                    .order(outbox::outbox::id)
                    .limit(RELAY_BATCH)
                    .for_update()
                    .skip_locked()
                    .select(OutboxRow::as_select())
                    .load(tx)
                    .await?;
                let mut confirms = Vec::with_capacity(rows.len());
                for row in &rows {
                    let body = row.body.as_bytes();
                    let properties = BasicProperties::default()
                        .with_delivery_mode(2)
                        .with_message_id(row.message_id.to_string().as_str().into());
                    confirms.push(
                        publish
                            .basic_publish(
                                "penny.events".into(),
                                row.routing_key.as_str().into(),
                                BasicPublishOptions { mandatory: true, ..Default::default() },
                                body,
                                properties,
                            )
                            .await
                            .unwrap(),
                    );
                }
                for confirm in confirms {
                    assert!(confirm.await.unwrap().is_ack());
                }
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                diesel::delete(outbox::outbox::table.filter(outbox::outbox::id.eq_any(&ids)))
                    .execute(tx)
                    .await?;
                Ok::<_, diesel::result::Error>(rows.len())
            })
            .await
            .unwrap();
        if published == 0 {
            break;
        }
    }
    consumer.await.unwrap();
    wait_for(&setup.pool, messages).await;
    messages as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let messages: usize =
        std::env::var("PENNY_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    println!(
        "messaging: {messages} messages, outbox → RabbitMQ (quorum queue, confirms) → consumer → PostgreSQL"
    );
    let bare_rate = bare(messages).await;
    println!("  bare lapin + diesel loop: {bare_rate:>8.0} messages/s");
    let layer_rate = layer(messages).await;
    println!("  penny messaging layer:    {layer_rate:>8.0} messages/s");
    println!("  ratio: {:.0}% of the bare loop (goal ≥ 70%)", 100.0 * layer_rate / bare_rate);
}
