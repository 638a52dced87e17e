//! The HTTP contract: the dry run with the rules, and bad input of every kind.

use penny_contract::UserId;
use serde_json::{Value, json};

use crate::helpers::{clear_alert, spawn_app};

#[tokio::test]
async fn a_dry_run_with_the_rules_answers_and_stores_nothing() {
    let app = spawn_app().await;
    let user = UserId::new();
    let response = app.post(user, "/v1/extract", clear_alert()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["is_transaction"], true);
    assert_eq!(body["extractor"], "rules");
    assert_eq!(body["extraction_version"], penny_rules::VERSION);
    let tx = &body["transactions"][0];
    assert_eq!(
        (tx["amount"].as_str(), tx["currency"].as_str(), tx["type"].as_str()),
        (Some("23.40"), Some("EUR"), Some("expense"))
    );
    assert_eq!(tx["account_hint"], "4821");
    assert!(tx["occurred_at"].as_str().unwrap().starts_with("2026-11-20"));

    // HTML only: read as text.
    let html = json!({"subject": "Receipt", "from": "Shop <receipts@shop.example>",
        "body_html": "<html><body><p>You paid <b>USD 12.00</b> to Corner Books.</p></body></html>"});
    let body: Value = app.post(user, "/v1/extract", html).await.json().await.unwrap();
    assert_eq!(body["transactions"][0]["amount"], "12.00", "{body}");

    let newsletter = json!({"subject": "Our November newsletter", "from": "news@shop.example",
        "body_text": "Discover our new collection. Unsubscribe at any time."});
    let body: Value = app.post(user, "/v1/extract", newsletter).await.json().await.unwrap();
    assert_eq!(
        (body["is_transaction"].as_bool(), body["transactions"].as_array().map(Vec::len)),
        (Some(false), Some(0))
    );
    assert!(body["reason"].is_string());

    assert_eq!(app.count("email_extractions").await, 0);
    assert_eq!(app.count("llm_transactions").await, 0);
}

#[tokio::test]
async fn bad_requests_get_json_errors() {
    let app = spawn_app().await;
    let user = UserId::new();

    let anonymous = app.client.post(app.url("/v1/extract")).json(&clear_alert()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert!(body["error"]["code"].is_string());

    for bad in [
        json!({"subject": "x", "from": "y"}),
        json!({"subject": "x", "from": "y", "body_text": "z", "admin": true}),
        json!({"subject": 5, "from": "y", "body_text": "z"}),
        json!({"subject": "x", "from": "y", "body_text": "z", "received_at": "yesterday"}),
        json!([1, 2, 3]),
    ] {
        let response = app.post(user, "/v1/extract", bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"]["code"].is_string(), "{bad}: {body}");
    }
    let not_json = app
        .client
        .post(app.url("/v1/extract"))
        .bearer_auth(app.token(user))
        .header("content-type", "text/plain")
        .body("subject: x")
        .send()
        .await
        .unwrap();
    assert!(not_json.status().is_client_error());
    assert!(not_json.json::<Value>().await.unwrap()["error"].is_object());

    let unknown = app.get(user, &format!("/v1/emails/{}/extractions", UserId::new())).await;
    assert_eq!(unknown.status(), 404);
    let malformed = app.get(user, "/v1/emails/not-a-uuid/extractions").await;
    assert!(malformed.status().is_client_error());
    assert!(malformed.json::<Value>().await.unwrap()["error"].is_object());
}
