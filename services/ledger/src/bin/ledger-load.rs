//! `make bench` for the ledger: seeds 1,000,000 transactions over 1,000 users, then drives
//! `GET /v1/transactions` (a one-month range, `limit=50`, a random user) and
//! `POST /v1/transactions` with `wrk` at 64 connections, next to a bare actix-web handler that
//! does the same JWT check and the same SQL on pools of the same size (the ceiling), and prints
//! requests/s, p99 and the ratio. The bare handler and the service take turns over two rounds;
//! each round is printed, and the comparison uses both (mean rate, worst p99).
//!
//! The service runs in this process, built exactly as `penny-ledger api` builds it (release,
//! info-level telemetry, the default pool size), against `PENNY_BENCH_DATABASE_URL` (default
//! the local `penny_bench` database, created and seeded on first use and reused afterwards).
//! `PENNY_BENCH_SECONDS` sets each run's length (default 15), `PENNY_BENCH_CONNECTIONS` the
//! connections (default 64), `PENNY_BENCH_WORKER_CONNECTIONS` the database connections of each
//! HTTP worker thread (default: the service's).

use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use penny_contract::{Role, UserId};
use penny_ledger::models::{Page, TransactionView};
use penny_ledger::store::transactions::{TransactionFilter, page};
use penny_ledger::{Application, LedgerSettings};
use penny_platform::cli::RunMode;
use penny_platform::db::{DbPool, WorkerPools};
use penny_platform::http::{AccessClaims, JwtVerifier};
use penny_platform::settings::LogFormat;
use penny_platform::signing::{SigningKey, jwks};
use penny_platform::{CommonSettings, Settings};
use secrecy::SecretString;

const USERS: i64 = 1_000;
const TRANSACTIONS: i64 = 1_000_000;
const ISSUER: &str = "penny-bench";
const AUDIENCE: &str = "penny";

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct User {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    user_id: uuid::Uuid,
}

/// One wrk run.
struct Run {
    name: &'static str,
    requests_per_sec: f64,
    p99_ms: f64,
    errors: u64,
}

impl Run {
    /// Runs of equal length taken as one: their mean rate and the worst of their p99s.
    fn combined<'a>(name: &'static str, runs: impl Iterator<Item = &'a Run>) -> Run {
        let runs: Vec<&Run> = runs.collect();
        let count = runs.len().max(1) as f64;
        Run {
            name,
            requests_per_sec: runs.iter().map(|r| r.requests_per_sec).sum::<f64>() / count,
            p99_ms: runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
            errors: runs.iter().map(|r| r.errors).sum(),
        }
    }
}

/// Starts every run from the same state: the rows an earlier run created and deleted are
/// vacuumed now, not by autovacuum in the middle of a measurement, and dirty pages are written.
async fn settle(pool: &DbPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await?;
    diesel::sql_query("VACUUM ANALYZE transactions").execute(&mut conn).await?;
    // Needs a superuser (the local default); elsewhere the run simply starts unflushed.
    if let Err(error) = diesel::sql_query("CHECKPOINT").execute(&mut conn).await {
        println!("(no CHECKPOINT before the runs: {error})");
    }
    Ok(())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env_or("PENNY_BENCH_SECONDS", 15)?;
    let connections: u64 = env_or("PENNY_BENCH_CONNECTIONS", 64)?;
    let server = std::env::var("PENNY_BENCH_SERVER_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let database_url =
        std::env::var("PENNY_BENCH_DATABASE_URL").unwrap_or_else(|_| format!("{server}/penny_bench"));
    // `make run`'s log level: the request spans are part of what is measured.
    let _telemetry =
        penny_platform::telemetry::init("ledger", LogFormat::Text, &CommonSettings::default().log_filter)?;

    create_database(&server, "penny_bench").await?;

    let key = SigningKey::generate("bench-key")?;
    let dir = std::env::temp_dir().join(format!("penny-ledger-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let jwks_file = dir.join("jwks.json");
    std::fs::write(&jwks_file, serde_json::to_vec(&jwks([&key]))?)?;

    let defaults = CommonSettings::default();
    let common = CommonSettings {
        http_worker_connections: env_or("PENNY_BENCH_WORKER_CONNECTIONS", defaults.http_worker_connections)?,
        port: 0,
        database_url: SecretString::from(database_url.clone()),
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
        jwks_url: None,
        jwks_file: Some(jwks_file),
        ..defaults
    };
    let worker_connections = common.http_worker_connections;
    let app =
        Application::build(Settings { common, service: LedgerSettings::default() }, RunMode::Api).await?;
    let port = app.port();
    let pool = app.foundation().pool.clone();
    let verifier = Arc::clone(&app.foundation().verifier);
    // The bare handler's pools are sized as the service's HTTP workers' are.
    let bare_pools =
        WorkerPools::for_api(&app.foundation().db, app.foundation().common.http_worker_connections)?;
    tokio::spawn(app.run_until_stopped());

    let users = seed(&pool).await?;
    let bare_port = bare_server(bare_pools, verifier)?;

    let mut tokens = String::from("tokens = {\n");
    for user in &users {
        writeln!(tokens, "  \"{}\",", sign(&key, *user)?)?;
    }
    tokens.push_str("}\n");
    let list_script = dir.join("list.lua");
    std::fs::write(&list_script, format!("{tokens}{LIST_LUA}"))?;
    let create_script = dir.join("create.lua");
    std::fs::write(&create_script, format!("{tokens}{CREATE_LUA}"))?;

    println!(
        "ledger load: {} transactions over {} users; {connections} connections, {seconds} s per run, {worker_connections} database connections per HTTP worker",
        TRANSACTIONS, USERS
    );
    settle(&pool).await?;
    wrk("warm-up", &list_script, &format!("http://127.0.0.1:{port}/v1/transactions"), connections, 3).await?;
    // Two rounds, the bare handler and the service taking turns, so neither gets the quieter
    // moments of the machine; the figures compared are both rounds together.
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let bare = wrk(
            "bare list (ceiling)",
            &list_script,
            &format!("http://127.0.0.1:{bare_port}/bare"),
            connections,
            seconds,
        )
        .await?;
        let list = wrk(
            "GET /v1/transactions",
            &list_script,
            &format!("http://127.0.0.1:{port}/v1/transactions"),
            connections,
            seconds,
        )
        .await?;
        rounds.push((bare, list));
    }
    let bare = Run::combined("bare list (ceiling), both rounds", rounds.iter().map(|(bare, _)| bare));
    let list = Run::combined("GET /v1/transactions, both rounds", rounds.iter().map(|(_, list)| list));
    let gateway = Gateway::start(port)?;
    let through_gateway = wrk(
        "GET /v1/transactions via the gateway",
        &list_script,
        &format!("http://127.0.0.1:{}/v1/transactions", gateway.port),
        connections,
        seconds,
    )
    .await?;
    drop(gateway);
    let create = wrk(
        "POST /v1/transactions",
        &create_script,
        &format!("http://127.0.0.1:{port}/v1/transactions"),
        connections,
        seconds,
    )
    .await?;

    println!();
    println!("| run | requests/s | p99 | non-2xx |");
    println!("|---|---:|---:|---:|");
    let each = rounds.iter().flat_map(|(bare, list)| [bare, list]);
    for run in each.chain([&bare, &list, &through_gateway, &create]) {
        println!("| {} | {:.0} | {:.1} ms | {} |", run.name, run.requests_per_sec, run.p99_ms, run.errors);
    }
    let ratio = list.requests_per_sec / bare.requests_per_sec;
    println!();
    println!(
        "list / bare = {:.0}% (goal ≥ 80%); list p99 {:.1} ms (goal ≤ 30 ms); create {:.0}/s (goal ≥ 2,000/s)",
        ratio * 100.0,
        list.p99_ms,
        create.requests_per_sec
    );
    // Created rows are removed so the next run starts from the same million.
    let mut conn = pool.get().await?;
    diesel::sql_query("DELETE FROM transactions WHERE merchant = 'bench-create'").execute(&mut conn).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The real gateway (nginx with `deploy/gateway/`'s config) in front of the ledger on `port`.
struct Gateway {
    port: u16,
    child: std::process::Child,
    prefix: std::path::PathBuf,
}

impl Gateway {
    fn start(ledger_port: u16) -> anyhow::Result<Self> {
        let free = || -> anyhow::Result<u16> { Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()) };
        let port = free()?;
        let prefix = std::env::temp_dir().join(format!("penny-ledger-bench-gateway-{}", std::process::id()));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let unused = format!("127.0.0.1:{}", free()?);
        let render = std::process::Command::new("bash")
            .arg(root.join("deploy/gateway/render.sh"))
            .arg(&prefix)
            .env("LISTEN", format!("127.0.0.1:{port}"))
            .env("LEDGER_UPSTREAM", format!("127.0.0.1:{ledger_port}"))
            .env("AUTH_UPSTREAM", &unused)
            .env("MAIL_INGEST_UPSTREAM", &unused)
            .env("EXTRACTION_UPSTREAM", &unused)
            // The benchmark is one client far faster than any real one.
            .env("RATE_LIMIT", "off")
            .output()
            .context("running deploy/gateway/render.sh (nginx and envsubst are needed)")?;
        if !render.status.success() {
            bail!("render.sh failed: {}", String::from_utf8_lossy(&render.stderr));
        }
        let nginx =
            if std::path::Path::new("/usr/sbin/nginx").exists() { "/usr/sbin/nginx" } else { "nginx" };
        let child = std::process::Command::new(nginx)
            .arg("-p")
            .arg(format!("{}/", prefix.display()))
            .arg("-c")
            .arg(prefix.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting nginx")?;
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the gateway did not start listening");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(Self { port, child, prefix })
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // SIGTERM lets nginx stop its workers; kill() would orphan them.
        let _ = std::process::Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(value) => value.parse().map_err(|_| anyhow::anyhow!("{name} is not valid")),
        Err(_) => Ok(default),
    }
}

async fn create_database(server: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(&format!("{server}/postgres")).await?;
    let exists: Vec<Count> = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .load(&mut conn)
        .await?;
    if exists.as_slice().first().is_none_or(|c| c.n == 0) {
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
    }
    Ok(())
}

/// Seeds the million rows once (over 2025, 1,000 users), and returns the users.
async fn seed(pool: &DbPool) -> anyhow::Result<Vec<UserId>> {
    let mut conn = pool.get().await?;
    let count: Vec<Count> =
        diesel::sql_query("SELECT count(*) AS n FROM transactions").load(&mut conn).await?;
    let existing = count.as_slice().first().map_or(0, |c| c.n);
    if existing != TRANSACTIONS {
        println!("seeding {TRANSACTIONS} transactions (once)...");
        let started = Instant::now();
        diesel::sql_query("TRUNCATE transactions CASCADE").execute(&mut conn).await?;
        let step = 100_000;
        for start in (0..TRANSACTIONS).step_by(step as usize) {
            diesel::sql_query(
                "INSERT INTO transactions (id, user_id, amount, currency, type, occurred_at, merchant, source) \
                 SELECT gen_random_uuid(), md5('bench-user-' || (g % $3))::uuid, \
                        round((random() * 500 + 1)::numeric, 2), 'USD', \
                        CASE WHEN g % 10 = 0 THEN 'income' ELSE 'expense' END, \
                        timestamptz '2025-01-01' + random() * interval '365 days', \
                        'Merchant ' || (g % 200), 'manual' \
                 FROM generate_series($1, $2) AS g",
            )
            .bind::<diesel::sql_types::BigInt, _>(start)
            .bind::<diesel::sql_types::BigInt, _>(start + step - 1)
            .bind::<diesel::sql_types::BigInt, _>(USERS)
            .execute(&mut conn)
            .await?;
        }
        diesel::sql_query("VACUUM ANALYZE transactions").execute(&mut conn).await?;
        println!("seeded in {:.0?}", started.elapsed());
    }
    let users: Vec<User> =
        diesel::sql_query("SELECT DISTINCT user_id FROM transactions").load(&mut conn).await?;
    if users.len() as i64 != USERS {
        bail!("expected {USERS} users, found {}", users.len());
    }
    Ok(users.into_iter().map(|u| UserId::from_uuid(u.user_id)).collect())
}

fn sign(key: &SigningKey, user: UserId) -> anyhow::Result<String> {
    let now = Utc::now().timestamp();
    let claims = AccessClaims {
        sub: user,
        role: Role::User,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now + 3600,
        iat: now,
        jti: uuid::Uuid::now_v7().to_string(),
        typ: "access".into(),
    };
    Ok(key.sign(&claims)?)
}

/// The ceiling: the same token check and the same query, on a pool per worker thread like the
/// service's, without the service's middleware, extractors or validation.
fn bare_server(pools: WorkerPools, verifier: Arc<JwtVerifier>) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let workers = pools.len();
    let server = HttpServer::new(move || {
        let state = web::Data::new((pools.next_pool(), Arc::clone(&verifier)));
        App::new().app_data(state).route("/bare", web::get().to(bare_list))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    tokio::spawn(server);
    Ok(port)
}

async fn bare_list(
    req: HttpRequest,
    state: web::Data<(DbPool, Arc<JwtVerifier>)>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Ok(claims) = state.1.verify(token).await else {
        return HttpResponse::Unauthorized().finish();
    };
    let month = |key: &str| {
        query
            .get(key)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0).map(|at| Utc.from_utc_datetime(&at)))
    };
    let filter = TransactionFilter { from: month("from"), to: month("to"), ..TransactionFilter::default() };
    let Ok(mut conn) = state.0.get().await else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    match page(&mut conn, claims.sub, &filter, None, 51).await {
        Ok(mut rows) => {
            rows.truncate(50);
            let items: Vec<TransactionView> = rows.into_iter().map(TransactionView::from).collect();
            HttpResponse::Ok().json(Page { items, next_cursor: None })
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

const LIST_LUA: &str = r#"
math.randomseed(os.time())
request = function()
  local month = math.random(1, 11)
  local path = string.format("%s?from=2025-%02d-01&to=2025-%02d-01&limit=50", wrk.path, month, month + 1)
  local headers = { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] }
  return wrk.format("GET", path, headers)
end
"#;

const CREATE_LUA: &str = r#"
math.randomseed(os.time())
request = function()
  local body = string.format(
    '{"amount":"%d.%02d","currency":"USD","type":"expense","occurred_at":"2025-06-%02d","merchant":"bench-create"}',
    math.random(1, 500), math.random(0, 99), math.random(1, 28))
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", wrk.path, headers, body)
end
"#;

/// Runs wrk and reads requests/s, p99 and non-2xx responses from its report.
async fn wrk(
    name: &'static str,
    script: &std::path::Path,
    url: &str,
    connections: u64,
    seconds: u64,
) -> anyhow::Result<Run> {
    // Async, so this runtime keeps serving while wrk runs.
    let output = tokio::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .await
        .context("failed to run wrk (is it installed?)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if std::env::var_os("PENNY_BENCH_VERBOSE").is_some() {
        println!("{name}: {url}\n{text}");
    }
    if !output.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let requests_per_sec = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no Requests/sec in wrk's report")?;
    let p99_ms = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| duration_ms(v.trim()))
        .context("no p99 in wrk's report")?;
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok(Run { name, requests_per_sec, p99_ms, errors })
}

/// `1.23ms`, `456.00us`, `1.20s` → milliseconds.
fn duration_ms(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        _ => value,
    }
}
