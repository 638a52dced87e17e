//! `penny ops dlq` against the real broker: a malformed message really parked by a consumer, and
//! a good message sitting in a parking queue, each listed, shown and replayed.

use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::json;

use crate::helpers::Stack;

async fn publish(
    stack: &Stack,
    exchange: &str,
    routing_key: &str,
    id: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) {
    let connection = Connection::connect(&stack.vhost.url(), ConnectionProperties::default()).await.unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel.confirm_select(Default::default()).await.unwrap();
    let mut table = FieldTable::default();
    for (name, value) in headers {
        table.insert((*name).into(), AMQPValue::LongString(LongString::from(*value)));
    }
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_message_id(id.into())
        .with_content_type("application/json".into())
        .with_headers(table);
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions { mandatory: true, ..Default::default() },
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(matches!(confirm, lapin::Confirmation::Ack(None)), "{confirm:?}");
    connection.close(200, "done".into()).await.unwrap();
}

/// The parked messages of `queue`, through `penny ops dlq show --json`.
async fn parked(stack: &Stack, queue: &str) -> Vec<serde_json::Value> {
    let run = stack.penny(&["ops", "dlq", "show", queue, "--json"]).await.ok();
    run.json().as_array().unwrap().clone()
}

async fn wait_for_parked(stack: &Stack, queue: &str, count: usize) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let messages = parked(stack, queue).await;
        if messages.len() == count {
            return messages;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {count} in {queue}: {messages:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_listed_shown_and_replayed_without_being_lost() {
    let stack = Stack::start().await;
    Stack::eventually("mail-ingest's fetch queue", Duration::from_secs(20), || {
        stack.vhost.queue_exists("ingest.fetch.parked")
    })
    .await;

    publish(&stack, "penny.events", "ingest.fetch.requested", "malformed-1", b"this is not an envelope", &[])
        .await;
    let messages = wait_for_parked(&stack, "ingest.fetch", 1).await;
    assert_eq!(messages[0]["message_id"], "malformed-1");
    assert_eq!(messages[0]["routing_key"], "ingest.fetch.requested");
    assert_eq!(messages[0]["reason"], "malformed");
    assert_eq!(messages[0]["type"], "-");
    assert!(messages[0].get("body").is_none(), "no body unless asked");

    let run = stack.penny(&["ops", "dlq", "show", "ingest.fetch.parked"]).await.ok();
    for text in ["malformed-1", "ingest.fetch.requested", "malformed"] {
        assert!(run.stdout.contains(text), "{text}: {}", run.stdout);
    }
    assert!(!run.stdout.contains("this is not an envelope"), "{}", run.stdout);
    let run = stack.penny(&["ops", "dlq", "show", "ingest.fetch", "--body"]).await.ok();
    assert!(run.stdout.contains("this is not an envelope"), "{}", run.stdout);

    // The management API's statistics lag a few seconds behind.
    Stack::eventually("the list to count it", Duration::from_secs(30), || async {
        let run = stack.penny(&["ops", "dlq", "list", "--json"]).await.ok();
        run.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["queue"] == "ingest.fetch.parked" && q["messages"] == 1)
    })
    .await;
    let run = stack.penny(&["ops", "dlq", "list"]).await.ok();
    assert!(
        run.stdout.contains("ingest.fetch.parked") && run.stdout.contains("ledger.booking.parked"),
        "{}",
        run.stdout
    );

    // Replayed with its routing key, the consumer parks it again: still malformed, never lost.
    let run = stack.penny(&["ops", "dlq", "replay", "ingest.fetch"]).await.ok();
    assert!(
        run.stdout.contains("replayed malformed-1 to penny.events with routing key ingest.fetch.requested"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.trim_end().ends_with("replayed 1 of 1 parked message(s) from ingest.fetch.parked"),
        "{}",
        run.stdout
    );
    let again = wait_for_parked(&stack, "ingest.fetch", 1).await;
    assert_eq!((&again[0]["message_id"], &again[0]["reason"]), (&json!("malformed-1"), &json!("malformed")));

    let run = stack.penny(&["ops", "dlq", "show", "no.such.queue"]).await.fails_with(1);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    let run = stack.penny(&["ops", "dlq", "replay", "no.such.queue"]).await.fails_with(1);
    assert!(run.stderr.contains("no queue `no.such.queue.parked`"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_parked_message_is_replayed_to_every_consumer_and_leaves_the_parking_queue() {
    let stack = Stack::start().await;
    Stack::eventually("ledger's user queue", Duration::from_secs(20), || {
        stack.vhost.queue_exists("ledger.users.parked")
    })
    .await;

    // What a consumer leaves behind when `user.registered` failed through all its retries.
    let user_id = uuid::Uuid::now_v7();
    let message_id = uuid::Uuid::now_v7().to_string();
    let envelope = json!({
        "message_id": message_id, "type": "user.registered", "schema_version": 1,
        "occurred_at": chrono::Utc::now(), "correlation_id": null,
        "payload": {"user_id": user_id, "name": "Replayed", "username": "replayed", "email": "replayed@example.org"},
    });
    let headers = [
        ("x-original-routing-key", "user.registered"),
        ("x-penny-park-reason", "retries_exhausted"),
        ("x-penny-error", "the database was down"),
        ("x-penny-attempt", "3"),
        ("x-penny-consumer", "ledger.users"),
    ];
    let body = serde_json::to_vec(&envelope).unwrap();
    publish(&stack, "", "ledger.users.parked", &message_id, &body, &headers).await;

    let messages = wait_for_parked(&stack, "ledger.users", 1).await;
    assert_eq!(messages[0]["type"], "user.registered");
    assert_eq!(messages[0]["reason"], "retries_exhausted");
    assert_eq!(messages[0]["error"], "the database was down");
    let sql = format!("SELECT count(*) AS n FROM ledger.categories WHERE user_id = '{user_id}'");
    assert_eq!(stack.count(&sql).await, 0);

    let run = stack.penny(&["ops", "dlq", "replay", "ledger.users.parked", "--json"]).await.ok();
    let report = run.json();
    assert_eq!(report["replayed"][0]["message_id"], message_id);
    assert_eq!(report["left"], json!([]));
    assert!(parked(&stack, "ledger.users").await.is_empty());

    // Handled this time: ledger created the user's system categories, mail-ingest their upload
    // account; and nothing went back to a parking queue.
    Stack::eventually("the replayed registration to be handled", Duration::from_secs(20), || async {
        stack.count(&sql).await > 0
            && stack
                .count(&format!(
                    "SELECT count(*) AS n FROM ingest.connected_accounts WHERE user_id = '{user_id}'"
                ))
                .await
                == 1
    })
    .await;
    for queue in ["ledger.users", "ingest.users", "extraction.users"] {
        assert!(parked(&stack, queue).await.is_empty(), "{queue}");
    }
}
