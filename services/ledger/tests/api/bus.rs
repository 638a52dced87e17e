//! The ledger driven through RabbitMQ, as in production: events published to the test's vhost
//! reach the ledger's consumers, which book, categorise and answer with `email.booked`.

use std::time::{Duration, Instant};

use chrono::Utc;
use penny_contract::events::{EmailExtracted, ExtractedTransaction, UserDeleted, UserRegistered};
use penny_contract::{
    EmailId, Envelope, Event, ExtractionOutcome, JobId, Money, Provider, RequestId, Role, TransactionType,
    UserId,
};
use penny_platform::broker::BrokerConfig;
use penny_platform::broker::publisher::{Outgoing, Publisher};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{TestApp, TestUser, spawn_app};

async fn publish<E: Event>(app: &TestApp, envelope: &Envelope<E>) {
    let broker = BrokerConfig::new(SecretString::from(app.vhost.url()), "test");
    let connection = broker.connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    // The service declares the exchanges as it connects; a test may get there first.
    penny_platform::broker::topology::declare_exchanges(publisher.channel()).await.unwrap();
    let body = serde_json::to_vec(envelope).unwrap();
    let message = Outgoing {
        exchange: "penny.events",
        routing_key: envelope.routing_key(),
        message_id: envelope.message_id.to_string(),
        body: &body,
        headers: Default::default(),
    };
    // The consumers declare their queues as they start; until then nothing is routed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !publisher.publish(std::slice::from_ref(&message)).await.unwrap().routed[0] {
        assert!(Instant::now() < deadline, "no queue took {}", envelope.routing_key());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn eventually(app: &TestApp, user: &TestUser, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.get(user, path).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == 200 && done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn extracted(user: UserId, email: EmailId, amounts: &[&str]) -> EmailExtracted {
    EmailExtracted {
        request_id: RequestId::new(),
        job_id: JobId::new(),
        email_id: email,
        user_id: user,
        provider: Provider::Imap,
        status: ExtractionOutcome::Success,
        extraction_version: "rules-test".into(),
        transactions: amounts
            .iter()
            .map(|amount| ExtractedTransaction {
                money: Money::parse(amount, "EUR").unwrap(),
                kind: TransactionType::Expense,
                merchant: Some("Corner Bakery".into()),
                occurred_at: Utc::now(),
                account_hint: Some("4242".into()),
                category_hint: Some("Dining".into()),
                confidence: Decimal::new(9, 1),
            })
            .collect(),
        reason: None,
    }
}

#[tokio::test]
async fn users_and_extracted_mail_arrive_over_the_bus_and_are_booked_once() {
    let app = spawn_app().await;
    let id = UserId::new();
    let user = TestUser { id, token: app.auth.token(id, Role::User) };

    let registered = UserRegistered {
        user_id: id,
        name: "Ada".into(),
        username: "ada".into(),
        email: "ada@example.test".into(),
    };
    publish(&app, &Envelope::new(registered, None)).await;
    eventually(&app, &user, "/v1/categories", |body| body["items"].as_array().is_some_and(|c| c.len() >= 16))
        .await;

    let email = EmailId::new();
    let event = Envelope::new(extracted(id, email, &["4.50"]), None);
    publish(&app, &event).await;
    // The same message again (a redelivery) and the same outcome as a new message (a reprocess).
    publish(&app, &event).await;
    publish(&app, &Envelope::new(extracted(id, email, &["4.50"]), None)).await;
    eventually(&app, &user, "/v1/transactions", |body| {
        body["items"].as_array().is_some_and(|t| !t.is_empty())
    })
    .await;
    // Give the two duplicates time to arrive; they must change nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let list = app.get_json(&user, "/v1/transactions").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["amount"], "4.50");
    assert_eq!(items[0]["source"], "imap");
    assert_eq!(items[0]["external_id"], format!("{email}#0"));

    publish(&app, &Envelope::new(UserDeleted { user_id: id }, None)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get(&user, "/v1/transactions").await.status() != 401 {
        assert!(Instant::now() < deadline, "the deleted user's token still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
