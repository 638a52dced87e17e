use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_platform::ServiceInfo;
use penny_platform::db::{self, DbConfig, DbPool, WorkerPools};
use penny_platform::http::auth::KeySource;
use penny_platform::http::health::ReadinessChecks;
use penny_platform::http::{AdminUser, AuthUser, JwtVerifier, PlatformState, server};
use penny_platform::tombstones::Tombstones;
use penny_testkit::TestDb;
use secrecy::SecretString;

pub const WIDGETS: EmbeddedMigrations = embed_migrations!("tests/fixtures/migrations");
pub const INFO: ServiceInfo =
    ServiceInfo { name: "widgets", env_prefix: "WIDGETS", schema: "widgets", default_port: 0 };
pub const ISSUER: &str = "penny-test";
pub const AUDIENCE: &str = "penny";

/// A migrated test database and its pool.
pub struct TestStore {
    pub db: TestDb,
    pub config: DbConfig,
    pub pool: DbPool,
}

impl TestStore {
    pub async fn new() -> Self {
        let db = TestDb::new().await;
        let config = DbConfig::new(SecretString::from(db.url()), "widgets", 4).unwrap();
        db::migrate(&config, &WIDGETS).await.unwrap();
        let pool = db::pool(&config).unwrap();
        Self { db, config, pool }
    }
}

/// A running server with a few routes that exercise the platform's extractors.
pub struct TestServer {
    pub address: String,
    pub client: reqwest::Client,
    pub tombstones: Arc<Tombstones>,
    _handle: actix_web::dev::ServerHandle,
}

#[derive(serde::Deserialize)]
struct Widget {
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    count: u32,
}

fn routes(cfg: &mut web::ServiceConfig, _: &DbPool) {
    cfg.route(
        "/whoami",
        web::get()
            .to(|user: AuthUser| async move { HttpResponse::Ok().json(serde_json::json!({"id": user.id})) }),
    )
    .route("/admin", web::get().to(|_: AdminUser| async { HttpResponse::NoContent().finish() }))
    .route("/widgets", web::post().to(|_: web::Json<Widget>| async { HttpResponse::Created().finish() }))
    .route(
        "/widgets/{id}",
        web::get().to(|_: web::Path<uuid::Uuid>| async { HttpResponse::NoContent().finish() }),
    );
}

impl TestServer {
    /// A server of one worker with the widget routes; without `database`, its pool points
    /// nowhere (never used).
    pub async fn start(keys: KeySource, database: Option<DbConfig>) -> Self {
        Self::start_with(keys, database, 1, routes).await
    }

    /// A server of `workers` worker threads, each with a pool of `database`, serving `routes`.
    pub async fn start_with<F>(keys: KeySource, database: Option<DbConfig>, workers: usize, routes: F) -> Self
    where
        F: Fn(&mut web::ServiceConfig, &DbPool) + Clone + Send + 'static,
    {
        penny_platform::telemetry::init_for_test();
        let tombstones = Tombstones::new();
        let verifier = JwtVerifier::new(keys, ISSUER, AUDIENCE, Arc::clone(&tombstones))
            .with_refetch_interval(std::time::Duration::ZERO);
        let database = database.unwrap_or_else(|| {
            DbConfig::new(SecretString::from("postgres://postgres@127.0.0.1:1/none"), "widgets", 1).unwrap()
        });
        let state = PlatformState {
            service: INFO,
            verifier: Arc::new(verifier),
            database: WorkerPools::new(&database, workers).unwrap(),
            readiness: ReadinessChecks::default(),
            openapi: Arc::new(serde_json::json!({"openapi": "3.1.0", "info": {"title": "widgets"}})),
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            json_limit: 1024,
            metrics: penny_platform::metrics::Metrics::new(INFO.name).unwrap(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let config = server::HttpServerConfig { listener, shutdown_timeout_secs: 1 };
        let server = server::build(config, state, routes).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        Self { address, client: reqwest::Client::new(), tombstones, _handle: handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}
