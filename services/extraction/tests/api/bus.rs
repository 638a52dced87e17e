//! The service end to end on the real broker and database: `extraction.requested` in,
//! `email.extracted` out, one `email_extractions` row per attempt.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use penny_contract::events::{EmailExtracted, ExtractionRequested, UserDeleted};
use penny_contract::{EmailId, Envelope, Event, JobId, Provider, RequestId, UserId, routing};
use penny_extraction::pipeline::Pipeline;
use penny_extraction::worker::RequestsWorker;
use penny_extraction::{ExtractionSettings, MIGRATIONS, Policy};
use penny_platform::broker::publisher::{Outgoing, Publisher};
use penny_platform::broker::topology::{self, QueuePolicy};
use penny_platform::broker::{BrokerConfig, Consumer, ConsumerConfig};
use penny_platform::db::{self, DbConfig};
use penny_platform::tombstones::Tombstones;
use penny_testkit::{TestDb, TestVhost};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    TestApp, completion, llm_answering, llm_settings, one_expense, spawn_app, spawn_app_with,
};

fn request(user: UserId, email: EmailId, subject: &str, body: &str, force: bool) -> ExtractionRequested {
    ExtractionRequested {
        request_id: RequestId::new(),
        job_id: JobId::new(),
        email_id: email,
        user_id: user,
        provider: Provider::Upload,
        subject: subject.into(),
        from: "Alerts <alerts@bank.example>".into(),
        received_at: "2026-11-20T10:00:00Z".parse().unwrap(),
        body_text: body.into(),
        html_only: false,
        force,
    }
}

const ALERT: (&str, &str) =
    ("Card payment of EUR 23.40", "Your card ending 4821 was charged EUR 23.40 at Cafe Lumen on 20/11/2026.");

/// Watches `email.extracted` on the app's vhost, and publishes into it.
struct Bus {
    connection: lapin::Connection,
    publisher: Publisher,
}

impl Bus {
    async fn new(vhost: &TestVhost) -> Self {
        let broker = BrokerConfig::new(SecretString::from(vhost.url()), "test");
        let connection = broker.connect().await.unwrap();
        let publisher = Publisher::open(&connection).await.unwrap();
        topology::declare_exchanges(publisher.channel()).await.unwrap();
        let channel = publisher.channel();
        channel
            .queue_declare("test.extracted".into(), QueueDeclareOptions::default(), FieldTable::default())
            .await
            .unwrap();
        channel
            .queue_bind(
                "test.extracted".into(),
                routing::EVENTS_EXCHANGE.into(),
                routing::EMAIL_EXTRACTED.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        // The service declares its queue when its consumer starts.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !vhost.queue_exists(topology::EXTRACTION_REQUESTS.name).await {
            assert!(Instant::now() < deadline, "the service never declared its queue");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { connection, publisher }
    }

    async fn publish<E: Event>(&self, envelope: &Envelope<E>) {
        let body = serde_json::to_vec(envelope).unwrap();
        let message = Outgoing {
            exchange: routing::EVENTS_EXCHANGE,
            routing_key: E::ROUTING_KEY,
            message_id: envelope.message_id.to_string(),
            body: &body,
            headers: Default::default(),
        };
        // The service declares its queue before binding it: until the binding exists the
        // message comes back unroutable, and is sent again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.publisher.publish(std::slice::from_ref(&message)).await.unwrap().unroutable() > 0 {
            assert!(Instant::now() < deadline, "no queue took {}", E::ROUTING_KEY);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for `count` `email.extracted` and returns them.
    async fn extracted(&self, count: usize) -> Vec<EmailExtracted> {
        let channel = self.connection.create_channel().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while seen.len() < count {
            assert!(Instant::now() < deadline, "only {} of {count} email.extracted arrived", seen.len());
            match channel.basic_get("test.extracted".into(), BasicGetOptions { no_ack: true }).await.unwrap()
            {
                Some(message) => {
                    let envelope: Envelope<EmailExtracted> =
                        Envelope::from_slice(&message.delivery.data).unwrap();
                    seen.push(envelope.payload);
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        seen
    }
}

async fn wait_for_rows(app: &TestApp, table: &str, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count(table).await != expected {
        assert!(Instant::now() < deadline, "{table} never held {expected} rows");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_in_email_extracted_out_redeliveries_add_nothing_and_deleted_users_vanish() {
    let app = spawn_app().await;
    let bus = Bus::new(&app.vhost).await;
    let user = UserId::new();
    let alert = request(user, EmailId::new(), ALERT.0, ALERT.1, false);
    let otp = request(
        user,
        EmailId::new(),
        "Your code",
        "Your one-time password is 482913. Never share it.",
        false,
    );

    bus.publish(&Envelope::new(alert.clone(), None)).await;
    bus.publish(&Envelope::new(otp.clone(), None)).await;
    // The same request again under a new message id (a re-publish, not a broker redelivery).
    bus.publish(&Envelope::new(alert.clone(), None)).await;

    let mut outcomes = bus.extracted(2).await;
    outcomes.sort_by_key(|o| o.email_id == otp.email_id);
    assert_eq!((outcomes[0].email_id, outcomes[0].request_id), (alert.email_id, alert.request_id));
    assert_eq!(outcomes[0].status.as_ref(), "SUCCESS");
    assert_eq!(outcomes[0].transactions.len(), 1);
    assert_eq!(outcomes[0].transactions[0].money.amount_string(), "23.40");
    assert_eq!(outcomes[0].extraction_version, penny_rules::VERSION);
    assert_eq!(outcomes[1].status.as_ref(), "SKIPPED");
    assert!(outcomes[1].transactions.is_empty() && outcomes[1].reason.is_some());
    wait_for_rows(&app, "email_extractions", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count("email_extractions").await, 2, "the repeated request added no attempt");

    // The attempts, as the owner sees them; another user sees nothing.
    let attempts: serde_json::Value =
        app.get(user, &format!("/v1/emails/{}/extractions", alert.email_id)).await.json().await.unwrap();
    assert_eq!(attempts["items"].as_array().unwrap().len(), 1);
    assert_eq!(attempts["items"][0]["status"], "SUCCESS");
    assert_eq!(attempts["items"][0]["extraction_version"], penny_rules::VERSION);
    assert_eq!(attempts["items"][0]["extracted_json"]["transactions"][0]["amount"], "23.40");
    let stranger = app.get(UserId::new(), &format!("/v1/emails/{}/extractions", alert.email_id)).await;
    assert_eq!(stranger.status(), 404);

    // The version was announced at start-up (it waits in the outbox until mail-ingest listens).
    assert_eq!(app.count("outbox WHERE routing_key = 'extraction.started'").await, 1);

    bus.publish(&Envelope::new(UserDeleted { user_id: user }, None)).await;
    wait_for_rows(&app, "email_extractions", 0).await;
    assert_eq!(app.count("user_tombstones").await, 1);
}

#[tokio::test]
async fn a_stored_llm_answer_is_reused_unless_forced() {
    let llm =
        llm_answering(completion(Some(&one_expense("41.00", "Trattoria")), None, "stop", (700, 0, 50))).await;
    let app = spawn_app_with(llm_settings(&llm, Policy::Llm)).await;
    let bus = Bus::new(&app.vhost).await;
    let user = UserId::new();
    let email = EmailId::new();

    bus.publish(&Envelope::new(request(user, email, ALERT.0, ALERT.1, false), None)).await;
    assert_eq!(bus.extracted(1).await[0].transactions[0].money.amount_string(), "41.00");
    // A reprocess of the same email without force: a new attempt, no new call.
    bus.publish(&Envelope::new(request(user, email, ALERT.0, ALERT.1, false), None)).await;
    let reused = bus.extracted(1).await;
    assert_eq!(reused[0].transactions[0].money.amount_string(), "41.00");
    assert_eq!(llm.received_requests().await.unwrap().len(), 1);
    // Forced: a new call.
    bus.publish(&Envelope::new(request(user, email, ALERT.0, ALERT.1, true), None)).await;
    bus.extracted(1).await;
    assert_eq!(llm.received_requests().await.unwrap().len(), 2);
    wait_for_rows(&app, "email_extractions", 3).await;
    assert_eq!(app.count("llm_transactions").await, 2);
    let attempts: serde_json::Value =
        app.get(user, &format!("/v1/emails/{email}/extractions")).await.json().await.unwrap();
    let items = attempts["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|a| a["model_used"] == "gpt-4o-mini" && a["prompt_hash"].as_str().unwrap().len() == 64)
    );
}

/// An LLM that never answers: the request is retried, then parked, and still yields a FAILED
/// `email.extracted` with reason `parked`.
#[tokio::test]
async fn a_request_parked_after_its_retries_still_gets_a_failed_outcome() {
    penny_platform::telemetry::init_for_test();
    let llm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}),
        ))
        .mount(&llm)
        .await;
    let test_db = TestDb::new().await;
    let vhost = TestVhost::new().await;
    let config = DbConfig::new(SecretString::from(test_db.url()), penny_extraction::INFO.schema, 4).unwrap();
    db::migrate(&config, &MIGRATIONS).await.unwrap();
    let pool = db::pool(&config).unwrap();
    let settings: ExtractionSettings = llm_settings(&llm, Policy::Llm);
    let worker = RequestsWorker {
        pipeline: Arc::new(Pipeline::from_settings(&settings).unwrap()),
        pool: pool.clone(),
        tombstones: Tombstones::new(),
        concurrency: 2,
    };
    let policy = QueuePolicy { delivery_limit: 20, retry_delays: vec![Duration::from_millis(100)] };
    let mut consumer_config = ConsumerConfig::new(topology::EXTRACTION_REQUESTS);
    consumer_config.policy = policy;
    let broker = BrokerConfig::new(SecretString::from(vhost.url()), "test");
    let mut consumer = Consumer::new(worker, pool.clone(), broker, consumer_config);
    consumer.step(Duration::from_millis(10)).await.unwrap(); // declares the queue

    let bus = Bus::new(&vhost).await;
    let user = UserId::new();
    let parked = request(user, EmailId::new(), ALERT.0, ALERT.1, false);
    bus.publish(&Envelope::new(parked.clone(), None)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut total = 0;
    while total < 1 {
        assert!(Instant::now() < deadline, "the request was never parked");
        if let Ok(step) = consumer.step(Duration::from_millis(200)).await {
            total += step.parked;
        }
    }
    // The FAILED outcome goes out through the outbox like any other.
    let pending = penny_platform::outbox::pending(&mut pool.get().await.unwrap(), 10).await.unwrap();
    let outcomes: Vec<EmailExtracted> = pending
        .iter()
        .filter(|row| row.routing_key == routing::EMAIL_EXTRACTED)
        .map(|row| serde_json::from_str::<Envelope<EmailExtracted>>(&row.body).unwrap().payload)
        .collect();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].request_id, parked.request_id);
    assert_eq!((outcomes[0].status.as_ref(), outcomes[0].reason.as_deref()), ("FAILED", Some("parked")));
    let statuses: HashSet<String> = {
        use diesel_async::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Status {
            #[diesel(sql_type = diesel::sql_types::Text)]
            status: String,
        }
        let rows: Vec<Status> = diesel::sql_query("SELECT status FROM llm_transactions")
            .load(&mut pool.get().await.unwrap())
            .await
            .unwrap();
        rows.into_iter().map(|r| r.status).collect()
    };
    assert_eq!(statuses, HashSet::from(["FAILED".to_owned()]), "every failed call is on record");
}
