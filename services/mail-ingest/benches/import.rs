//! `make bench` for mail-ingest: an mbox import of 10,000 messages (written by this benchmark:
//! bank alerts and receipts in several layouts and languages) through `POST /v1/mailbox/import`,
//! from the first byte sent until every email is stored and its `extraction.requested` confirmed
//! by the broker (the outbox drained into a queue bound like extraction's). Also the process's
//! peak memory after a 1,000-message and then a 10,000-message import: the upload streams, so it
//! must not grow with the file. The mbox is generated while it is sent, so the benchmark itself
//! holds no file in memory.
//!
//! `cargo bench -p penny-mail-ingest --bench import` (PENNY_BENCH_MESSAGES sets the large count).
//! Goal: ≥ 2,000 messages/s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use penny_contract::{Role, UserId, routing};
use penny_mail_ingest::crypto::SecretBox;
use penny_mail_ingest::{Application, MailIngestSettings};
use penny_platform::broker::{BrokerConfig, Publisher, topology};
use penny_platform::cli::RunMode;
use penny_testkit::{TestAuth, TestDb, TestSettings, TestVhost};
use secrecy::SecretString;

const LAYOUTS: [(&str, &str); 4] = [
    ("Card payment of EUR {amount}", "Your card ending 4821 was charged EUR {amount} at {merchant}."),
    ("Your receipt from {merchant}", "Thank you for your order.\nTotal charged: ${amount}\nVisa ending 1188"),
    ("Compra con tarjeta", "Compra de {amount} EUR en {merchant} con su tarjeta terminada en 5521."),
    ("Gutschrift", "Ihrem Konto ****0042 wurden {amount} EUR von {merchant} gutgeschrieben."),
];
const MERCHANTS: [&str; 4] = ["Cafe Lumen", "Corner Books", "Metro Fuel", "Green Grocer"];

/// One mbox message; `run` keeps Message-IDs apart between imports.
fn message(run: &str, i: usize) -> String {
    let (subject, body) = LAYOUTS[i % LAYOUTS.len()];
    let amount = format!("{}.{:02}", 2 + i % 500, i % 100);
    let merchant = MERCHANTS[i % MERCHANTS.len()];
    let fill = |t: &str| t.replace("{amount}", &amount).replace("{merchant}", merchant);
    format!(
        "From alerts@bank.example Mon Nov 16 10:00:00 2026\nMessage-ID: <{run}-{i}@bench.example>\n\
         From: Bank Alerts <alerts@bank.example>\nTo: you@example.com\nSubject: {}\n\
         Date: Mon, 16 Nov 2026 10:{:02}:{:02} +0000\nContent-Type: text/plain; charset=utf-8\n\n{}\n\n",
        fill(subject),
        i / 60 % 60,
        i % 60,
        fill(body)
    )
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

struct Rig {
    url: String,
    client: reqwest::Client,
    token: String,
    pool: penny_platform::db::DbPool,
}

impl Rig {
    /// Streams `count` generated messages and waits until they are stored and published.
    async fn import(&self, run: &str, count: usize) -> Duration {
        let run = run.to_owned();
        let chunks = futures::stream::iter((0..count).step_by(100).map(move |start| {
            let chunk: String = (start..(start + 100).min(count)).map(|i| message(&run, i)).collect();
            Ok::<_, std::io::Error>(Bytes::from(chunk))
        }));
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/v1/mailbox/import", self.url))
            .bearer_auth(&self.token)
            .header("content-type", "application/mbox")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap_or_default());
        loop {
            let pending =
                penny_platform::outbox::pending(&mut self.pool.get().await.unwrap(), 1).await.unwrap();
            if pending.is_empty() {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::main]
async fn main() {
    let large: usize =
        std::env::var("PENNY_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let db = TestDb::new().await;
    let auth = TestAuth::new();
    let vhost = TestVhost::new().await;
    let (_, spec) = SecretBox::generate("bench");
    let service = MailIngestSettings { secret_keys: Some(spec), ..MailIngestSettings::default() };
    let settings = TestSettings::new(&db, &auth, &vhost).settings(service);
    let app = Application::build(settings, RunMode::Serve).await.expect("the service starts");
    let url = format!("http://127.0.0.1:{}", app.port());
    let pool = app.foundation().pool.clone();
    tokio::spawn(app.run_until_stopped());

    // A queue takes extraction.requested, as extraction's does, so every publish is confirmed.
    let connection = BrokerConfig::new(SecretString::from(vhost.url()), "bench").connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    topology::declare_exchanges(publisher.channel()).await.unwrap();
    let channel = publisher.channel();
    channel
        .queue_declare("bench.requests".into(), QueueDeclareOptions::default(), FieldTable::default())
        .await
        .unwrap();
    channel
        .queue_bind(
            "bench.requests".into(),
            routing::EVENTS_EXCHANGE.into(),
            routing::EXTRACTION_REQUESTED.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();

    let rig = Rig { url, client: reqwest::Client::new(), token: auth.token(UserId::new(), Role::User), pool };
    rig.import("warm-up", 200).await;
    let baseline = peak_mib();
    let small = rig.import("small", 1_000).await;
    let after_small = peak_mib();
    let big = rig.import("large", large).await;
    let after_large = peak_mib();
    println!("mbox import, stored and every extraction.requested confirmed:");
    println!(
        "  1,000 messages: {:.2} s = {:.0} messages/s; peak memory {:.1} MiB (+{:.1} over the warm service)",
        small.as_secs_f64(),
        1_000.0 / small.as_secs_f64(),
        after_small,
        after_small - baseline
    );
    println!(
        "  {large} messages: {:.2} s = {:.0} messages/s (goal >= 2,000); peak memory {:.1} MiB (+{:.1} over the 1,000 run)",
        big.as_secs_f64(),
        large as f64 / big.as_secs_f64(),
        after_large,
        after_large - after_small
    );
}
