//! The gateway's route map, headers and limits, through a real nginx in front of stub services
//! that echo what reached them.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use penny_testkit::gateway::{Gateway, Limits, Upstreams};
use serde_json::{Value, json};

async fn echo(service: web::Data<&'static str>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    HttpResponse::Ok().json(json!({
        "service": *service.get_ref(),
        "path": req.path(),
        "query": req.query_string(),
        "body_len": body.len(),
        "x_real_ip": header("x-real-ip"),
        "x_request_id": header("x-request-id"),
        "traceparent": header("traceparent"),
    }))
}

fn stub(name: &'static str) -> SocketAddr {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(name))
            .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
            .default_service(web::to(echo))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let address = server.addrs()[0];
    tokio::spawn(server.run());
    address
}

async fn start(limits: Limits) -> Gateway {
    let upstreams = Upstreams {
        auth: stub("auth"),
        ledger: stub("ledger"),
        mail_ingest: stub("mail-ingest"),
        extraction: stub("extraction"),
    };
    tokio::task::spawn_blocking(move || Gateway::start(&upstreams, &limits)).await.unwrap().unwrap()
}

async fn get(gateway: &Gateway, path: &str) -> (u16, Value) {
    let response = reqwest::get(gateway.url(path)).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn every_public_path_reaches_the_service_that_owns_it() {
    let gateway = start(Limits::default()).await;
    let id = "0190f0c8-0000-7000-8000-000000000001";
    let routes = [
        ("/v1/auth/login", "auth"),
        ("/v1/auth/me", "auth"),
        ("/v1/auth/password/forgot", "auth"),
        ("/v1/admin/users", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/v1/categories", "ledger"),
        (&format!("/v1/categories/{id}"), "ledger"),
        ("/v1/transactions?from=2026-01-01&limit=5", "ledger"),
        (&format!("/v1/transactions/{id}"), "ledger"),
        ("/v1/transactions/export?format=csv", "ledger"),
        ("/v1/transactions/import", "ledger"),
        ("/v1/rules", "ledger"),
        ("/v1/rules/apply", "ledger"),
        ("/v1/reports/summary", "ledger"),
        ("/v1/accounts", "mail-ingest"),
        ("/v1/accounts/oauth/gmail/start", "mail-ingest"),
        (&format!("/v1/accounts/{id}/fetch"), "mail-ingest"),
        ("/v1/mailbox/import", "mail-ingest"),
        ("/v1/emails", "mail-ingest"),
        (&format!("/v1/emails/{id}"), "mail-ingest"),
        ("/v1/jobs", "mail-ingest"),
        (&format!("/v1/jobs/{id}/retry"), "mail-ingest"),
        ("/v1/reprocess", "mail-ingest"),
        (&format!("/v1/emails/{id}/extractions"), "extraction"),
        ("/v1/extract", "extraction"),
        ("/v1/usage/llm", "extraction"),
    ];
    for (path, service) in routes {
        let (status, body) = get(&gateway, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["service"], service, "{path}");
        let (expected_path, expected_query) = path.split_once('?').unwrap_or((path, ""));
        assert_eq!(body["path"], expected_path);
        assert_eq!(body["query"], expected_query);
    }
}

#[tokio::test]
async fn openapi_documents_and_health_are_served() {
    let gateway = start(Limits::default()).await;
    for service in ["auth", "ledger", "mail-ingest", "extraction"] {
        let (status, body) = get(&gateway, &format!("/openapi/{service}.json")).await;
        assert_eq!(status, 200);
        assert_eq!(body["service"], service);
        assert_eq!(body["path"], "/openapi.json");
    }
    let (status, body) = get(&gateway, "/healthz").await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = get(&gateway, "/v2/unknown").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn request_ids_and_traceparent_pass_through_and_the_client_address_is_the_peer() {
    let gateway = start(Limits::default()).await;
    let client = reqwest::Client::new();
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = client
        .get(gateway.url("/v1/auth/me"))
        .header("X-Request-Id", "req-123")
        .header("traceparent", traceparent)
        .header("X-Real-IP", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-123");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["x_request_id"], "req-123");
    assert_eq!(body["traceparent"], traceparent);
    assert_eq!(body["x_real_ip"], "127.0.0.1", "a client cannot choose its address");

    let response = client.get(gateway.url("/v1/auth/me")).send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 32, "nginx's $request_id: {generated}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["x_request_id"], generated);
    assert_eq!(body["traceparent"], Value::Null);
}

#[tokio::test]
async fn bodies_over_the_limit_get_a_json_413_except_on_the_import_routes() {
    let gateway = start(Limits { body: "1m".into(), import: "4m".into() }).await;
    let client = reqwest::Client::new();
    let two_mib = vec![b'x'; 2 * 1024 * 1024];

    let response = client.post(gateway.url("/v1/transactions")).body(two_mib.clone()).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");

    for (path, service) in [("/v1/mailbox/import", "mail-ingest"), ("/v1/transactions/import", "ledger")] {
        let response = client.post(gateway.url(path)).body(two_mib.clone()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["service"].as_str(), body["body_len"].as_u64()),
            (Some(service), Some(2 * 1024 * 1024))
        );
    }
    let eight_mib = vec![b'x'; 8 * 1024 * 1024];
    let response = client.post(gateway.url("/v1/mailbox/import")).body(eight_mib).send().await.unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_service_that_is_down_gives_a_json_502() {
    let dead = SocketAddr::from(([127, 0, 0, 1], penny_testkit::gateway::free_port()));
    let upstreams = Upstreams { auth: dead, ledger: dead, mail_ingest: dead, extraction: dead };
    let gateway = tokio::task::spawn_blocking(move || Gateway::start(&upstreams, &Limits::default()))
        .await
        .unwrap()
        .unwrap();
    let (status, body) = get(&gateway, "/v1/categories").await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "unavailable");
}
