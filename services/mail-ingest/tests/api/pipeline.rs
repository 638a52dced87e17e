//! The whole pipeline in one process: mail-ingest, the real extraction service (rules) and the
//! real ledger on one database (a schema each) and one vhost. Imports the project's demo mailbox,
//! waits for the jobs, and reprocesses all, failed and outdated emails, twice over, checking that
//! the counts add up and the ledger holds each transaction once.

use std::time::{Duration, Instant};

use penny_contract::Envelope;
use penny_contract::events::UserRegistered;
use penny_platform::cli::RunMode;
use penny_platform::db::{self, DbConfig, DbPool};
use penny_testkit::TestSettings;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_in};

struct Pipeline {
    ingest: TestApp,
    ledger: DbPool,
}

async fn spawn_pipeline() -> Pipeline {
    let ingest = spawn_app().await;
    let settings = TestSettings::new(&ingest.db, &ingest.auth, &ingest.vhost);
    let ledger = penny_ledger::Application::build(
        settings.settings(penny_ledger::LedgerSettings::default()),
        RunMode::Serve,
    )
    .await
    .expect("ledger");
    tokio::spawn(ledger.run_until_stopped());
    let settings = TestSettings::new(&ingest.db, &ingest.auth, &ingest.vhost);
    let extraction = penny_extraction::Application::build(
        settings.settings(penny_extraction::ExtractionSettings::default()),
        RunMode::Serve,
    )
    .await
    .expect("extraction");
    tokio::spawn(extraction.run_until_stopped());
    let config = DbConfig::new(secrecy::SecretString::from(ingest.db.url()), penny_ledger::INFO.schema, 2)
        .expect("schema name");
    Pipeline { ingest, ledger: db::pool(&config).expect("pool") }
}

impl Pipeline {
    /// A user every service knows (through `user.registered` on the bus).
    async fn user(&self) -> TestUser {
        let user = self.ingest.user().await;
        let event = UserRegistered {
            user_id: user.id,
            name: "Demo".into(),
            username: format!("u{}", user.id),
            email: format!("{}@demo.test", user.id),
        };
        self.ingest.vhost.publish(&Envelope::new(event, None)).await;
        user
    }

    async fn ledger_count(&self, sql: &str) -> i64 {
        penny_testkit::count(&mut self.ledger.get().await.unwrap(), sql).await
    }

    /// Waits until `job` ends and returns it.
    async fn finished(&self, user: &TestUser, job: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let found = self.ingest.get_json(user, &format!("/v1/jobs/{job}")).await;
            if matches!(found["status"].as_str(), Some("SUCCESS" | "FAILED" | "CANCELLED")) {
                return found;
            }
            assert!(Instant::now() < deadline, "job {job} never ended: {found}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn reprocess(&self, user: &TestUser, body: Value) -> Value {
        let response = self.ingest.post(user, "/v1/reprocess", body.clone()).await;
        assert_eq!(response.status(), 202, "{body}");
        let created: Value = response.json().await.unwrap();
        let job = self.finished(user, created["job_id"].as_str().unwrap()).await;
        assert_eq!(job["job_type"], "EMAIL_REPROCESS");
        assert_eq!(job["status"], "SUCCESS", "{job}");
        add_up(&job);
        job
    }
}

fn count(job: &Value, name: &str) -> i64 {
    job["output_payload"][name].as_i64().unwrap_or(0)
}

/// extracted + skipped + failed = total, and every email sent was booked.
fn add_up(job: &Value) {
    let total = count(job, "total");
    assert_eq!(count(job, "extracted") + count(job, "skipped") + count(job, "failed"), total, "{job}");
    assert_eq!(count(job, "booked") + count(job, "purged"), total, "{job}");
}

/// The demo mailbox and what it holds, from its own expected results.
fn demo() -> (Vec<u8>, i64, i64, i64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../demo");
    let mbox = std::fs::read(dir.join("mailbox.mbox")).expect("demo/mailbox.mbox");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).expect("demo/expected.json"))
            .unwrap();
    let rows: Vec<&Value> = match &expected {
        Value::Array(rows) => rows.iter().collect(),
        Value::Object(map) => map
            .get("emails")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_else(|| map.values().collect()),
        _ => panic!("unexpected demo/expected.json"),
    };
    let emails = rows.len() as i64;
    let transactional = rows.iter().filter(|r| r["is_transaction"] == true).count() as i64;
    let transactions: i64 =
        rows.iter().map(|r| r["transactions"].as_array().map_or(0, |t| t.len() as i64)).sum();
    (mbox, emails, transactional, transactions)
}

#[tokio::test]
async fn the_demo_mailbox_is_booked_once_and_reprocessing_twice_over_adds_no_duplicate() {
    let pipeline = spawn_pipeline().await;
    let app = &pipeline.ingest;
    let user = pipeline.user().await;
    let (mbox, emails, transactional, transactions) = demo();
    assert!(emails >= 30 && transactions > 0, "the demo mailbox is not empty");

    // The import: a fetch job whose counts add up, and its extraction job, which ends once
    // every email has an outcome and a booking.
    let fetch = app.import_mbox(&user, mbox).await;
    assert_eq!(fetch["status"], "SUCCESS");
    assert_eq!(count(&fetch, "stored") + count(&fetch, "duplicates"), count(&fetch, "total"), "{fetch}");
    assert_eq!(count(&fetch, "stored"), emails);
    let children =
        app.get_json(&user, &format!("/v1/jobs?parent_job_id={}", fetch["id"].as_str().unwrap())).await;
    let child = children["items"][0]["id"].as_str().expect("an extraction job").to_owned();
    let extraction = pipeline.finished(&user, &child).await;
    assert_eq!(extraction["status"], "SUCCESS", "{extraction}");
    assert_eq!(extraction["job_type"], "EMAIL_EXTRACTION");
    assert_eq!(count(&extraction, "total"), emails);
    assert_eq!(count(&extraction, "booked"), emails);
    add_up(&extraction);
    assert_eq!(count(&extraction, "extracted"), transactional, "{extraction}");
    assert_eq!(count(&extraction, "failed"), 0);

    let user_filter = format!("user_id = '{}'", user.id);
    let booked = format!("SELECT count(*) AS n FROM transactions WHERE {user_filter}");
    let distinct = format!("SELECT count(DISTINCT external_id) AS n FROM transactions WHERE {user_filter}");
    assert_eq!(pipeline.ledger_count(&booked).await, transactions);
    let pending = app.count("SELECT count(*) AS n FROM emails WHERE extraction_status = 'PENDING'").await;
    assert_eq!(pending, 0, "every email shows its outcome");
    let completed = app.count("SELECT count(*) AS n FROM emails WHERE extraction_status = 'COMPLETED'").await;
    assert_eq!(completed, transactional);

    // Everything, twice over: new attempts, the same ledger.
    for _ in 0..2 {
        let job = pipeline.reprocess(&user, json!({"scope": "all"})).await;
        assert_eq!(count(&job, "total"), emails);
        assert_eq!(count(&job, "extracted"), transactional);
        assert_eq!(job["triggered_by"], "MANUAL");
        assert_eq!(pipeline.ledger_count(&booked).await, transactions, "no duplicate after reprocessing");
        assert_eq!(pipeline.ledger_count(&distinct).await, transactions);
    }
    // Failed: the emails whose last extraction failed (two are marked so here), twice over; the
    // first run extracts them again, so the second finds none.
    app.count(
        "WITH u AS (UPDATE emails SET extraction_status = 'FAILED' WHERE id IN \
           (SELECT id FROM emails ORDER BY id DESC LIMIT 2) RETURNING 1) SELECT count(*) AS n FROM u",
    )
    .await;
    for expected in [2, 0] {
        let job = pipeline.reprocess(&user, json!({"scope": "failed"})).await;
        assert_eq!(count(&job, "total"), expected, "{job}");
        assert_eq!(pipeline.ledger_count(&booked).await, transactions);
    }

    // Outdated: emails extracted with another version than the newest announced.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.count("SELECT count(*) AS n FROM extraction_versions").await == 0 {
        assert!(Instant::now() < deadline, "extraction.started never reached the registry");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.count(
        "WITH u AS (UPDATE emails SET extraction_version = 'rules-0' WHERE id IN \
           (SELECT id FROM emails ORDER BY id LIMIT 5) RETURNING 1) SELECT count(*) AS n FROM u",
    )
    .await;
    for expected in [5, 0] {
        let job = pipeline.reprocess(&user, json!({"scope": "outdated"})).await;
        assert_eq!(count(&job, "total"), expected, "{job}");
    }

    // A range and an account narrow the choice.
    let received: Vec<String> = app
        .all(&user, "/v1/emails")
        .await
        .iter()
        .map(|e| e["received_at"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = received.clone();
    sorted.sort();
    let middle = &sorted[sorted.len() / 2];
    let before_middle = sorted.iter().filter(|at| *at < middle).count() as i64;
    let job = pipeline.reprocess(&user, json!({"scope": "range", "to": middle})).await;
    assert_eq!(count(&job, "total"), before_middle);

    // Purged bodies are not sent: counted as skipped and purged, and their transactions stay.
    app.count(
        "WITH u AS (UPDATE emails SET body_text = NULL, body_purged_at = now() WHERE id IN \
           (SELECT id FROM emails ORDER BY id LIMIT 3) RETURNING 1) SELECT count(*) AS n FROM u",
    )
    .await;
    let job = pipeline.reprocess(&user, json!({"scope": "all"})).await;
    assert_eq!(count(&job, "total"), emails);
    assert_eq!(count(&job, "purged"), 3);
    assert_eq!(count(&job, "booked"), emails - 3);
    assert_eq!(pipeline.ledger_count(&booked).await, transactions);
}

#[tokio::test]
async fn reprocess_input_is_checked_and_a_queued_reprocess_can_be_cancelled() {
    // No dispatcher runs in this app: the test decides when the queued job would be published.
    let app = &spawn_app_in(RunMode::Api, |_| {}).await;
    let user = app.user().await;
    app.import_mbox(&user, demo().0).await;
    for (body, field) in [
        (json!({"scope": "everything"}), "scope"),
        (json!({"scope": "range"}), "from"),
        (json!({"scope": "all", "from": "yesterday"}), "from"),
        (json!({"scope": "all", "from": "2026-11-02", "to": "2026-11-01"}), "to"),
        (json!({"scope": "all", "account_id": "nope"}), "account_id"),
    ] {
        let response = app.post(&user, "/v1/reprocess", body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"]["fields"][field].is_string(), "{body}: {error}");
    }
    let response = app.post(&user, "/v1/reprocess", json!({"scope": "all", "extra": 1})).await;
    assert_eq!(response.status(), 400);
    let response =
        app.post(&user, "/v1/reprocess", json!({"scope": "all", "account_id": uuid::Uuid::now_v7()})).await;
    assert_eq!(response.status(), 404, "another user's or an unknown account");

    // A QUEUED reprocess cancelled before the dispatcher sees it never publishes anything.
    let job = {
        use penny_mail_ingest::reprocess::{self, Scope, Selection};
        let selection = Selection {
            scope: Scope::All,
            from: None,
            to: None,
            account_id: None,
            job_id: None,
            retry_of: None,
        };
        reprocess::create_job(
            &mut *app.conn().await,
            user.id,
            &selection,
            penny_contract::TriggeredBy::Manual,
        )
        .await
        .unwrap()
    };
    let response = app.post(&user, &format!("/v1/jobs/{}/cancel", job.id), json!({})).await;
    assert_eq!(response.status(), 202);
    let cancelled = app.get_json(&user, &format!("/v1/jobs/{}", job.id)).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    assert!(cancelled["started_at"].is_null());
    let dispatcher = penny_mail_ingest::reprocess::Dispatcher::new(app.pool.clone(), 10);
    assert_eq!(dispatcher.dispatch_all().await.unwrap(), 0, "a cancelled job is never dispatched");
    let sent = app.count(&format!("SELECT count(*) AS n FROM job_emails WHERE job_id = '{}'", job.id)).await;
    assert_eq!(sent, 0);
    let again = app.post(&user, &format!("/v1/jobs/{}/cancel", job.id), json!({})).await;
    assert_eq!(again.status(), 409);
}
