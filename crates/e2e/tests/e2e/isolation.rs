//! Users cannot reach each other's data, through the gateway: for every `/{id}` route of every
//! service, user B asking for user A's object gets 404 (admin routes: 403 for a user token), and
//! A's objects are unchanged afterwards; without a token (or with a forged one) every
//! authenticated route answers 401. Every such answer is `{"error": {"code", "message"}}`.
//!
//! Nobody here is an admin: auth makes an admin only from its `PENNY_ADMIN_*` settings, never
//! from the order of sign-ups (`services/auth/src/accounts.rs`, `bootstrap_admin`).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use penny_e2e::api::{Answer, answer, count};
use penny_e2e::{Api, SystemConfig, mbox};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::run;

const BUDGET: Duration = Duration::from_secs(60);

/// A request of the matrix.
struct Route {
    method: Method,
    path: String,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

fn route(method: Method, path: impl Into<String>, body: Body) -> Route {
    Route { method, path: path.into(), body }
}

async fn send(api: &Api, route: &Route, authorization: Option<&str>) -> anyhow::Result<Answer> {
    let client = reqwest::Client::new();
    let mut request = client.request(route.method.clone(), api.url(&route.path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request = match &route.body {
        Body::None => request,
        Body::Json(value) => request.json(value),
        Body::Raw(content_type, bytes) => request.header("content-type", *content_type).body(bytes.clone()),
    };
    let response = request.send().await.with_context(|| format!("{} {}", route.method, route.path))?;
    answer(response).await
}

/// Whether the answer is exactly `{"error": {"code": "...", "message": "..."}}` (plus the
/// optional `fields` of validation errors) in JSON.
fn is_error_body(answer: &Answer) -> bool {
    let json = answer.content_type.as_deref().is_some_and(|t| t.starts_with("application/json"));
    let Some(top) = answer.body.as_object() else { return false };
    let Some(error) = answer.body["error"].as_object() else { return false };
    json && top.len() == 1
        && error["code"].as_str().is_some_and(|c| !c.is_empty())
        && error.get("message").and_then(Value::as_str).is_some_and(|m| !m.is_empty())
        && error.keys().all(|k| matches!(k.as_str(), "code" | "message" | "fields"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_user_reaches_another_users_objects_and_every_route_needs_a_token() {
    run("cross-user matrix", SystemConfig::for_tests(), BUDGET, async |system| {
        let deadline = Instant::now() + BUDGET;
        let api = Api::new(system.gateway_url(""))?;
        let alice = api.register_and_login("alice-e2e").await?;
        let bob = api.register_and_login("bob-e2e").await?;
        let a = alice.access_token.as_str();
        ensure!(api.get(a, "/v1/auth/me").await?["role"] == json!("user"), "a signed-up user is not a plain user");

        // Alice's objects, one of each kind.
        let category = api.post(a, "/v1/categories", &json!({"name": "Alice's coffee", "type": "expense"})).await?;
        let category_id = category["id"].as_str().context("category id")?.to_owned();
        let transaction = api
            .post(
                a,
                "/v1/transactions",
                &json!({"amount": "12.50", "currency": "USD", "type": "expense",
                        "occurred_at": "2026-11-02T12:00:00Z", "merchant": "Corner Books", "category_id": category_id}),
            )
            .await?;
        let transaction_id = transaction["id"].as_str().context("transaction id")?.to_owned();
        let rule = api
            .post(
                a,
                "/v1/rules",
                &json!({"name": "Books", "match_field": "merchant", "match_kind": "contains",
                        "pattern": "books", "category_id": category_id, "priority": 10}),
            )
            .await?;
        let rule_id = rule["id"].as_str().context("rule id")?.to_owned();
        let (mailbox, _) = mbox::mailbox("isolation", 0, 3);
        let fetch_id = api.import_mbox(a, mailbox).await?;
        let fetch = api.wait_job(a, &fetch_id, deadline).await?;
        ensure!(count(&fetch, "stored") == 3, "import: {fetch}");
        let child_id = api.wait_child_job(a, &fetch_id, deadline).await?;
        api.wait_job(a, &child_id, deadline).await?;
        let email_id = api.get(a, "/v1/emails").await?["items"][0]["id"].as_str().context("email id")?.to_owned();
        let account_id = api.get(a, "/v1/accounts").await?["items"][0]["id"].as_str().context("account id")?.to_owned();

        // The owner reaches each of them (so a 404 below means "not yours", not "no such id").
        for path in [
            format!("/v1/transactions/{transaction_id}"),
            format!("/v1/accounts/{account_id}"),
            format!("/v1/emails/{email_id}"),
            format!("/v1/emails/{email_id}/extractions"),
            format!("/v1/jobs/{fetch_id}"),
        ] {
            api.get(a, &path).await.with_context(|| format!("the owner cannot read {path}"))?;
        }

        let uid = &alice.id;
        let by_id = vec![
            route(Method::GET, format!("/v1/transactions/{transaction_id}"), Body::None),
            route(Method::PATCH, format!("/v1/transactions/{transaction_id}"), Body::Json(json!({"notes": "mine now"}))),
            route(Method::DELETE, format!("/v1/transactions/{transaction_id}"), Body::None),
            route(Method::PATCH, format!("/v1/categories/{category_id}"), Body::Json(json!({"name": "Bob's"}))),
            route(Method::DELETE, format!("/v1/categories/{category_id}"), Body::None),
            route(Method::PATCH, format!("/v1/rules/{rule_id}"), Body::Json(json!({"name": "Bob's rule"}))),
            route(Method::DELETE, format!("/v1/rules/{rule_id}"), Body::None),
            route(Method::GET, format!("/v1/accounts/{account_id}"), Body::None),
            route(Method::PATCH, format!("/v1/accounts/{account_id}"), Body::Json(json!({"fetch_interval_secs": 3600}))),
            route(Method::POST, format!("/v1/accounts/{account_id}/fetch"), Body::None),
            route(Method::DELETE, format!("/v1/accounts/{account_id}"), Body::None),
            route(Method::GET, format!("/v1/emails/{email_id}"), Body::None),
            route(Method::GET, format!("/v1/emails/{email_id}/extractions"), Body::None),
            route(Method::GET, format!("/v1/jobs/{fetch_id}"), Body::None),
            route(Method::GET, format!("/v1/jobs/{child_id}"), Body::None),
            route(Method::POST, format!("/v1/jobs/{fetch_id}/cancel"), Body::None),
            route(Method::POST, format!("/v1/jobs/{fetch_id}/retry"), Body::None),
        ];
        let admin = vec![
            route(Method::PATCH, format!("/v1/admin/users/{uid}"), Body::Json(json!({"is_active": false}))),
            route(Method::DELETE, format!("/v1/admin/users/{uid}"), Body::None),
            route(Method::GET, "/v1/admin/users", Body::None),
        ];
        let collections = vec![
            route(Method::GET, "/v1/auth/me", Body::None),
            route(Method::DELETE, "/v1/auth/me", Body::Json(json!({"password": alice.password}))),
            route(
                Method::POST,
                "/v1/auth/password/change",
                Body::Json(json!({"current_password": alice.password, "new_password": "Another-long-Passphrase-42!"})),
            ),
            route(Method::GET, "/v1/categories", Body::None),
            route(Method::POST, "/v1/categories", Body::Json(json!({"name": "x", "type": "expense"}))),
            route(Method::GET, "/v1/transactions", Body::None),
            route(
                Method::POST,
                "/v1/transactions",
                Body::Json(json!({"amount": "1.00", "currency": "USD", "type": "expense", "occurred_at": "2026-11-02T12:00:00Z"})),
            ),
            route(
                Method::POST,
                "/v1/transactions/import",
                Body::Raw("text/csv", b"date,amount,currency,type,category,merchant,notes\n2026-11-02,1.00,USD,expense,,x,\n".to_vec()),
            ),
            route(Method::GET, "/v1/transactions/export?format=csv", Body::None),
            route(Method::GET, "/v1/rules", Body::None),
            route(Method::POST, "/v1/rules", Body::Json(json!({"name": "r", "match_field": "merchant", "match_kind": "contains", "pattern": "x", "category_id": category_id}))),
            route(Method::POST, "/v1/rules/apply", Body::Json(json!({}))),
            route(Method::GET, "/v1/reports/summary?group_by=category", Body::None),
            route(Method::GET, "/v1/accounts", Body::None),
            route(
                Method::POST,
                "/v1/accounts/imap",
                Body::Json(json!({"host": "127.0.0.1", "port": 1, "tls": "none", "username": "u", "password": "p"})),
            ),
            route(Method::POST, "/v1/accounts/oauth/gmail/start", Body::None),
            route(Method::POST, "/v1/mailbox/import", Body::Raw("application/mbox", mbox::mailbox("unauthenticated", 0, 1).0)),
            route(Method::GET, "/v1/emails", Body::None),
            route(Method::GET, "/v1/jobs", Body::None),
            route(Method::POST, "/v1/reprocess", Body::Json(json!({"scope": "all"}))),
            route(Method::POST, "/v1/extract", Body::Json(json!({"subject": "s", "from": "a@b.example", "body_text": "t"}))),
            route(Method::GET, "/v1/usage/llm", Body::None),
        ];

        let mut problems = Vec::new();
        let mut checked = 0;
        let mut check = |route: &Route, who: &str, answer: &Answer, want: StatusCode| {
            checked += 1;
            if answer.status != want || !is_error_body(answer) {
                problems.push(format!(
                    "{} {} as {who}: {} {} (expected {want} with a JSON error body)",
                    route.method, route.path, answer.status, answer.text
                ));
            }
        };
        let bearer_b = format!("Bearer {}", bob.access_token);
        for route in &by_id {
            check(route, "bob", &send(&api, route, Some(&bearer_b)).await?, StatusCode::NOT_FOUND);
        }
        for route in &admin {
            check(route, "bob", &send(&api, route, Some(&bearer_b)).await?, StatusCode::FORBIDDEN);
        }
        let forged = "Bearer eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        for route in by_id.iter().chain(&admin).chain(&collections) {
            check(route, "nobody", &send(&api, route, None).await?, StatusCode::UNAUTHORIZED);
            check(route, "a forged token", &send(&api, route, Some(forged)).await?, StatusCode::UNAUTHORIZED);
        }
        ensure!(problems.is_empty(), "{} of {checked} answers wrong:\n  {}", problems.len(), problems.join("\n  "));
        eprintln!("cross-user matrix: {checked} answers checked");

        // Bob changed nothing of Alice's.
        let t = api.get(a, &format!("/v1/transactions/{transaction_id}")).await?;
        ensure!(t["notes"].is_null() && t["user_edited"] == json!(false), "Alice's transaction changed: {t}");
        let categories = api.get(a, "/v1/categories").await?;
        ensure!(
            categories["items"].as_array().into_iter().flatten().any(|c| c["id"] == json!(category_id) && c["name"] == json!("Alice's coffee")),
            "Alice's category changed: {categories}"
        );
        let rules = api.get(a, "/v1/rules").await?;
        ensure!(
            rules["items"].as_array().into_iter().flatten().any(|r| r["id"] == json!(rule_id) && r["name"] == json!("Books")),
            "Alice's rule changed: {rules}"
        );
        let account = api.get(a, &format!("/v1/accounts/{account_id}")).await?;
        ensure!(account["status"] == json!("ACTIVE"), "Alice's account changed: {account}");
        let job = api.get(a, &format!("/v1/jobs/{fetch_id}")).await?;
        ensure!(job["status"] == json!("SUCCESS"), "Alice's job changed: {job}");
        ensure!(api.get(a, "/v1/auth/me").await?["id"] == json!(alice.id), "Alice's account is gone");
        // ... and Bob sees none of it in his lists.
        for path in ["/v1/transactions", "/v1/rules", "/v1/accounts", "/v1/emails", "/v1/jobs"] {
            let items = api.all(&bob.access_token, path).await?;
            let leaked: Vec<&Value> = items
                .iter()
                .filter(|i| [&transaction_id, &rule_id, &account_id, &email_id, &fetch_id].iter().any(|id| i["id"] == json!(id)))
                .collect();
            ensure!(leaked.is_empty(), "{path} shows Bob Alice's objects: {leaked:?}");
        }
        Ok(())
    })
    .await;
}
