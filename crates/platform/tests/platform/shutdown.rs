//! Stopping a service while its consumer holds a batch: `Foundation::shutdown` against the real
//! RabbitMQ and PostgreSQL. Nothing may be lost and nothing applied twice.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use diesel_async::AsyncPgConnection;
use lapin::options::QueueDeclareOptions;
use penny_contract::Envelope;
use penny_contract::events::UserDeleted;
use penny_platform::broker::consumer::{ConsumerConfig, Delivered, Handler, HandlerError};
use penny_platform::http::auth::KeySource;
use penny_platform::outbox;
use penny_platform::service::Foundation;
use penny_platform::settings::CommonSettings;
use secrecy::SecretString;
use tokio::sync::mpsc;

use crate::helpers::{INFO, WIDGETS};
use crate::messaging::{QUEUE, Rig, broker, drive, insert_widget, policy};

/// Applies each `user.deleted` as a widget row named after the user (like the messaging tests'
/// handler), then reports the batch and lingers inside its transaction for `pause`.
struct Slow {
    started: mpsc::UnboundedSender<usize>,
    pause: Duration,
}

impl Handler for Slow {
    type Message = Envelope<UserDeleted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            insert_widget(conn, &delivered.message.payload.user_id.to_string()).await?;
        }
        let _ = self.started.send(batch.len());
        tokio::time::sleep(self.pause).await;
        Ok(())
    }
}

/// A Foundation on the rig's database and vhost, consuming `test.widgets` with `Slow`.
async fn start(
    rig: &Rig,
    shutdown_timeout_secs: u64,
    pause: Duration,
) -> (Foundation, mpsc::UnboundedReceiver<usize>) {
    let common = CommonSettings {
        database_url: SecretString::from(rig.store.db.url()),
        database_pool_size: 4,
        amqp_url: SecretString::from(rig.vhost.url()),
        jwks_url: None,
        shutdown_timeout_secs,
        ..CommonSettings::default()
    };
    let keys = KeySource::Static(jsonwebtoken::jwk::JwkSet { keys: vec![] });
    let mut foundation = Foundation::start(INFO, common, &WIDGETS, Some(keys)).await.unwrap();
    let (started, batches) = mpsc::unbounded_channel();
    let config = ConsumerConfig {
        queue: QUEUE,
        batch_size: 50,
        prefetch: 150,
        policy: policy(),
        declare: vec![QUEUE],
        liveness_check: Duration::from_millis(300),
    };
    foundation.spawn_consumer_with(Slow { started, pause }, config);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready_in_queue(rig).await.is_none() {
        assert!(Instant::now() < deadline, "the consumer never declared its queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (foundation, batches)
}

/// (ready messages, consumers) of `test.widgets`, as the broker counts them now; `None` while
/// the queue does not exist.
async fn ready_in_queue(rig: &Rig) -> Option<(u32, u32)> {
    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    let state = channel.queue_declare(QUEUE.name.into(), passive, Default::default()).await.ok()?;
    let _ = connection.close(200, "done".into()).await;
    Some((state.message_count(), state.consumer_count()))
}

/// Waits until `test.widgets` holds exactly `expected` ready messages and no consumer.
async fn wait_until_ready(rig: &Rig, expected: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = ready_in_queue(rig).await;
        if state == Some((expected, 0)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {expected} ready messages and no consumer, got {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending_in_outbox(rig: &Rig) -> usize {
    outbox::pending(&mut rig.store.pool.get().await.unwrap(), 1_000).await.unwrap().len()
}

#[tokio::test]
async fn a_consumer_stopped_mid_batch_commits_and_acks_it_and_hands_back_the_rest() {
    let rig = Rig::new().await;
    let (foundation, mut batches) = start(&rig, 10, Duration::from_millis(500)).await;
    rig.enqueue(300).await;

    // Let the relay publish everything, then stop while a batch sits in its transaction.
    let mut handled = batches.recv().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pending_in_outbox(&rig).await > 0 {
        assert!(Instant::now() < deadline, "the relay did not publish the outbox");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handled += tokio::time::timeout(Duration::from_secs(10), batches.recv()).await.unwrap().unwrap();
    foundation.shutdown().await;
    while let Ok(more) = batches.try_recv() {
        handled += more;
    }

    // Every batch the handler started was committed, the one in flight included.
    let (distinct, rows) = rig.effects().await;
    assert_eq!((distinct, rows), (handled as i64, handled as i64));
    assert!(handled < 300, "the consumer stopped before the end");
    // And acked: nothing is held by the stopped consumer; the rest is ready for the next one.
    let rest = 300 - handled;
    wait_until_ready(&rig, rest as u32).await;

    let mut next = rig.consumer(rig.vhost.url(), HashSet::new());
    let total = drive(&mut next, Duration::from_secs(30), |t| t.received >= rest).await;
    assert_eq!((total.received, total.applied, total.duplicates), (rest, rest, 0), "nothing redelivered");
    assert_eq!(rig.effects().await, (300, 300));
}

#[tokio::test]
async fn a_consumer_stuck_past_the_shutdown_timeout_is_aborted_and_its_batch_redelivered() {
    let rig = Rig::new().await;
    let (foundation, mut batches) = start(&rig, 1, Duration::from_secs(3600)).await;
    rig.enqueue(100).await;

    let stuck = batches.recv().await.unwrap();
    assert!(stuck > 0);
    let stopping = Instant::now();
    foundation.shutdown().await;
    assert!(stopping.elapsed() < Duration::from_secs(5), "shutdown waited for the stuck batch");

    // The batch's transaction rolled back and its messages went back to the queue.
    assert_eq!(rig.effects().await, (0, 0));
    let published = 100 - pending_in_outbox(&rig).await;
    wait_until_ready(&rig, published as u32).await;

    let mut next = rig.consumer(rig.vhost.url(), HashSet::new());
    let mut relay = rig.relay(rig.vhost.url());
    relay.drain().await.unwrap();
    let total = drive(&mut next, Duration::from_secs(30), |t| t.applied >= 100).await;
    assert_eq!((total.applied, total.duplicates), (100, 0), "each message applied once");
    assert_eq!(rig.effects().await, (100, 100));
}
