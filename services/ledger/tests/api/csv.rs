use std::time::Instant;

use bytes::Bytes;
use penny_ledger::LedgerSettings;
use serde_json::Value;

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_configured};

async fn import(app: &TestApp, user: &TestUser, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url("/v1/transactions/import"))
        .bearer_auth(&user.token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn import_json(app: &TestApp, user: &TestUser, body: impl Into<reqwest::Body>) -> Value {
    let response = import(app, user, body).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

const FILE: &str = "date,amount,currency,type,category,merchant,notes\n\
2026-01-05,12.50,USD,expense,groceries,Whole Foods,\"weekly, big\"\n\
2026-01-05,12.50,USD,expense,groceries,Whole Foods,\"weekly, big\"\n\
2026-01-06T08:00:00+01:00,3240,JPY,expense,,Lawson,\n\
2026-02-30,1,USD,expense,,,\n\
2026-01-07,1.234,USD,expense,,,\n\
2026-01-08,5,USD,refund,,,\n\
2026-01-09,2500,EUR,income,Salary,ACME,\n";

#[tokio::test]
async fn a_csv_file_imports_once_and_reports_bad_lines() {
    let app = spawn_app().await;
    let user = app.user().await;
    let summary = import_json(&app, &user, FILE).await;
    assert_eq!(summary["imported"], 4, "{summary}");
    assert_eq!(summary["skipped_duplicates"], 0);
    let errors = summary["errors"].as_array().unwrap();
    let lines: Vec<i64> = errors.iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, [5, 6, 7], "{summary}");

    let again = import_json(&app, &user, FILE).await;
    assert_eq!(again["imported"], 0);
    assert_eq!(again["skipped_duplicates"], 4);

    let page = app.get_json(&user, "/v1/transactions?source=import").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let groceries = app.category(&user, "Groceries").await;
    let whole_foods: Vec<&Value> = items.iter().filter(|i| i["merchant"] == "Whole Foods").collect();
    assert_eq!(whole_foods.len(), 2, "two identical rows are two transactions");
    assert_ne!(whole_foods[0]["external_id"], whole_foods[1]["external_id"]);
    assert_eq!(whole_foods[0]["category_id"], groceries.as_str());
    assert_eq!(whole_foods[0]["notes"], "weekly, big");
    assert_eq!(whole_foods[0]["occurred_at"], "2026-01-05T12:00:00Z");
    let lawson = items.iter().find(|i| i["merchant"] == "Lawson").unwrap();
    assert_eq!(lawson["amount"], "3240");
    assert_eq!(lawson["occurred_at"], "2026-01-06T07:00:00Z");
}

#[tokio::test]
async fn bad_files_and_content_types_are_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    assert_eq!(import(&app, &user, "when,how much\n2026-01-01,5\n").await.status(), 400);
    assert_eq!(import(&app, &user, "").await.status(), 400);
    let json = app
        .client
        .post(app.url("/v1/transactions/import"))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    assert!(app.get_json(&user, "/v1/transactions").await["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_export_streams_the_filtered_list_and_imports_again() {
    let app = spawn_app().await;
    let user = app.user().await;
    import_json(&app, &user, FILE).await;
    let response = app.get(&user, "/v1/transactions/export?format=csv&currency=USD&type=expense").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        [
            "date",
            "amount",
            "currency",
            "type",
            "category",
            "merchant",
            "notes",
            "id",
            "source",
            "external_id"
        ]
    );
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "the income row is filtered out");
    assert_eq!(&rows[0][1], "3240");
    assert_eq!(&rows[1][4], "Groceries");
    assert_eq!(&rows[1][6], "weekly, big");
    assert_eq!(&rows[1][8], "import");

    // Exported rows are the imported ones: importing the export adds nothing.
    let again = import_json(&app, &user, text).await;
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["skipped_duplicates"], 3);
    assert_eq!(app.get(&user, "/v1/transactions/export?format=xlsx").await.status(), 400);
}

/// The process's resident set right now and at its peak since the last reset, in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `rows` CSV rows of about 400 bytes each, generated as the body is sent.
fn big_file(rows: usize) -> reqwest::Body {
    let notes = "n".repeat(360);
    let chunks = (0..=rows / 1000).map(move |chunk| {
        let mut text = String::new();
        if chunk == 0 {
            text.push_str("date,amount,currency,type,category,merchant,notes\n");
        }
        for i in chunk * 1000..((chunk + 1) * 1000).min(rows) {
            let day = 1 + i % 28;
            text.push_str(&format!(
                "2025-03-{day:02},{}.{:02},USD,expense,,Shop {},{notes}\n",
                1 + i % 500,
                i % 100,
                i % 97
            ));
        }
        Ok::<_, std::io::Error>(Bytes::from(text))
    });
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

/// 100,000 rows (about 40 MB) import with flat memory and import again as 0 new. The service
/// runs in this test's process (nextest gives each test its own), so the process's peak resident
/// set bounds what the handler held: buffering the body alone would add 40 MB.
#[tokio::test]
async fn a_hundred_thousand_rows_import_in_flat_memory_and_reimport_as_nothing_new() {
    const ROWS: usize = 100_000;
    let app = spawn_app().await;
    let user = app.user().await;
    // Warm up the service and the pool with a small import first.
    import_json(&app, &user, FILE).await;
    // Reset the peak (VmHWM) so it measures the big import only.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let (before, _) = memory_kib();

    let started = Instant::now();
    let summary = import_json(&app, &user, big_file(ROWS)).await;
    let first = started.elapsed();
    let (_, peak) = memory_kib();
    assert_eq!(summary["imported"], ROWS as u64, "{}", summary["errors"]);
    assert_eq!(summary["errors"].as_array().unwrap().len(), 0);

    let started = Instant::now();
    let again = import_json(&app, &user, big_file(ROWS)).await;
    let second = started.elapsed();
    assert_eq!(again["imported"], 0);
    assert_eq!(again["skipped_duplicates"], ROWS as u64);

    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!(
        "100k-row import: {first:?}, re-import: {second:?}; RSS before {} MiB, peak growth {growth_mib} MiB (peak reset: {reset})",
        before / 1024
    );
    if reset {
        assert!(growth_mib < 30, "the import held {growth_mib} MiB: it does not stream");
    }
}

#[tokio::test]
async fn slow_imports_wait_on_their_own_pool_and_the_api_keeps_answering() {
    // As many slow uploads as the HTTP workers have connections in all: had the imports taken
    // their worker's connections, every worker would have none left for the list below.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let uploads = 2 * cores;
    let app = spawn_app_configured(LedgerSettings::default(), |common| {
        common.http_worker_connections = 2;
        common.upload_connections = uploads;
    })
    .await;
    let user = app.user().await;
    let mut senders = Vec::new();
    let mut responses = Vec::new();
    for _ in 0..uploads {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
        sender
            .unbounded_send(Ok(Bytes::from_static(b"date,amount,currency,type,category,merchant,notes\n")))
            .unwrap();
        senders.push(sender);
        // A client of its own, so each upload comes on its own connection.
        let request = reqwest::Client::new()
            .post(app.url("/v1/transactions/import"))
            .bearer_auth(&user.token)
            .header("content-type", "text/csv")
            .body(reqwest::Body::wrap_stream(receiver))
            .send();
        responses.push(tokio::spawn(request));
    }
    // Every upload holds its connection in an open transaction, waiting for the rest of its body.
    let waiting = || async {
        penny_testkit::count(
            &mut *app.conn().await,
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND state = 'idle in transaction'",
        )
        .await
    };
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while waiting().await < uploads as i64 {
        assert!(Instant::now() < deadline, "the uploads did not all start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let list = tokio::time::timeout(std::time::Duration::from_secs(5), app.get(&user, "/v1/transactions"))
        .await
        .expect("the list waited for a connection the uploads held");
    assert_eq!(list.status(), 200);

    for (n, sender) in senders.into_iter().enumerate() {
        sender
            .unbounded_send(Ok(Bytes::from(format!("2026-01-05,{}.00,USD,expense,,Slow,\n", n + 1))))
            .unwrap();
    }
    for response in responses {
        let response = response.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        let summary: Value = response.json().await.unwrap();
        assert_eq!(summary["imported"], 1, "{summary}");
    }
}
