use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use penny_platform::db::{DbConfig, DbPool};
use penny_platform::http::auth::KeySource;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

use crate::helpers::{TestServer, TestStore};

fn no_keys() -> KeySource {
    KeySource::Static(jsonwebtoken::jwk::JwkSet { keys: vec![] })
}

async fn error_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json"), "status {status}");
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn health_is_always_ok_and_readiness_checks_the_database() {
    let store = TestStore::new().await;
    let app = TestServer::start(no_keys(), Some(store.config.clone())).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_unreachable() {
    let config =
        DbConfig::new(SecretString::from("postgres://postgres@127.0.0.1:1/none"), "widgets", 1).unwrap();
    let app = TestServer::start(no_keys(), Some(config)).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "unavailable");
}

#[tokio::test]
async fn each_worker_thread_serves_its_routes_from_a_pool_of_its_own() {
    // Two workers with one connection each. A request takes its worker's connection and holds it
    // until the other request holds one too: with a pool shared by the workers the second
    // request could never get a connection and both would wait forever.
    let store = TestStore::new().await;
    let config = DbConfig { pool_size: 1, ..store.config.clone() };
    let both_hold = Arc::new(tokio::sync::Barrier::new(2));
    let routes = move |cfg: &mut web::ServiceConfig, pool: &DbPool| {
        let pool = pool.clone();
        let both_hold = Arc::clone(&both_hold);
        cfg.app_data(web::Data::new((pool, both_hold))).route(
            "/hold",
            web::get().to(|state: web::Data<(DbPool, Arc<tokio::sync::Barrier>)>| async move {
                let conn = state.0.get().await.unwrap();
                state.1.wait().await;
                drop(conn);
                HttpResponse::NoContent().finish()
            }),
        );
    };
    let app = TestServer::start_with(no_keys(), Some(config), 2, routes).await;
    // Separate clients, so the requests come on two connections (actix hands connections to
    // its workers in turn).
    let hold = || reqwest::Client::new().get(app.url("/hold")).send();
    let both = tokio::time::timeout(Duration::from_secs(10), futures::future::join(hold(), hold()))
        .await
        .expect("the two requests shared one connection: the workers share a pool");
    assert_eq!(both.0.unwrap().status(), 204);
    assert_eq!(both.1.unwrap().status(), 204);
}

#[tokio::test]
async fn bad_requests_get_json_errors_never_500() {
    let app = TestServer::start(no_keys(), None).await;
    let client = &app.client;
    let post = |body: &'static str, content_type: &'static str| {
        client.post(app.url("/widgets")).header("content-type", content_type).body(body).send()
    };

    let cases = [
        (post("{\"name\": \"a\", \"count\": 1}", "text/plain").await.unwrap(), 415, "unsupported_media_type"),
        (post("{\"name\": ", "application/json").await.unwrap(), 400, "malformed_json"),
        (post("{\"name\": \"a\"}", "application/json").await.unwrap(), 400, "invalid_body"),
        (post("{\"name\": \"a\", \"count\": \"1\"}", "application/json").await.unwrap(), 400, "invalid_body"),
        (post("[]", "application/json").await.unwrap(), 400, "invalid_body"),
        (
            client
                .post(app.url("/widgets"))
                .header("content-type", "application/json")
                .body(format!("{{\"name\": \"{}\", \"count\": 1}}", "x".repeat(4096)))
                .send()
                .await
                .unwrap(),
            413,
            "payload_too_large",
        ),
        (client.get(app.url("/nowhere")).send().await.unwrap(), 404, "not_found"),
        (client.delete(app.url("/widgets")).send().await.unwrap(), 404, "not_found"),
        (client.get(app.url("/widgets/not-a-uuid")).send().await.unwrap(), 404, "not_found"),
    ];
    for (response, status, code) in cases {
        let (got_status, got_code) = error_code(response).await;
        assert_eq!((got_status.as_u16(), got_code.as_str()), (status, code));
    }
    let created = post("{\"name\": \"a\", \"count\": 1}", "application/json").await.unwrap();
    assert_eq!(created.status(), 201);
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_openapi_is_served() {
    let app = TestServer::start(no_keys(), None).await;
    for _ in 0..3 {
        app.client.get(app.url("/healthz")).send().await.unwrap();
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("penny_http_requests_total") && l.contains("endpoint=\"/healthz\""))
        .unwrap_or_else(|| panic!("no request counter for /healthz in:\n{metrics}"));
    assert!(line.ends_with(" 3"), "{line}");
    assert!(line.contains("service=\"widgets\""), "{line}");
    // The latency histogram has buckets below 5 ms, where most requests of these services land.
    assert!(
        metrics.lines().any(|l| l.starts_with("penny_http_requests_duration_seconds_bucket")
            && l.contains("endpoint=\"/healthz\"")
            && l.contains("le=\"0.001\"")),
        "{metrics}"
    );

    let openapi: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(openapi["info"]["title"], "widgets");
}
