//! The HTTP server every service runs: its routes plus the platform's endpoints and middleware.
//!
//! Middleware, outermost first: a request span (with the gateway's `X-Request-Id`, the caller's
//! `traceparent` as parent, and `user.id` once authenticated), Prometheus request metrics per
//! route pattern, and a last step that gives every error produced by actix itself (405, an
//! unrouted path, ...) the JSON error body.
//!
//! `/metrics` serves the service's whole registry ([`crate::metrics::Metrics`]): the request
//! metrics, the broker's, the service's own, and the gauges its samplers refresh on each scrape.

use std::net::TcpListener;

use crate::settings::ProxyNet;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, TracingLogger};

use super::auth::JwtVerifier;
use super::client_ip::TrustedProxies;
use super::error::{self, ApiError};
use super::health::{self, DatabaseCheck, ReadinessCheck, ReadinessChecks};
use crate::db::{DbPool, WorkerPools};
use crate::metrics::Metrics;
use crate::settings::ServiceInfo;

/// What the platform's endpoints and extractors need, built once per service.
#[derive(Clone)]
pub struct PlatformState {
    pub service: ServiceInfo,
    /// Verifies bearer tokens for [`super::AuthUser`].
    pub verifier: Arc<JwtVerifier>,
    /// One database pool per worker thread: the service's routes and `/readyz` use their worker's.
    pub database: WorkerPools,
    /// Dependencies `/readyz` checks besides the database.
    pub readiness: ReadinessChecks,
    /// The service's OpenAPI document, served at `/openapi.json`.
    pub openapi: Arc<serde_json::Value>,
    pub trusted_proxies: Vec<ProxyNet>,
    /// Largest JSON body, in bytes.
    pub json_limit: usize,
    /// The service's registry, served at `/metrics`; the request metrics are recorded in it.
    pub metrics: Metrics,
}

/// Listener and shutdown behaviour. The server runs one worker thread per pool of
/// [`PlatformState::database`].
#[derive(Debug)]
pub struct HttpServerConfig {
    pub listener: TcpListener,
    pub shutdown_timeout_secs: u64,
}

/// Builds the server. `routes` adds the service's own routes (none for a worker's probe port);
/// it is called once per worker thread with that worker's database pool.
pub fn build<F>(config: HttpServerConfig, state: PlatformState, routes: F) -> anyhow::Result<Server>
where
    F: Fn(&mut web::ServiceConfig, &DbPool) + Clone + Send + 'static,
{
    let request_metrics = state.metrics.http_middleware();
    let metrics = web::Data::new(state.metrics.clone());
    let verifier = web::Data::from(Arc::clone(&state.verifier));
    let database = state.database.clone();
    let workers = database.len();
    let other_checks = state.readiness.0.clone();
    let trusted = web::Data::new(TrustedProxies(state.trusted_proxies.clone()));
    let openapi = Arc::clone(&state.openapi);
    let json_limit = state.json_limit;

    let server = HttpServer::new(move || {
        let openapi = Arc::clone(&openapi);
        let pool = database.next_pool();
        let mut checks: Vec<Arc<dyn ReadinessCheck>> = vec![Arc::new(DatabaseCheck(pool.clone()))];
        checks.extend(other_checks.iter().cloned());
        let routes = routes.clone();
        App::new()
            .wrap(ErrorHandlers::new().default_handler(json_error_body))
            .wrap(request_metrics.clone())
            .wrap(TracingLogger::<PennyRootSpan>::new())
            .app_data(verifier.clone())
            .app_data(web::Data::new(ReadinessChecks(checks)))
            .app_data(trusted.clone())
            .app_data(metrics.clone())
            .app_data(web::JsonConfig::default().limit(json_limit).error_handler(error::json_error_handler))
            .app_data(web::QueryConfig::default().error_handler(error::query_error_handler))
            .app_data(web::PathConfig::default().error_handler(error::path_error_handler))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(scrape))
            .route(
                "/openapi.json",
                web::get().to(move || {
                    let openapi = Arc::clone(&openapi);
                    async move { HttpResponse::Ok().json(&*openapi) }
                }),
            )
            .configure(move |cfg| routes(cfg, &pool))
            .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::not_found()) }))
    })
    .workers(workers)
    .listen(config.listener)?
    .shutdown_timeout(config.shutdown_timeout_secs);
    Ok(server.run())
}

/// `GET /metrics`: the registry in the Prometheus text format, samplers run first.
async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type(prometheus::TEXT_FORMAT).body(metrics.render().await)
}

fn json_error_body<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json =
        response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let (request, original) = response.into_parts();
    let mut replacement = ApiError::from_status(original.status()).error_response();
    for (name, value) in original.headers() {
        if name != CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            replacement.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(request, replacement).map_into_right_body()))
}

/// Request spans carrying the request id and, once known, the user id.
pub struct PennyRootSpan;

impl RootSpanBuilder for PennyRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let span =
            tracing_actix_web::root_span!(request, request_id = %request_id, user.id = tracing::field::Empty);
        let headers = ["traceparent", "tracestate"]
            .into_iter()
            .filter_map(|name| {
                let value = request.headers().get(name)?.to_str().ok()?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect();
        crate::telemetry::continue_trace(&span, &headers);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
