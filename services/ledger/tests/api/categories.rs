use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn system_categories_exist_and_categories_have_a_crud() {
    let app = spawn_app().await;
    let user = app.user().await;
    let list = app.get_json(&user, "/v1/categories").await;
    assert_eq!(list["next_cursor"], serde_json::Value::Null);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 16);
    let salary = items.iter().find(|c| c["name"] == "Salary").unwrap();
    assert_eq!(salary["type"], "income");
    assert_eq!(salary["is_system"], true);

    let created =
        app.post_json(&user, "/v1/categories", json!({"name": "Coffee", "type": "expense"}), 201).await;
    assert_eq!(created["is_system"], false);
    let id = created["id"].as_str().unwrap();

    let duplicate = app.post(&user, "/v1/categories", json!({"name": "coffee", "type": "both"})).await;
    assert_eq!(duplicate.status(), 409);
    let system_name =
        app.post(&user, "/v1/categories", json!({"name": "Groceries", "type": "expense"})).await;
    assert_eq!(system_name.status(), 409);

    let renamed = app.patch(&user, &format!("/v1/categories/{id}"), json!({"name": "Coffee shops"})).await;
    assert_eq!(renamed.status(), 200);
    let renamed: serde_json::Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Coffee shops");
    assert_eq!(renamed["type"], "expense");
    let clash = app.patch(&user, &format!("/v1/categories/{id}"), json!({"name": "DINING"})).await;
    assert_eq!(clash.status(), 409);

    let groceries = app.category(&user, "Groceries").await;
    assert_eq!(app.delete(&user, &format!("/v1/categories/{groceries}")).await.status(), 409);
    assert_eq!(
        app.patch(&user, &format!("/v1/categories/{groceries}"), json!({"name": "Food"})).await.status(),
        409
    );

    assert_eq!(app.delete(&user, &format!("/v1/categories/{id}")).await.status(), 204);
    assert_eq!(app.delete(&user, &format!("/v1/categories/{id}")).await.status(), 404);
    assert_eq!(app.get_json(&user, "/v1/categories").await["items"].as_array().unwrap().len(), 16);
}

#[tokio::test]
async fn deleting_a_category_uncategorises_its_transactions() {
    let app = spawn_app().await;
    let user = app.user().await;
    let created =
        app.post_json(&user, "/v1/categories", json!({"name": "Books", "type": "expense"}), 201).await;
    let id = created["id"].as_str().unwrap();
    let tx = app
        .transaction(&user, json!({"amount": "9.99", "currency": "EUR", "type": "expense", "occurred_at": "2026-01-02", "category_id": id}))
        .await;
    assert_eq!(tx["category_id"], id);
    assert_eq!(app.delete(&user, &format!("/v1/categories/{id}")).await.status(), 204);
    let tx = app.get_json(&user, &format!("/v1/transactions/{}", tx["id"].as_str().unwrap())).await;
    assert_eq!(tx["category_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn invalid_categories_name_the_field() {
    let app = spawn_app().await;
    let user = app.user().await;
    let body = app.post_json(&user, "/v1/categories", json!({"name": "  ", "type": "expense"}), 400).await;
    assert!(body["error"]["fields"]["name"].is_string(), "{body}");
    let body = app.post_json(&user, "/v1/categories", json!({"name": "X", "type": "spending"}), 400).await;
    assert!(body["error"]["fields"]["type"].is_string(), "{body}");
    let body =
        app.post_json(&user, "/v1/categories", json!({"name": "X".repeat(101), "type": "both"}), 400).await;
    assert!(body["error"]["fields"]["name"].is_string(), "{body}");
}
