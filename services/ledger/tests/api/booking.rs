use chrono::{TimeZone, Utc};
use diesel_async::AsyncConnection;
use penny_contract::events::{EmailExtracted, ExtractedTransaction, UserDeleted};
use penny_contract::{EmailId, ExtractionOutcome, JobId, Money, Provider, RequestId, TransactionType};
use penny_ledger::booking::{BookingPolicy, book_email_extracted};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

fn policy() -> BookingPolicy {
    BookingPolicy { review_threshold: Decimal::new(6, 1) }
}

fn extracted(user: &TestUser, email: EmailId, status: ExtractionOutcome, amounts: &[&str]) -> EmailExtracted {
    EmailExtracted {
        request_id: RequestId::new(),
        job_id: JobId::new(),
        email_id: email,
        user_id: user.id,
        provider: Provider::Imap,
        status,
        extraction_version: "rules-1".into(),
        transactions: amounts
            .iter()
            .enumerate()
            .map(|(n, amount)| ExtractedTransaction {
                money: Money::parse(amount, "USD").unwrap(),
                kind: TransactionType::Expense,
                merchant: Some(format!("Shop {n}")),
                occurred_at: Utc.with_ymd_and_hms(2026, 1, 10 + n as u32, 12, 0, 0).unwrap(),
                account_hint: Some("4242".into()),
                category_hint: Some("groceries".into()),
                confidence: Decimal::new(95, 2),
            })
            .collect(),
        reason: None,
    }
}

async fn book(app: &TestApp, events: &[EmailExtracted]) -> Vec<penny_contract::events::EmailBooked> {
    let mut conn = app.conn().await;
    let span = tracing::Span::current();
    let traced: Vec<(&EmailExtracted, &tracing::Span)> = events.iter().map(|event| (event, &span)).collect();
    book_email_extracted(&mut conn, &policy(), &traced).await.expect("booked")
}

async fn items(app: &TestApp, user: &TestUser) -> Vec<Value> {
    app.get_json(user, "/v1/transactions?limit=500").await["items"].as_array().unwrap().clone()
}

async fn outbox_len(app: &TestApp) -> usize {
    penny_platform::outbox::pending(&mut *app.conn().await, 1000).await.unwrap().len()
}

#[tokio::test]
async fn booking_the_same_email_five_times_books_each_transaction_once() {
    let app = spawn_app().await;
    let user = app.user().await;
    let email = EmailId::new();
    let event = extracted(&user, email, ExtractionOutcome::Success, &["12.50", "3.99"]);
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        outcomes.extend(book(&app, std::slice::from_ref(&event)).await);
    }
    assert_eq!((outcomes[0].booked, outcomes[0].updated, outcomes[0].removed), (2, 0, 0));
    for later in &outcomes[1..] {
        assert_eq!((later.booked, later.updated, later.removed), (0, 0, 0));
    }
    let rows = items(&app, &user).await;
    assert_eq!(rows.len(), 2);
    let mut external: Vec<&str> = rows.iter().map(|r| r["external_id"].as_str().unwrap()).collect();
    external.sort();
    assert_eq!(external, [format!("{email}#0"), format!("{email}#1")]);
    let groceries = app.category(&user, "Groceries").await;
    for row in &rows {
        assert_eq!(row["source"], "imap");
        assert_eq!(row["email_id"], email.to_string());
        assert_eq!(row["confidence"], "0.95");
        assert_eq!(row["needs_review"], false);
        assert_eq!(row["category_id"], groceries.as_str(), "the hint matched a category name");
    }
    assert_eq!(outbox_len(&app).await, 5, "one email.booked per handled event");
    // A batch holding the same event twice, in one transaction, is just as idempotent.
    book(&app, &[event.clone(), event]).await;
    assert_eq!(items(&app, &user).await.len(), 2);
}

#[tokio::test]
async fn a_reprocessed_email_with_fewer_transactions_removes_only_unedited_rows() {
    let app = spawn_app().await;
    let user = app.user().await;
    let email = EmailId::new();
    book(&app, &[extracted(&user, email, ExtractionOutcome::Success, &["1", "2", "3"])]).await;
    let rows = items(&app, &user).await;
    let edited = rows.iter().find(|r| r["external_id"] == format!("{email}#1")).unwrap();
    let edited_id = edited["id"].as_str().unwrap();
    let response = app.patch(&user, &format!("/v1/transactions/{edited_id}"), json!({"notes": "mine"})).await;
    assert_eq!(response.status(), 200);

    // Extracted again: one transaction, with another amount.
    let outcome = book(&app, &[extracted(&user, email, ExtractionOutcome::Success, &["1.50"])]).await;
    assert_eq!((outcome[0].booked, outcome[0].updated, outcome[0].removed), (0, 1, 1));
    let rows = items(&app, &user).await;
    assert_eq!(rows.len(), 2);
    let first = rows.iter().find(|r| r["external_id"] == format!("{email}#0")).unwrap();
    assert_eq!(first["amount"], "1.50");
    let kept = rows.iter().find(|r| r["id"] == edited_id).expect("the edited row stays");
    assert_eq!(kept["amount"], "2.00");
    assert_eq!(kept["notes"], "mine");

    // An edited row is not overwritten either when the email yields it again.
    book(&app, &[extracted(&user, email, ExtractionOutcome::Success, &["1.50", "99"])]).await;
    let kept = app.get_json(&user, &format!("/v1/transactions/{edited_id}")).await;
    assert_eq!(kept["amount"], "2.00");

    // FAILED changes nothing; SKIPPED removes the unedited rows.
    let failed = book(&app, &[extracted(&user, email, ExtractionOutcome::Failed, &[])]).await;
    assert_eq!((failed[0].booked, failed[0].updated, failed[0].removed), (0, 0, 0));
    assert_eq!(items(&app, &user).await.len(), 2);
    let skipped = book(&app, &[extracted(&user, email, ExtractionOutcome::Skipped, &[])]).await;
    assert_eq!(skipped[0].removed, 1);
    let rows = items(&app, &user).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], edited_id);
}

#[tokio::test]
async fn low_confidence_needs_review_and_rules_come_before_hints() {
    let app = spawn_app().await;
    let user = app.user().await;
    let dining = app.category(&user, "Dining").await;
    app.post_json(
        &user,
        "/v1/rules",
        json!({"name": "shop 1", "match_field": "merchant", "match_kind": "equals", "pattern": "shop 1",
               "category_id": dining, "priority": 1}),
        201,
    )
    .await;
    let mut event = extracted(&user, EmailId::new(), ExtractionOutcome::Success, &["5", "6", "7"]);
    event.transactions[0].confidence = Decimal::new(59, 2);
    event.transactions[2].category_hint = Some("No such category".into());
    book(&app, &[event]).await;
    let rows = items(&app, &user).await;
    let by_merchant = |m: &str| rows.iter().find(|r| r["merchant"] == m).unwrap().clone();
    assert_eq!(by_merchant("Shop 0")["needs_review"], true);
    assert_eq!(
        app.get_json(&user, "/v1/transactions?needs_review=true").await["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(by_merchant("Shop 1")["category_id"], dining.as_str(), "the rule wins over the hint");
    assert_eq!(by_merchant("Shop 2")["category_id"], Value::Null);
}

#[tokio::test]
async fn a_deleted_users_ledger_is_gone_and_their_events_are_ignored() {
    let app = spawn_app().await;
    let user = app.user().await;
    let other = app.user().await;
    app.transaction(
        &user,
        json!({"amount": "1", "currency": "USD", "type": "expense", "occurred_at": "2026-01-01"}),
    )
    .await;
    book(&app, &[extracted(&other, EmailId::new(), ExtractionOutcome::Success, &["4"])]).await;
    let mut conn = app.conn().await;
    let removed = conn
        .transaction(async |conn| {
            penny_ledger::users::on_user_deleted(conn, &UserDeleted { user_id: user.id }).await
        })
        .await
        .unwrap();
    assert_eq!((removed.transactions, removed.categories), (1, 16));
    assert!(penny_platform::tombstones::is_deleted(&mut conn, user.id).await.unwrap());
    drop(conn);

    let booked = book(&app, &[extracted(&user, EmailId::new(), ExtractionOutcome::Success, &["9"])]).await;
    assert!(booked.is_empty(), "nothing is booked for a deleted user");
    let registered = penny_contract::events::UserRegistered {
        user_id: user.id,
        name: "x".into(),
        username: "x".into(),
        email: "x@x.test".into(),
    };
    let created = penny_ledger::users::on_user_registered(&mut *app.conn().await, &registered).await.unwrap();
    assert_eq!(created, 0);
    // The other user is untouched, and registering twice creates nothing more.
    assert_eq!(items(&app, &other).await.len(), 1);
    let again = penny_contract::events::UserRegistered { user_id: other.id, ..registered };
    assert_eq!(penny_ledger::users::on_user_registered(&mut *app.conn().await, &again).await.unwrap(), 0);
}

#[tokio::test]
async fn one_batch_of_many_emails_books_each_in_order_even_an_email_seen_twice() {
    let app = spawn_app().await;
    let user = app.user().await;
    let other = app.user().await;
    let (a, b, c, d) = (EmailId::new(), EmailId::new(), EmailId::new(), EmailId::new());
    // `c` was booked before; in this batch it is first reprocessed to one transaction, then
    // found not to be a transaction at all; `a` is extracted, then re-extracted with three.
    book(&app, &[extracted(&user, c, ExtractionOutcome::Success, &["9.00", "8.00"])]).await;
    let batch = [
        extracted(&user, a, ExtractionOutcome::Success, &["1.00"]),
        extracted(&user, c, ExtractionOutcome::Success, &["9.00"]),
        extracted(&other, b, ExtractionOutcome::Success, &["2.00", "3.00"]),
        extracted(&user, d, ExtractionOutcome::Failed, &[]),
        extracted(&user, c, ExtractionOutcome::Skipped, &[]),
        extracted(&user, a, ExtractionOutcome::Success, &["1.00", "4.00", "5.00"]),
    ];
    let outcomes = book(&app, &batch).await;
    assert_eq!(outcomes.len(), 6, "one email.booked per event");
    let counts = |email: EmailId| -> Vec<(u32, u32, u32)> {
        outcomes.iter().filter(|o| o.email_id == email).map(|o| (o.booked, o.updated, o.removed)).collect()
    };
    assert_eq!(counts(a), [(1, 0, 0), (2, 0, 0)], "a: then two more (#0 unchanged)");
    assert_eq!(counts(c), [(0, 0, 1), (0, 0, 1)], "c: #1 removed, then #0");
    assert_eq!(counts(b), [(2, 0, 0)]);
    assert_eq!(counts(d), [(0, 0, 0)]);
    let mine: Vec<String> =
        items(&app, &user).await.iter().map(|t| t["external_id"].as_str().unwrap().to_owned()).collect();
    let mut mine_sorted = mine.clone();
    mine_sorted.sort();
    assert_eq!(mine_sorted, [format!("{a}#0"), format!("{a}#1"), format!("{a}#2")]);
    assert_eq!(items(&app, &other).await.len(), 2);
    assert!(outbox_len(&app).await >= 6, "every email.booked is in the outbox");
}

/// Each `email.booked` of a batch goes out in the span of the message that carried its email, so
/// every email's trace continues to the registry (not only the batch's first).
#[tokio::test]
async fn each_email_booked_continues_the_trace_of_its_own_email() {
    use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let app = spawn_app().await;
    let user = app.user().await;
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    // Three emails, each arriving in a trace of its own (the consumer's per-message spans).
    let events: Vec<EmailExtracted> =
        (0..3).map(|_| extracted(&user, EmailId::new(), ExtractionOutcome::Success, &["4.20"])).collect();
    let spans: Vec<tracing::Span> =
        events.iter().map(|_| tracing::info_span!(parent: None, "message")).collect();
    let traces: Vec<String> =
        spans.iter().map(|span| span.context().span().span_context().trace_id().to_string()).collect();
    assert_eq!(traces.iter().collect::<std::collections::HashSet<_>>().len(), 3, "three traces");
    let traced: Vec<(&EmailExtracted, &tracing::Span)> = events.iter().zip(&spans).collect();
    book_email_extracted(&mut *app.conn().await, &policy(), &traced).await.expect("booked");

    let rows = penny_platform::outbox::pending(&mut *app.conn().await, 100).await.unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let body: serde_json::Value = serde_json::from_str(&row.body).unwrap();
        let email = body["payload"]["email_id"].as_str().unwrap().to_owned();
        let index = events.iter().position(|e| e.email_id.to_string() == email).expect("one of ours");
        let traceparent = row.headers["traceparent"].as_str().expect("a traceparent");
        assert_eq!(
            traceparent.split('-').nth(1),
            Some(traces[index].as_str()),
            "the answer for email {email} is in its own email's trace: {traceparent}"
        );
    }
}
