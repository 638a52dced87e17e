//! Auth load benchmark (`cargo bench -p penny-auth`, part of `make bench`).
//!
//! 1. The ceiling: a bare argon2id verify loop at the default (OWASP) parameters, one thread per
//!    core, each reusing its memory block — the most logins this machine could ever do.
//! 2. Login throughput and latency through the real service (HTTP, PostgreSQL, session rows,
//!    token signing) at the same parameters, with rate limits off; the ratio to (1) is the cost of
//!    everything around the hash. Goal: ≥ 90%.
//! 3. Token verification: the platform verifier in-process (µs per token), and the added latency
//!    of `GET /v1/auth/me` (token check + one indexed query) over `GET /healthz` (same middleware,
//!    no authentication). Goal: verification ≤ 50 µs.
//!
//! Everything runs on this machine's cores at once, as in production on a small host.
//! `PENNY_BENCH_SECS` sets each phase's length (default 10), `PENNY_BENCH_CONCURRENCY` the
//! concurrent login clients (default 4 per core).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use penny_auth::passwords::{HashParams, Workspace};
use penny_auth::{Application, AuthSettings};
use penny_platform::cli::RunMode;
use penny_platform::http::JwtVerifier;
use penny_platform::http::auth::KeySource;
use penny_platform::tombstones::Tombstones;
use penny_platform::{CommonSettings, Settings};
use penny_testkit::TestDb;
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

const PASSWORD: &str = "quiet-lantern-orbit-47";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Verifies per second with `threads` threads in a tight loop.
fn bare_argon2(threads: usize, duration: Duration) -> f64 {
    let phc = Workspace::new().hash(HashParams::OWASP, PASSWORD.as_bytes()).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (phc, count) = (&phc, Arc::clone(&count));
            scope.spawn(move || {
                let mut ws = Workspace::new();
                while start.elapsed() < duration {
                    assert!(ws.verify(HashParams::OWASP, phc, PASSWORD.as_bytes()).unwrap().matches);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

struct Service {
    url: String,
    _db: TestDb,
    _dir: tempfile::TempDir,
    issuer: String,
    audience: String,
    jwks: jsonwebtoken::jwk::JwkSet,
}

async fn start_service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let pem = penny_platform::signing::generate_pkcs8_pem().unwrap();
    let key_file = dir.path().join("jwt.pem");
    std::fs::write(&key_file, pem.expose_secret()).unwrap();
    let service = AuthSettings {
        jwt_private_key_file: Some(key_file),
        rate_limits_enabled: false,
        mail_dir: dir.path().join("mail"),
        ..AuthSettings::default()
    };
    let db = TestDb::new().await;
    let common = CommonSettings {
        port: 0,
        database_url: SecretString::from(db.url().to_owned()),
        jwks_url: None,
        log_filter: "warn".into(),
        shutdown_timeout_secs: 1,
        ..CommonSettings::default()
    };
    let (issuer, audience) = (common.jwt_issuer.clone(), common.jwt_audience.clone());
    let app = Application::build(Settings { common, service }, RunMode::Api).await.unwrap();
    let url = format!("http://127.0.0.1:{}", app.port());
    let jwks = app.state().tokens.jwks();
    tokio::spawn(app.run_until_stopped());
    Service { url, _db: db, _dir: dir, issuer, audience, jwks }
}

async fn login_load(
    client: &reqwest::Client,
    url: &str,
    concurrency: usize,
    duration: Duration,
) -> (f64, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..concurrency {
        let (client, url, stop) = (client.clone(), format!("{url}/v1/auth/login"), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .json(&json!({"login": "bench", "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
                let _ = response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    (latencies.len() as f64 / elapsed, latencies)
}

/// Sequential requests: the median and mean latency of `GET path`.
async fn latency(client: &reqwest::Client, url: &str, token: Option<&str>, n: usize) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let sent = Instant::now();
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
        // The first tenth warms connections and caches up.
        if i >= n / 10 {
            samples.push(sent.elapsed());
        }
    }
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).unwrap();
    samples.sort();
    (percentile(&samples, 0.5), mean)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing: both run it.
    let secs = env_or("PENNY_BENCH_SECS", 10);
    let duration = Duration::from_secs(secs);
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
    let concurrency = usize::try_from(env_or("PENNY_BENCH_CONCURRENCY", 4 * cores as u64)).unwrap();
    println!("auth benchmark: {cores} cores, {secs} s per phase, argon2id m=19456 KiB t=2 p=1");

    let bare = bare_argon2(cores, duration);
    println!(
        "bare argon2id verify loop ({cores} threads):   {bare:8.1} verifies/s ({:.2} ms each per core)",
        1000.0 * cores as f64 / bare
    );

    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(cores).enable_all().build().unwrap();
    runtime.block_on(async {
        let service = start_service().await;
        let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
        let register = client
            .post(format!("{}/v1/auth/register", service.url))
            .json(&json!({"name": "Bench", "username": "bench", "email": "bench@example.org", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(register.status(), 201);

        // Warm up the connections, the pool and the hashing threads.
        let _ = login_load(&client, &service.url, concurrency, Duration::from_secs(2)).await;
        let (logins, latencies) = login_load(&client, &service.url, concurrency, duration).await;
        println!(
            "login through the service ({concurrency} clients): {logins:8.1} logins/s   p50 {:.1} ms  p99 {:.1} ms",
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        );
        println!("login / bare argon2 throughput: {:.1}% (goal >= 90%)", 100.0 * logins / bare);

        // Token verification in-process, with the platform's verifier and the service's keys.
        let body: Value = client
            .post(format!("{}/v1/auth/login", service.url))
            .json(&json!({"login": "bench", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        let verifier = JwtVerifier::new(
            KeySource::Static(service.jwks.clone()),
            &service.issuer,
            &service.audience,
            Tombstones::new(),
        );
        verifier.verify(&token).await.unwrap();
        let n = 20_000u32;
        let started = Instant::now();
        for _ in 0..n {
            verifier.verify(&token).await.unwrap();
        }
        let per_verify = started.elapsed() / n;
        println!("token verification in-process:  {:8.1} µs per token (goal <= 50 µs)", per_verify.as_secs_f64() * 1e6);

        let requests = 3000;
        let (health_p50, health_mean) = latency(&client, &format!("{}/healthz", service.url), None, requests).await;
        let (me_p50, me_mean) =
            latency(&client, &format!("{}/v1/auth/me", service.url), Some(&token), requests).await;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "GET /healthz (no auth):          p50 {:7.1} µs  mean {:7.1} µs",
            us(health_p50),
            us(health_mean)
        );
        println!("GET /v1/auth/me (token + 1 query): p50 {:7.1} µs  mean {:7.1} µs", us(me_p50), us(me_mean));
        println!(
            "added latency of an authenticated request: p50 {:.1} µs (of which token verification {:.1} µs, the rest the account query)",
            us(me_p50.saturating_sub(health_p50)),
            us(per_verify)
        );
    });
}
