use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, spawn_app};

fn tx(amount: &str, currency: &str, kind: &str, at: &str) -> Value {
    json!({"amount": amount, "currency": currency, "type": kind, "occurred_at": at})
}

#[tokio::test]
async fn a_transaction_is_created_read_edited_and_deleted() {
    let app = spawn_app().await;
    let user = app.user().await;
    let dining = app.category(&user, "Dining").await;
    let mut body = tx("12.5", "USD", "expense", "2026-01-15");
    body["merchant"] = json!("Cafe Rouge");
    body["notes"] = json!("lunch");
    body["account_hint"] = json!("1234");
    body["category_id"] = json!(dining);
    let created = app.transaction(&user, body).await;
    assert_eq!(created["amount"], "12.50");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["type"], "expense");
    assert_eq!(created["occurred_at"], "2026-01-15T12:00:00Z");
    assert_eq!(created["source"], "manual");
    assert_eq!(created["category_id"], dining);
    assert_eq!(created["user_edited"], false);
    assert_eq!(created["needs_review"], false);
    for field in ["external_id", "email_id", "confidence"] {
        assert_eq!(created[field], Value::Null, "{field}");
    }
    let id = created["id"].as_str().unwrap();

    let fetched = app.get_json(&user, &format!("/v1/transactions/{id}")).await;
    assert_eq!(fetched, created);

    let patched = app
        .patch(
            &user,
            &format!("/v1/transactions/{id}"),
            json!({"amount": "3240", "currency": "JPY", "notes": null}),
        )
        .await;
    assert_eq!(patched.status(), 200);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["amount"], "3240");
    assert_eq!(patched["currency"], "JPY");
    assert_eq!(patched["notes"], Value::Null);
    assert_eq!(patched["merchant"], "Cafe Rouge");
    assert_eq!(patched["user_edited"], true);

    let bad = app.patch(&user, &format!("/v1/transactions/{id}"), json!({"amount": "1.5"})).await;
    assert_eq!(bad.status(), 400, "JPY has no decimals");

    assert_eq!(app.delete(&user, &format!("/v1/transactions/{id}")).await.status(), 204);
    assert_eq!(app.get(&user, &format!("/v1/transactions/{id}")).await.status(), 404);
}

#[tokio::test]
async fn api_source_and_three_decimal_currencies() {
    let app = spawn_app().await;
    let user = app.user().await;
    let mut body = tx("1.25", "KWD", "income", "2026-02-01T08:30:00+03:00");
    body["source"] = json!("api");
    let created = app.transaction(&user, body).await;
    assert_eq!(created["amount"], "1.250");
    assert_eq!(created["source"], "api");
    assert_eq!(created["occurred_at"], "2026-02-01T05:30:00Z");
    let mut body = tx("1", "USD", "income", "2026-02-01");
    body["source"] = json!("gmail");
    let refused = app.post_json(&user, "/v1/transactions", body, 400).await;
    assert!(refused["error"]["fields"]["source"].is_string());
}

#[tokio::test]
async fn another_users_objects_answer_404() {
    let app = spawn_app().await;
    let owner = app.user().await;
    let other = app.user().await;
    let transaction = app.transaction(&owner, tx("5", "EUR", "expense", "2026-01-01")).await;
    let category =
        app.post_json(&owner, "/v1/categories", json!({"name": "Mine", "type": "both"}), 201).await;
    let rule = app
        .post_json(
            &owner,
            "/v1/rules",
            json!({"name": "r", "match_field": "merchant", "match_kind": "contains", "pattern": "x",
                   "category_id": category["id"], "priority": 1}),
            201,
        )
        .await;
    let t = format!("/v1/transactions/{}", transaction["id"].as_str().unwrap());
    let c = format!("/v1/categories/{}", category["id"].as_str().unwrap());
    let r = format!("/v1/rules/{}", rule["id"].as_str().unwrap());

    assert_eq!(app.get(&other, &t).await.status(), 404);
    assert_eq!(app.patch(&other, &t, json!({"notes": "mine now"})).await.status(), 404);
    assert_eq!(app.delete(&other, &t).await.status(), 404);
    assert_eq!(app.patch(&other, &c, json!({"name": "Stolen"})).await.status(), 404);
    assert_eq!(app.delete(&other, &c).await.status(), 404);
    assert_eq!(app.patch(&other, &r, json!({"pattern": "y"})).await.status(), 404);
    assert_eq!(app.delete(&other, &r).await.status(), 404);
    assert_eq!(app.post(&other, "/v1/rules/apply", json!({"rule_id": rule["id"]})).await.status(), 404);
    // Nor can another user's category be used.
    let mut body = tx("5", "EUR", "expense", "2026-01-01");
    body["category_id"] = category["id"].clone();
    let refused = app.post_json(&other, "/v1/transactions", body, 400).await;
    assert!(refused["error"]["fields"]["category_id"].is_string());
    // Everything is still there for its owner.
    assert_eq!(app.get(&owner, &t).await.status(), 200);
    assert_eq!(app.get_json(&owner, "/v1/rules").await["items"].as_array().unwrap().len(), 1);
    // A malformed id names nothing either.
    assert_eq!(app.get(&owner, "/v1/transactions/not-an-id").await.status(), 404);
}

#[tokio::test]
async fn a_user_id_in_the_body_is_ignored_and_tokens_are_required() {
    let app = spawn_app().await;
    let user = app.user().await;
    let other = app.user().await;
    let mut body = tx("5", "EUR", "expense", "2026-01-01");
    body["user_id"] = json!(other.id.to_string());
    let created = app.transaction(&user, body).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get(&user, &format!("/v1/transactions/{id}")).await.status(), 200);
    assert_eq!(app.get(&other, &format!("/v1/transactions/{id}")).await.status(), 404);
    let patched =
        app.patch(&user, &format!("/v1/transactions/{id}"), json!({"user_id": other.id.to_string()})).await;
    assert_eq!(patched.status(), 200);
    assert_eq!(app.get(&other, &format!("/v1/transactions/{id}")).await.status(), 404);

    let anonymous = app.client.get(app.url("/v1/transactions")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = app.client.get(app.url("/v1/transactions")).bearer_auth("not.a.token").send().await.unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn lists_are_newest_first_in_keyset_pages() {
    let app = spawn_app().await;
    let user = app.user().await;
    let mut ids = Vec::new();
    for day in 1..=7 {
        // Two on the same instant, so ties are broken by id.
        let at = format!("2026-03-0{}", if day == 7 { 6 } else { day });
        ids.push(app.transaction(&user, tx(&format!("{day}"), "USD", "expense", &at)).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/v1/transactions?limit=3".to_owned();
    loop {
        let page = app.get_json(&user, &path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|i| (i["occurred_at"].as_str().unwrap().to_owned(), i["id"].clone())));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/transactions?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let unique: HashSet<String> = seen.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(unique.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.as_str().cmp(&a.1.as_str())));
    assert_eq!(seen, sorted, "newest first, ties by id");
    assert_eq!(app.get(&user, "/v1/transactions?cursor=garbage").await.status(), 400);
    assert_eq!(app.get(&user, "/v1/transactions?limit=501").await.status(), 400);
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let app = spawn_app().await;
    let user = app.user().await;
    let groceries = app.category(&user, "Groceries").await;
    let mut a = tx("10.00", "USD", "expense", "2026-01-10");
    a["merchant"] = json!("Whole Foods");
    a["category_id"] = json!(groceries);
    app.transaction(&user, a).await;
    let mut b = tx("2500", "USD", "income", "2026-02-10");
    b["notes"] = json!("January salary 100%");
    b["source"] = json!("api");
    app.transaction(&user, b).await;
    let mut c = tx("55.5", "EUR", "expense", "2026-03-10");
    c["merchant"] = json!("Bakery");
    app.transaction(&user, c).await;

    assert_eq!(count(&app, &user, "").await, 3);
    assert_eq!(count(&app, &user, "from=2026-02-01").await, 2);
    assert_eq!(count(&app, &user, "to=2026-02-10").await, 1, "`to` is exclusive: the start of that day");
    assert_eq!(count(&app, &user, "from=2026-02-01&to=2026-03-01").await, 1);
    assert_eq!(count(&app, &user, "from=2026-01-10T12:00:00Z&to=2026-01-10T12:00:01Z").await, 1);
    assert_eq!(count(&app, &user, &format!("category_id={groceries}")).await, 1);
    assert_eq!(count(&app, &user, "type=income").await, 1);
    assert_eq!(count(&app, &user, "source=api").await, 1);
    assert_eq!(count(&app, &user, "source=manual").await, 2);
    assert_eq!(count(&app, &user, "q=whole").await, 1);
    assert_eq!(count(&app, &user, "q=SALARY").await, 1);
    assert_eq!(count(&app, &user, "q=100%25").await, 1);
    assert_eq!(count(&app, &user, "q=%25%25").await, 0, "% is matched literally");
    assert_eq!(count(&app, &user, "min_amount=50").await, 2);
    assert_eq!(count(&app, &user, "max_amount=55.50").await, 2);
    assert_eq!(count(&app, &user, "min_amount=11&max_amount=60").await, 1);
    assert_eq!(count(&app, &user, "needs_review=false").await, 3);
    assert_eq!(count(&app, &user, "needs_review=true").await, 0);

    for bad in [
        "from=2026-02-30",
        "type=transfer",
        "source=fax",
        "min_amount=-1",
        "needs_review=maybe",
        "category_id=x",
        "tz=Moon/Base",
    ] {
        let response = app.get(&user, &format!("/v1/transactions?{bad}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        let field = bad.split('=').next().unwrap();
        assert!(body["error"]["fields"][field].is_string(), "{bad}: {body}");
    }
}

async fn count(app: &TestApp, user: &TestUser, query: &str) -> usize {
    let page = app.get_json(user, &format!("/v1/transactions?{query}")).await;
    page["items"].as_array().unwrap().len()
}
