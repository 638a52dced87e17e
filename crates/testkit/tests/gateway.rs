//! The gateway's route map, headers and limits, through a real nginx in front of stub services
//! that echo what reached them.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use penny_testkit::gateway::{Gateway, Limits, RateLimit, Upstreams};
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

fn stubs() -> Upstreams {
    Upstreams {
        auth: stub("auth"),
        ledger: stub("ledger"),
        mail_ingest: stub("mail-ingest"),
        extraction: stub("extraction"),
    }
}

async fn start(limits: Limits) -> Gateway {
    start_with(limits, &[]).await
}

async fn start_with(limits: Limits, vars: &[(&'static str, &'static str)]) -> Gateway {
    let upstreams = stubs();
    let vars = vars.to_vec();
    tokio::task::spawn_blocking(move || Gateway::start_with(&upstreams, &limits, &vars))
        .await
        .unwrap()
        .unwrap()
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
    let gateway = start(Limits { body: "1m".into(), import: "4m".into(), ..Limits::default() }).await;
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

const SERVICES: [&str; 4] = ["auth", "ledger", "mail-ingest", "extraction"];

/// The values of `attribute="..."` in `html`, in order.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[tokio::test]
async fn the_api_viewer_names_every_openapi_document_and_its_files_load() {
    let gateway = start(Limits::default()).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // `/docs` sends the browser to `/docs/`, by path, whatever host a proxy in front uses.
    let response = client.get(gateway.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 301);
    assert_eq!(response.headers()["location"], "/docs/");

    let response = client.get(gateway.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page_url = response.url().clone();
    let html = response.text().await.unwrap();

    // Each service's document is named in the page, and its link reaches that service's
    // `/openapi.json` through the gateway.
    let documents: Vec<&str> = attribute_values(&html, "data-openapi");
    assert_eq!(documents, SERVICES);
    let links: Vec<&str> =
        attribute_values(&html, "href").into_iter().filter(|href| href.contains("openapi/")).collect();
    assert_eq!(links.len(), 4, "{links:?}");
    for (service, link) in SERVICES.iter().zip(&links) {
        assert_eq!(*link, format!("../openapi/{service}.json"));
        let response = client.get(page_url.join(link).unwrap()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{link}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["service"].as_str(), body["path"].as_str()),
            (Some(*service), Some("/openapi.json"))
        );
    }

    // Every script, stylesheet and icon the page names is served with its content type.
    let mut assets: Vec<&str> = attribute_values(&html, "src");
    assets.extend(attribute_values(&html, "href").into_iter().filter(|href| !href.contains("openapi/")));
    assert!(assets.contains(&"swagger-ui/swagger-ui-bundle.js"), "{assets:?}");
    assert!(assets.contains(&"swagger-ui/swagger-ui-standalone-preset.js"), "{assets:?}");
    assert!(assets.contains(&"swagger-ui/swagger-ui.css"), "{assets:?}");
    assert!(assets.contains(&"penny-docs.js"), "{assets:?}");
    for asset in assets {
        let response = client.get(page_url.join(asset).unwrap()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let expected = match asset.rsplit_once('.').map(|(_, extension)| extension) {
            Some("js") => "application/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("png") => "image/png",
            other => panic!("unexpected asset type {other:?} of {asset}"),
        };
        assert_eq!(response.headers()["content-type"], expected, "{asset}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{asset}");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty(), "{asset}");
        if asset.ends_with("swagger-ui-bundle.js") {
            assert!(body.len() > 1_000_000, "the real bundle, not a stub: {} bytes", body.len());
        }
        if asset == "penny-docs.js" {
            let script = String::from_utf8(body.to_vec()).unwrap();
            assert!(script.contains("SwaggerUIBundle(") && script.contains("urls: urls"), "{script}");
        }
    }

    // A missing file is a JSON 404 like every other.
    let response = client.get(gateway.url("/docs/missing.js")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_client_over_the_rate_limit_gets_a_json_429_with_retry_after() {
    // One request a minute and two at once beyond it: three pass, the fourth waits a minute.
    let limits = Limits { rate: Some(RateLimit { rate: "1r/m".into(), burst: 2 }), ..Limits::default() };
    let gateway = start(limits).await;
    let client = reqwest::Client::new();
    for n in 0..3 {
        let response = client.get(gateway.url("/v1/categories")).send().await.unwrap();
        assert_eq!(response.status(), 200, "request {n} is within the burst");
    }

    // The limit is per client over the whole API, not per route.
    for path in ["/v1/categories", "/v1/auth/login", "/.well-known/jwks.json", "/openapi/ledger.json"] {
        let response = client.get(gateway.url(path)).header("X-Request-Id", "req-429").send().await.unwrap();
        assert_eq!(response.status(), 429, "{path}");
        assert_eq!(response.headers()["retry-after"], "60", "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(response.headers()["x-request-id"], "req-429");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited", "{path}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "nothing but the error: {body}");
    }

    // The gateway's health check and the API viewer stay out of the limit.
    let (status, _) = get(&gateway, "/healthz").await;
    assert_eq!(status, 200);
    let response = client.get(gateway.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_each_client_has_its_own_budget() {
    let limits = Limits { rate: Some(RateLimit { rate: "1r/m".into(), burst: 0 }), ..Limits::default() };
    let gateway = start_with(limits, &[("REAL_IP_FROM", "127.0.0.1")]).await;
    let client = reqwest::Client::new();
    let send = |forwarded: &'static str| {
        client.get(gateway.url("/v1/auth/me")).header("X-Forwarded-For", forwarded).send()
    };

    let response = send("203.0.113.7").await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["x_real_ip"], "203.0.113.7", "the client the trusted proxy names");
    assert_eq!(send("203.0.113.7").await.unwrap().status(), 429);

    let response = send("198.51.100.9").await.unwrap();
    assert_eq!(response.status(), 200, "another client is not held back by the first");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["x_real_ip"], "198.51.100.9");
}

#[tokio::test]
async fn with_the_rate_limit_off_nothing_is_throttled() {
    let gateway = start(Limits::default()).await;
    let client = reqwest::Client::new();
    for n in 0..300 {
        let response = client.get(gateway.url("/v1/categories")).send().await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
    }
}
