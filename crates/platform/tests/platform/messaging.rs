//! The messaging layer against the real RabbitMQ (a vhost per test) and PostgreSQL.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use lapin::options::{BasicGetOptions, QueueDeleteOptions};
use penny_contract::events::{UserDeleted, UserRegistered};
use penny_contract::{Envelope, UserId};
use penny_platform::broker::consumer::{ConsumerConfig, Delivered, Handler, HandlerError};
use penny_platform::broker::publisher::{Outgoing, Publisher};
use penny_platform::broker::relay::{Relay, RelayConfig};
use penny_platform::broker::topology::{self, QueuePolicy, QueueSpec};
use penny_platform::broker::{BrokerConfig, Consumer, headers};
use penny_platform::outbox;
use penny_testkit::{TcpProxy, TestVhost};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::helpers::TestStore;

pub const QUEUE: QueueSpec = QueueSpec { name: "test.widgets", bindings: &["user.deleted"] };

pub fn policy() -> QueuePolicy {
    QueuePolicy {
        // Generous: the crash tests redeliver messages several times on a slow machine, and
        // the broker parks a message past this limit.
        delivery_limit: 50,
        retry_delays: vec![Duration::from_millis(100), Duration::from_millis(200)],
    }
}

pub fn broker(url: String) -> BrokerConfig {
    BrokerConfig::new(SecretString::from(url), "test")
}

/// Applies each `user.deleted` as one widget row named after the user; fails on `poison`.
pub struct Widgets {
    pub poison: HashSet<UserId>,
}

impl Handler for Widgets {
    type Message = Envelope<UserDeleted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            let user = delivered.message.payload.user_id;
            if self.poison.contains(&user) {
                return Err(HandlerError::new("this user is poison"));
            }
            insert_widget(conn, &user.to_string()).await?;
        }
        Ok(())
    }

    async fn on_parked(
        &self,
        conn: &mut AsyncPgConnection,
        message: &Delivered<Self::Message>,
        _reason: &str,
    ) -> Result<(), HandlerError> {
        Ok(insert_widget(conn, &format!("parked:{}", message.message.payload.user_id)).await?)
    }
}

pub async fn insert_widget(conn: &mut AsyncPgConnection, name: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query("INSERT INTO widgets (id, name) VALUES ($1, $2)")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::now_v7())
        .bind::<diesel::sql_types::Text, _>(name)
        .execute(conn)
        .await?;
    Ok(())
}

pub struct Rig {
    pub store: TestStore,
    pub vhost: TestVhost,
}

impl Rig {
    pub async fn new() -> Self {
        penny_platform::telemetry::init_for_test();
        Self { store: TestStore::new().await, vhost: TestVhost::new().await }
    }

    pub fn relay(&self, url: String) -> Relay {
        let config = RelayConfig {
            batch_size: 200,
            poll_interval: Duration::from_millis(50),
            linger: Duration::from_millis(5),
            queues: vec![QUEUE],
            policy: policy(),
        };
        Relay::new(self.store.pool.clone(), self.store.config.clone(), broker(url), config)
    }

    pub fn consumer(&self, url: String, poison: HashSet<UserId>) -> Consumer<Widgets> {
        self.consumer_of(url, Widgets { poison })
    }

    /// A consumer of [`QUEUE`] with `handler`, in batches of up to 50.
    pub fn consumer_of<H: Handler>(&self, url: String, handler: H) -> Consumer<H> {
        let config = ConsumerConfig {
            queue: QUEUE,
            batch_size: 50,
            prefetch: 150,
            policy: policy(),
            declare: vec![QUEUE],
            liveness_check: Duration::from_millis(300),
        };
        Consumer::new(handler, self.store.pool.clone(), broker(url), config)
    }

    /// Publishes `copies` copies of one `user.deleted` message (the same message id).
    pub async fn publish_copies(&self, copies: usize) {
        let envelope = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
        let body = serde_json::to_vec(&envelope).unwrap();
        let connection = broker(self.vhost.url()).connect().await.unwrap();
        let publisher = Publisher::open(&connection).await.unwrap();
        let message = Outgoing {
            exchange: "penny.events",
            routing_key: "user.deleted",
            message_id: envelope.message_id.to_string(),
            body: &body,
            headers: Default::default(),
        };
        publisher.publish(&vec![message; copies]).await.unwrap();
    }

    /// Enqueues `count` events in transactions of up to 100; returns their users.
    pub async fn enqueue(&self, count: usize) -> Vec<UserId> {
        let users: Vec<UserId> = (0..count).map(|_| UserId::new()).collect();
        let mut conn = self.store.pool.get().await.unwrap();
        for chunk in users.chunks(100) {
            use diesel_async::AsyncConnection;
            conn.transaction(async |tx| {
                for user in chunk {
                    outbox::enqueue(tx, &Envelope::new(UserDeleted { user_id: *user }, None)).await?;
                }
                Ok::<_, penny_platform::db::DbError>(())
            })
            .await
            .unwrap();
        }
        users
    }

    /// (distinct names, rows) in the widgets table.
    pub async fn effects(&self) -> (i64, i64) {
        #[derive(QueryableByName)]
        struct Counts {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            distinct_names: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            total: i64,
        }
        let mut conn = self.store.pool.get().await.unwrap();
        let counts: Counts = diesel::sql_query(
            "SELECT count(DISTINCT name) AS distinct_names, count(*) AS total FROM widgets",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        (counts.distinct_names, counts.total)
    }
}

/// Steps `consumer` until `done` holds for the running totals, or panics after `limit`.
pub async fn drive(
    consumer: &mut Consumer<Widgets>,
    limit: Duration,
    done: impl Fn(&penny_platform::broker::StepOutcome) -> bool,
) -> penny_platform::broker::StepOutcome {
    let deadline = Instant::now() + limit;
    let mut total = penny_platform::broker::StepOutcome::default();
    while !done(&total) {
        assert!(Instant::now() < deadline, "gave up waiting; so far {total:?}");
        if let Ok(step) = consumer.step(Duration::from_millis(200)).await {
            total.received += step.received;
            total.applied += step.applied;
            total.duplicates += step.duplicates;
            total.retried += step.retried;
            total.parked += step.parked;
        }
    }
    total
}

#[tokio::test]
async fn events_published_while_the_broker_is_cut_off_arrive_once_it_is_back() {
    let rig = Rig::new().await;
    let proxy = TcpProxy::start("127.0.0.1:5672").await;
    let mut relay = rig.relay(rig.vhost.url_via(&proxy.address()));
    let mut consumer = rig.consumer(rig.vhost.url(), HashSet::new());
    consumer.step(Duration::from_millis(10)).await.unwrap(); // declares the topology

    proxy.cut();
    rig.enqueue(20).await;
    assert!(relay.step().await.is_err(), "nothing can be published while cut off");
    assert_eq!(outbox::pending(&mut rig.store.pool.get().await.unwrap(), 100).await.unwrap().len(), 20);

    proxy.restore();
    assert_eq!(relay.drain().await.unwrap(), 20);
    let total = drive(&mut consumer, Duration::from_secs(20), |t| t.applied >= 20).await;
    assert_eq!(total.applied, 20);
    assert_eq!(rig.effects().await, (20, 20));
}

#[tokio::test]
async fn a_relay_that_dies_after_the_confirms_publishes_again_and_the_inbox_absorbs_it() {
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let mut consumer = rig.consumer(rig.vhost.url(), HashSet::new());
    rig.enqueue(10).await;

    assert_eq!(relay.step_then_crash().await.unwrap(), 0);
    assert_eq!(outbox::pending(&mut rig.store.pool.get().await.unwrap(), 100).await.unwrap().len(), 10);
    assert_eq!(relay.drain().await.unwrap(), 10, "the unmarked rows are published again");
    let left: i64 = {
        use diesel::QueryDsl as _;
        use diesel_async::RunQueryDsl as _;
        let mut conn = rig.store.pool.get().await.unwrap();
        outbox::outbox::table.count().get_result(&mut conn).await.unwrap()
    };
    assert_eq!(left, 0, "a confirmed row is deleted: the outbox holds only pending rows");

    let total = drive(&mut consumer, Duration::from_secs(20), |t| t.received >= 20).await;
    assert_eq!((total.applied, total.duplicates), (10, 10));
    assert_eq!(rig.effects().await, (10, 10));
}

#[tokio::test]
async fn a_consumer_that_dies_after_commit_and_before_ack_books_nothing_twice() {
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    rig.enqueue(10).await;
    relay.drain().await.unwrap();

    let mut first = rig.consumer(rig.vhost.url(), HashSet::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut committed = 0;
    while committed < 10 && Instant::now() < deadline {
        committed += first.step_then_crash(Duration::from_millis(200)).await.unwrap().applied;
    }
    assert_eq!(committed, 10);
    drop(first);

    let mut second = rig.consumer(rig.vhost.url(), HashSet::new());
    let total = drive(&mut second, Duration::from_secs(20), |t| t.received >= 10).await;
    assert_eq!((total.applied, total.duplicates), (0, 10), "every redelivery is a duplicate");
    assert_eq!(rig.effects().await, (10, 10));
}

#[tokio::test]
async fn an_event_no_queue_takes_yet_waits_without_holding_back_the_rest() {
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let mut consumer = rig.consumer(rig.vhost.url(), HashSet::new());
    consumer.step(Duration::from_millis(10)).await.unwrap();

    // No queue binds `user.registered` yet; the `user.deleted` events behind it must go out.
    let registered = Envelope::new(
        UserRegistered {
            user_id: UserId::new(),
            name: "N".into(),
            username: "n".into(),
            email: "n@x.test".into(),
        },
        None,
    );
    {
        let mut conn = rig.store.pool.get().await.unwrap();
        outbox::enqueue(&mut conn, &registered).await.unwrap();
    }
    rig.enqueue(5).await;
    assert_eq!(relay.drain().await.unwrap(), 5);
    let pending = outbox::pending(&mut rig.store.pool.get().await.unwrap(), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].message_id, pending[0].attempts), (registered.message_id, 1));
    assert!(pending[0].not_before.is_some_and(|at| at > chrono::Utc::now() - chrono::Duration::seconds(1)));
    assert_eq!(drive(&mut consumer, Duration::from_secs(20), |t| t.applied >= 5).await.applied, 5);

    // Its consumer starts: the event goes out on its next turn, once.
    const LATECOMER: QueueSpec = QueueSpec { name: "test.latecomer", bindings: &["user.registered"] };
    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    topology::declare(publisher.channel(), &[LATECOMER], &policy()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while relay.drain().await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "the deferred event was never offered again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(outbox::pending(&mut rig.store.pool.get().await.unwrap(), 10).await.unwrap().is_empty());
    let took = publisher.channel().basic_get(LATECOMER.name.into(), BasicGetOptions { no_ack: true });
    let message = took.await.unwrap().expect("the deferred event reached its queue");
    assert_eq!(
        message.delivery.properties.message_id().as_ref().unwrap().as_str(),
        registered.message_id.to_string()
    );
}

#[tokio::test]
async fn the_same_message_delivered_five_times_has_one_effect() {
    let rig = Rig::new().await;
    let mut consumer = rig.consumer(rig.vhost.url(), HashSet::new());
    consumer.step(Duration::from_millis(10)).await.unwrap();
    rig.publish_copies(5).await;

    let total = drive(&mut consumer, Duration::from_secs(20), |t| t.received >= 5).await;
    assert_eq!((total.applied, total.duplicates), (1, 4));
    assert_eq!(rig.effects().await, (1, 1));
}

/// Like [`Widgets`], but idempotent by its own key (a widget per user name, inserted once), so
/// its consumer keeps no inbox. Records the largest number of copies of one message it was
/// handed in a single batch.
struct NamedWidgets {
    most_copies_in_a_batch: std::sync::atomic::AtomicUsize,
}

impl Handler for NamedWidgets {
    type Message = Envelope<UserDeleted>;
    const IDEMPOTENT: bool = true;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        let mut copies = std::collections::HashMap::new();
        for delivered in batch {
            *copies.entry(delivered.message_id).or_insert(0) += 1;
            diesel::sql_query(
                "INSERT INTO widgets (id, name) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM widgets WHERE name = $2)",
            )
            .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::now_v7())
            .bind::<diesel::sql_types::Text, _>(delivered.message.payload.user_id.to_string())
            .execute(conn)
            .await?;
        }
        let most = copies.into_values().max().unwrap_or(0);
        self.most_copies_in_a_batch.fetch_max(most, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::test]
async fn a_handler_idempotent_by_its_own_keys_keeps_no_inbox_and_sees_a_message_once_per_batch() {
    let rig = Rig::new().await;
    let handler = NamedWidgets { most_copies_in_a_batch: Default::default() };
    let mut consumer = rig.consumer_of(rig.vhost.url(), handler);
    consumer.step(Duration::from_millis(10)).await.unwrap();
    rig.publish_copies(5).await;
    // Wait for all five, so one step takes them together.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut received = 0;
    while received < 5 {
        assert!(Instant::now() < deadline, "received {received} of 5");
        received += consumer.step(Duration::from_millis(200)).await.unwrap().received;
    }
    assert_eq!(rig.effects().await, (1, 1), "the handler's own key keeps one effect");
    let most = std::sync::atomic::AtomicUsize::load(
        &consumer.handler().most_copies_in_a_batch,
        std::sync::atomic::Ordering::Relaxed,
    );
    assert_eq!(most, 1, "copies of one message in a batch reach the handler once");
    let inbox: i64 = {
        diesel::sql_query("SELECT count(*) AS n FROM inbox")
            .get_result::<Count>(&mut rig.store.pool.get().await.unwrap())
            .await
            .unwrap()
            .n
    };
    assert_eq!(inbox, 0, "no inbox rows for an idempotent handler");
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn poison_is_parked_after_its_retries_malformed_at_once_and_nothing_is_lost() {
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let users = rig.enqueue(30).await;
    let poison: HashSet<UserId> = users.iter().take(2).copied().collect();
    let mut consumer = rig.consumer(rig.vhost.url(), poison.clone());
    relay.drain().await.unwrap();

    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    let garbage = [
        (b"not json".to_vec(), uuid::Uuid::now_v7().to_string()),
        (br#"{"message_id":"x","type":"user.deleted"}"#.to_vec(), uuid::Uuid::now_v7().to_string()),
        (
            serde_json::to_vec(&Envelope::new(UserDeleted { user_id: UserId::new() }, None)).unwrap(),
            "no-uuid".into(),
        ),
    ];
    let messages: Vec<Outgoing<'_>> = garbage
        .iter()
        .map(|(body, id)| Outgoing {
            exchange: "penny.events",
            routing_key: "user.deleted",
            message_id: id.clone(),
            body,
            headers: Default::default(),
        })
        .collect();
    publisher.publish(&messages).await.unwrap();

    let total = drive(&mut consumer, Duration::from_secs(30), |t| t.parked >= 5).await;
    assert_eq!(total.parked, 5, "2 poison after retries + 3 malformed");
    assert_eq!(total.retried, 4, "each poison message went through both delay queues");
    let (distinct, rows) = rig.effects().await;
    assert_eq!(rows, 28 + 2, "28 effects and the parking hook of the 2 poison messages");
    assert_eq!(distinct, rows);
    assert_eq!(28 + 5, 30 + 3, "in = effects + parked");

    let channel = connection.create_channel().await.unwrap();
    let mut reasons = Vec::new();
    while let Some(message) =
        channel.basic_get("test.widgets.parked".into(), BasicGetOptions { no_ack: true }).await.unwrap()
    {
        let carried = headers::strings(message.delivery.properties.headers().as_ref());
        assert_eq!(carried.get(headers::ORIGINAL_ROUTING_KEY).map(String::as_str), Some("user.deleted"));
        assert!(carried.get(headers::ERROR).is_some_and(|e| !e.is_empty()));
        reasons.push(carried[headers::PARK_REASON].clone());
    }
    reasons.sort();
    assert_eq!(reasons, ["malformed", "malformed", "malformed", "retries_exhausted", "retries_exhausted"]);
}

#[tokio::test]
async fn a_consumer_cancelled_by_the_server_subscribes_again() {
    let rig = Rig::new().await;
    let consumer = rig.consumer(rig.vhost.url(), HashSet::new());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let mut relay = rig.relay(rig.vhost.url());
    rig.enqueue(5).await;
    relay.drain().await.unwrap();
    wait_for_effects(&rig, 5).await;

    // Delete the queue under the consumer: the broker cancels the subscription, and the consumer
    // declares its queue again and subscribes anew on its own. (Declaring it from here instead
    // races the broker's clean-up of the deleted quorum queue, which can leave a subscription
    // that is counted but never delivered to: a broker artefact, not what an operator does.)
    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.queue_delete("test.widgets".into(), QueueDeleteOptions::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
    loop {
        assert!(Instant::now() < deadline, "the consumer did not declare its queue and subscribe again");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let probe = connection.create_channel().await.unwrap();
        if let Ok(state) = probe.queue_declare("test.widgets".into(), passive, Default::default()).await
            && state.consumer_count() > 0
        {
            break;
        }
    }

    rig.enqueue(5).await;
    relay.drain().await.unwrap();
    wait_for_effects(&rig, 10).await;
    shutdown.cancel();
    running.await.unwrap();
}

pub async fn wait_for_effects(rig: &Rig, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (distinct, rows) = rig.effects().await;
        assert_eq!(distinct, rows, "a message had two effects");
        if rows >= expected {
            assert_eq!(rows, expected);
            return;
        }
        if Instant::now() >= deadline {
            let pending =
                outbox::pending(&mut rig.store.pool.get().await.unwrap(), 20_000).await.unwrap().len();
            let queued = rig.vhost.queue_depth(QUEUE.name).await;
            let parked = rig.vhost.queue_depth(&format!("{}.parked", QUEUE.name)).await;
            panic!(
                "only {rows} of {expected} effects; {pending} still in the outbox, {queued} in the queue, {parked} parked"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Jepsen-style: 10,000 events through a relay and a consumer, both behind a proxy that is cut
/// and restored several times while they run. Every committed outbox row must have exactly one
/// effect.
#[tokio::test]
async fn ten_thousand_events_through_repeated_outages_have_exactly_one_effect_each() {
    let rig = Rig::new().await;
    let proxy = TcpProxy::start("127.0.0.1:5672").await;
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(rig.relay(rig.vhost.url_via(&proxy.address())).run(shutdown.clone()));
    let consumer =
        tokio::spawn(rig.consumer(rig.vhost.url_via(&proxy.address()), HashSet::new()).run(shutdown.clone()));

    let chaos = {
        let proxy = proxy.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(700)).await;
                proxy.cut();
                tokio::time::sleep(Duration::from_millis(300)).await;
                proxy.restore();
            }
        })
    };
    for _ in 0..10 {
        rig.enqueue(1_000).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    chaos.await.unwrap();
    wait_for_effects(&rig, 10_000).await;
    shutdown.cancel();
    relay.await.unwrap();
    consumer.await.unwrap();
    assert!(outbox::pending(&mut rig.store.pool.get().await.unwrap(), 10).await.unwrap().is_empty());
}
