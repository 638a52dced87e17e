use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

fn rule(name: &str, kind: &str, pattern: &str, category: &str, priority: i32) -> Value {
    json!({"name": name, "match_field": "merchant", "match_kind": kind, "pattern": pattern,
           "category_id": category, "priority": priority})
}

async fn spend(app: &TestApp, user: &TestUser, merchant: &str, category: Option<&str>) -> String {
    let mut body = json!({"amount": "4.20", "currency": "USD", "type": "expense", "occurred_at": "2026-01-05",
                          "merchant": merchant});
    if let Some(category) = category {
        body["category_id"] = json!(category);
    }
    app.transaction(user, body).await["id"].as_str().unwrap().to_owned()
}

async fn category_of(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.get_json(user, &format!("/v1/transactions/{id}")).await["category_id"].clone()
}

#[tokio::test]
async fn rules_have_a_crud() {
    let app = spawn_app().await;
    let user = app.user().await;
    let dining = app.category(&user, "Dining").await;
    let mut body = rule("Coffee", "regex", r"^star(bucks)?\b", &dining, 5);
    body["min_amount"] = json!("1.5");
    body["max_amount"] = json!("20");
    body["type"] = json!("expense");
    let created = app.post_json(&user, "/v1/rules", body, 201).await;
    assert_eq!(created["min_amount"], "1.5");
    assert_eq!(created["type"], "expense");
    assert_eq!(created["priority"], 5);
    let id = created["id"].as_str().unwrap();
    let list = app.get_json(&user, "/v1/rules").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);

    let patched = app
        .patch(
            &user,
            &format!("/v1/rules/{id}"),
            json!({"pattern": "coffee", "match_kind": "contains", "min_amount": null}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["pattern"], "coffee");
    assert_eq!(patched["min_amount"], Value::Null);
    assert_eq!(patched["max_amount"], "20");

    assert_eq!(app.delete(&user, &format!("/v1/rules/{id}")).await.status(), 204);
    assert_eq!(app.delete(&user, &format!("/v1/rules/{id}")).await.status(), 404);
}

#[tokio::test]
async fn invalid_rules_name_the_field() {
    let app = spawn_app().await;
    let user = app.user().await;
    let dining = app.category(&user, "Dining").await;
    let salary = app.category(&user, "Salary").await;
    let huge = r"\w{1000}";
    let mut range = rule("r", "contains", "x", &dining, 1);
    range["min_amount"] = json!("10");
    range["max_amount"] = json!("5");
    let mut wrong_type = rule("r", "contains", "x", &salary, 1);
    wrong_type["type"] = json!("expense");
    let cases = [
        (rule("r", "regex", "(", &dining, 1), "pattern"),
        (rule("r", "regex", huge, &dining, 1), "pattern"),
        (rule("r", "contains", "", &dining, 1), "pattern"),
        (rule("", "contains", "x", &dining, 1), "name"),
        (rule("r", "fuzzy", "x", &dining, 1), "match_kind"),
        (rule("r", "contains", "x", &uuid::Uuid::now_v7().to_string(), 1), "category_id"),
        (range, "max_amount"),
        (wrong_type, "type"),
    ];
    for (body, field) in cases {
        let response = app.post_json(&user, "/v1/rules", body, 400).await;
        assert!(response["error"]["fields"][field].is_string(), "{field}: {response}");
    }
}

#[tokio::test]
async fn rules_never_override_a_hand_chosen_category() {
    let app = spawn_app().await;
    let user = app.user().await;
    let dining = app.category(&user, "Dining").await;
    let groceries = app.category(&user, "Groceries").await;
    let shopping = app.category(&user, "Shopping").await;

    let chosen = spend(&app, &user, "Starbucks", Some(&dining)).await;
    let free = spend(&app, &user, "STARBUCKS #42", None).await;
    let patched = spend(&app, &user, "Starbucks Reserve", None).await;
    let cleared = spend(&app, &user, "Starbucks", None).await;
    let unrelated = spend(&app, &user, "Lidl", None).await;
    let response =
        app.patch(&user, &format!("/v1/transactions/{patched}"), json!({"category_id": shopping})).await;
    assert_eq!(response.status(), 200);
    let response =
        app.patch(&user, &format!("/v1/transactions/{cleared}"), json!({"category_id": null})).await;
    assert_eq!(response.status(), 200);

    // Two matching rules: the lower priority number wins.
    app.post_json(&user, "/v1/rules", rule("fallback", "contains", "star", &shopping, 50), 201).await;
    app.post_json(&user, "/v1/rules", rule("coffee", "contains", "starbucks", &groceries, 10), 201).await;
    let applied = app.post_json(&user, "/v1/rules/apply", json!({}), 200).await;
    assert_eq!(applied["updated"], 1);

    assert_eq!(category_of(&app, &user, &chosen).await, dining);
    assert_eq!(category_of(&app, &user, &free).await, groceries);
    assert_eq!(category_of(&app, &user, &patched).await, shopping);
    assert_eq!(category_of(&app, &user, &cleared).await, Value::Null, "cleared by hand stays cleared");
    assert_eq!(category_of(&app, &user, &unrelated).await, Value::Null);

    // Applying again changes nothing; an empty body works too.
    let again = app.client.post(app.url("/v1/rules/apply")).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["updated"], 0);

    // One rule alone.
    let only = app.post_json(&user, "/v1/rules", rule("lidl", "equals", "lidl", &groceries, 99), 201).await;
    let applied = app.post_json(&user, "/v1/rules/apply", json!({"rule_id": only["id"]}), 200).await;
    assert_eq!(applied["updated"], 1);
    assert_eq!(category_of(&app, &user, &unrelated).await, groceries);
}
