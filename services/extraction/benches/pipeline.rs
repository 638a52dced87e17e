//! End-to-end throughput of the extraction service with the rules policy: `extraction.requested`
//! queued on the real broker → the service's consumer (rule engine, one `email_extractions` row
//! per request, `email.extracted` through the outbox) → its relay → `email.extracted` counted on
//! a queue of the benchmark's own.
//!
//! `cargo bench -p penny-extraction --bench pipeline` (PENNY_BENCH_EMAILS sets the count,
//! 20,000 by default). Goal: ≥ 5,000 emails/s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use penny_contract::events::ExtractionRequested;
use penny_contract::{EmailId, Envelope, Event, JobId, Provider, RequestId, UserId, routing};
use penny_extraction::{Application, ExtractionSettings};
use penny_platform::broker::BrokerConfig;
use penny_platform::broker::publisher::{Outgoing, Publisher};
use penny_platform::broker::topology::{self, QueuePolicy};
use penny_platform::cli::RunMode;
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};
use secrecy::SecretString;

/// Alerts and receipts written for the benchmark, in several languages and layouts.
const TEMPLATES: [(&str, &str); 6] = [
    (
        "Card payment of EUR {amount}",
        "Your card ending 4821 was charged EUR {amount} at {merchant} on 20/11/2026.",
    ),
    (
        "Your receipt from {merchant}",
        "Thank you for your order.\nTotal charged: ${amount}\nPaid with Visa •••• 1188",
    ),
    (
        "Compra con tarjeta",
        "Se ha realizado una compra de {amount} EUR en {merchant} con su tarjeta terminada en 5521.",
    ),
    ("Kartenzahlung", "Ihre Karte ****7730 wurde am 19.11.2026 mit {amount} EUR bei {merchant} belastet."),
    ("Your verification code", "Your one-time password is 482913. Never share it with anyone."),
    ("Money received", "You received GBP {amount} from {merchant}. It is now in your account ending 0042."),
];
const MERCHANTS: [&str; 5] = ["Cafe Lumen", "Corner Books", "Trattoria Sole", "Metro Fuel", "Green Grocer"];

fn requests(count: usize) -> Vec<Envelope<ExtractionRequested>> {
    let user = UserId::new();
    let job = JobId::new();
    (0..count)
        .map(|i| {
            let (subject, body) = TEMPLATES[i % TEMPLATES.len()];
            let amount = format!("{}.{:02}", 3 + i % 400, i % 100);
            let merchant = MERCHANTS[i % MERCHANTS.len()];
            let fill = |t: &str| t.replace("{amount}", &amount).replace("{merchant}", merchant);
            Envelope::new(
                ExtractionRequested {
                    request_id: RequestId::new(),
                    job_id: job,
                    email_id: EmailId::new(),
                    user_id: user,
                    provider: Provider::Upload,
                    subject: fill(subject),
                    from: "Alerts <alerts@bank.example>".into(),
                    received_at: "2026-11-20T10:00:00Z".parse().unwrap(),
                    body_text: fill(body),
                    html_only: false,
                    force: false,
                },
                Some(job.as_uuid()),
            )
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let count: usize =
        std::env::var("PENNY_BENCH_EMAILS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let batch_size: usize = std::env::var("PENNY_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ExtractionSettings::default().batch_size);

    // The requests wait in the service's queue before it starts, so the figure is the service's
    // pace, not this process's publishing competing with it for the same two cores.
    let broker = BrokerConfig::new(SecretString::from(vhost.url()), "bench");
    let connection = broker.connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    topology::declare(publisher.channel(), &[topology::EXTRACTION_REQUESTS], &QueuePolicy::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_declare("bench.extracted".into(), QueueDeclareOptions::default(), FieldTable::default())
        .await
        .unwrap();
    channel
        .queue_bind(
            "bench.extracted".into(),
            routing::EVENTS_EXCHANGE.into(),
            routing::EMAIL_EXTRACTED.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let envelopes = requests(count);
    for chunk in envelopes.chunks(500) {
        let bodies: Vec<Vec<u8>> = chunk.iter().map(|e| serde_json::to_vec(e).unwrap()).collect();
        let messages: Vec<Outgoing<'_>> = chunk
            .iter()
            .zip(&bodies)
            .map(|(envelope, body)| Outgoing {
                exchange: routing::EVENTS_EXCHANGE,
                routing_key: ExtractionRequested::ROUTING_KEY,
                message_id: envelope.message_id.to_string(),
                body,
                headers: Default::default(),
            })
            .collect();
        publisher.publish(&messages).await.unwrap();
    }
    let mut outcomes = channel
        .basic_consume(
            "bench.extracted".into(),
            "bench".into(),
            BasicConsumeOptions { no_ack: true, ..Default::default() },
            FieldTable::default(),
        )
        .await
        .unwrap();

    let service = ExtractionSettings { batch_size, ..ExtractionSettings::default() };
    let mut settings = TestSettings::new(&db, &auth, &vhost).settings(service);
    settings.common.database_pool_size = 8;
    let started = Instant::now();
    let app = Application::build(settings, RunMode::Work).await.expect("the service starts");
    tokio::spawn(app.run_until_stopped());
    let mut first = None;
    let mut received = 0;
    while received < count {
        match tokio::time::timeout(Duration::from_secs(60), outcomes.next()).await {
            Ok(Some(Ok(_))) => {
                received += 1;
                first.get_or_insert_with(Instant::now);
            }
            other => panic!("stopped after {received} of {count} outcomes: {other:?}"),
        }
    }
    let total = started.elapsed();
    let steady = first.map_or(total, |first| first.elapsed());
    println!(
        "extraction pipeline (rules, batches of {batch_size}): {count} queued requests -> email.extracted in {:.2} s \
         = {:.0} emails/s from start-up (migrations included); {:.0} emails/s from the first outcome to the last (goal >= 5,000)",
        total.as_secs_f64(),
        count as f64 / total.as_secs_f64(),
        (count - 1) as f64 / steady.as_secs_f64(),
    );
}
