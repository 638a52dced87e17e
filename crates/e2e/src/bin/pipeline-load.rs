//! `make bench` for the whole pipeline: the four release binaries, PostgreSQL, RabbitMQ and the
//! nginx gateway as `make run` starts them (durability on; only the rate limits off), driven
//! through the gateway like any client.
//!
//! 1. Throughput: one `POST /v1/mailbox/import` of 10,000 generated bank alerts; emails/s from
//!    the first byte of the upload until the import's EMAIL_EXTRACTION job is SUCCESS (every
//!    email extracted, booked in the ledger, and both folded into the job).
//! 2. Latency at half that rate: the same number of alerts imported in chunks paced to half the
//!    measured rate; for each email, from its storing (`ingest.emails.created_at`) to its
//!    booking (`ledger.transactions.created_at`, matched by `email_id`), p50 and p99, with the
//!    extraction step in between.
//! 3. Each service's peak resident memory (`VmHWM`).
//! 4. The ceiling, in the same run once the services are stopped: bare lapin + PostgreSQL with
//!    the same guarantees (`penny_e2e::ceiling`), one hop and three chained hops.
//!
//! It prints a table and writes the figures, the configuration and the machine into
//! `docs/BENCHMARKS.md` (between the `pipeline-load` markers; `PENNY_BENCH_WRITE=0` skips it).
//!
//! `cargo build --release --workspace --bins && cargo run --release -p penny-e2e --bin pipeline-load`
//! (`PENNY_BENCH_EMAILS` sets the count; `PENNY_BENCH_METRICS_DIR=dir` saves each service's
//! `/metrics` after the throughput run). Floor 1,000 emails/s; goal 2,000 emails/s with
//! p99 ≤ 1 s at half load.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use penny_e2e::api::count;
use penny_e2e::system::{process_cpu_seconds, workspace_root};
use penny_e2e::{Api, Service, System, SystemConfig, ceiling, mbox};
use serde_json::Value;

const FLOOR: f64 = 1_000.0;
const GOAL: f64 = 2_000.0;
const GOAL_P99_MS: f64 = 1_000.0;
const BEGIN: &str =
    "<!-- pipeline-load:begin (written by `cargo run --release -p penny-e2e --bin pipeline-load`) -->";
const END: &str = "<!-- pipeline-load:end -->";

/// The throughput run.
struct Throughput {
    emails: usize,
    upload: Duration,
    total: Duration,
    /// Since the upload began: when the last email was extracted, the last one booked.
    extracted_all: Duration,
    booked_all: Duration,
    /// CPU seconds each party used during the run.
    cpu: Vec<(String, f64)>,
    /// Per consumer queue, from the services' `/metrics`: busy seconds, batches, messages.
    consumers: BTreeMap<String, [f64; 3]>,
}

/// The paced run.
struct Paced {
    emails: usize,
    target_rate: f64,
    chunk: usize,
    achieved_rate: f64,
    /// Milliseconds, sorted: stored → booked, stored → extracted, extracted → booked.
    total_ms: Vec<f64>,
    extract_ms: Vec<f64>,
    book_ms: Vec<f64>,
    slowest_upload: Duration,
}

#[derive(diesel::QueryableByName)]
struct Times {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    stored: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    extracted: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    booked: DateTime<Utc>,
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let emails: usize = env_or("PENNY_BENCH_EMAILS", 10_000)?;
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build drives the debug binaries; run with --release for figures");
    }
    println!(
        "pipeline load: starting the system ({} binaries, `make run` configuration)...",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let system = System::start(SystemConfig::make_run()).await?;
    let outcome = measure(&system, emails).await;
    let (throughput, paced) = match outcome {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("{}", system.log_tails(30));
            return Err(error);
        }
    };
    let mut memory = Vec::new();
    for service in Service::ALL {
        memory.push((service, system.peak_memory_kib(service)? as f64 / 1024.0));
    }
    let versions = versions(&system).await;
    progress("stopping the system");
    drop(system);

    progress(&format!("ceiling: bare lapin + PostgreSQL, {emails} messages"));
    let payload = mbox::alert("ceiling", 7).mbox_entry.into_bytes();
    let one_hop = ceiling::run(1, emails, &payload).await?;
    let three_hops = ceiling::run(3, emails, &payload).await?;
    progress("done");

    let report = report(&throughput, &paced, &memory, one_hop, three_hops, &versions);
    println!("\n{report}");
    if std::env::var("PENNY_BENCH_WRITE").as_deref() != Ok("0") {
        write_report(&report)?;
        println!("written to docs/BENCHMARKS.md");
    }
    Ok(())
}

async fn measure(system: &System, emails: usize) -> anyhow::Result<(Throughput, Paced)> {
    let api = Api::new(system.gateway_url(""))?;
    let user = api.register_and_login("bench-user").await?;
    let token = user.access_token.as_str();
    let run = uuid::Uuid::now_v7().simple().to_string();

    progress("warm-up: 500 emails");
    import_and_wait(&api, token, mbox::mailbox(&format!("{run}-warm"), 0, 500).0).await?;

    progress(&format!("throughput: {emails} emails in one import"));
    let (mbox_bytes, _) = mbox::mailbox(&format!("{run}-bulk"), 0, emails);
    let cpu_before = cpu_snapshot(system)?;
    let consumers_before = consumer_stats(system).await;
    let began = Utc::now();
    let started = Instant::now();
    let fetch = api.import_mbox(token, mbox_bytes).await?;
    let upload = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(900);
    let child = api.wait_child_job(token, &fetch, deadline).await?;
    let job = api.wait_job(token, &child, deadline).await?;
    let cpu_after = cpu_snapshot(system)?;
    let consumers_after = consumer_stats(system).await;
    let consumers = consumers_after
        .into_iter()
        .map(|(queue, after)| {
            let before = consumers_before.get(&queue).copied().unwrap_or_default();
            (queue, [after[0] - before[0], after[1] - before[1], after[2] - before[2]])
        })
        .filter(|(_, delta)| delta[2] > 0.0)
        .collect();
    if let Some(dir) = std::env::var_os("PENNY_BENCH_METRICS_DIR") {
        save_metrics(system, std::path::Path::new(&dir)).await?;
    }
    let cpu = cpu_before
        .iter()
        .zip(&cpu_after)
        .map(|((name, before), (_, after))| (name.clone(), (after - before).max(0.0)))
        .collect();
    let finished: DateTime<Utc> = job["finished_at"]
        .as_str()
        .context("the extraction job has no finished_at")?
        .parse()
        .context("finished_at is not RFC 3339")?;
    anyhow::ensure!(
        count(&job, "booked") == emails as u64,
        "not every email booked: {}",
        job["output_payload"]
    );
    let total = (finished - began).to_std().unwrap_or_default();
    println!(
        "  {:.0} emails/s ({:.2} s; upload {:.2} s)",
        emails as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        upload.as_secs_f64()
    );
    let mut db = AsyncPgConnection::establish(system.database_url()).await?;
    let times = stage_times(&mut db, began, Utc::now()).await?;
    anyhow::ensure!(times.len() == emails, "{} of {emails} emails booked", times.len());
    let last = |f: fn(&Times) -> DateTime<Utc>| {
        times.iter().map(f).max().map(|t| (t - began).to_std().unwrap_or_default()).unwrap_or_default()
    };
    let throughput = Throughput {
        emails,
        upload,
        total,
        extracted_all: last(|t| t.extracted),
        booked_all: last(|t| t.booked),
        cpu,
        consumers,
    };

    let rate = emails as f64 / total.as_secs_f64();
    let target = rate / 2.0;
    let chunk = ((target / 10.0) as usize).clamp(10, 1_000);
    let interval = Duration::from_secs_f64(chunk as f64 / target);
    progress(&format!(
        "latency: {emails} emails in chunks of {chunk} every {interval:.2?} ({target:.0} emails/s)"
    ));
    let paced_began = Utc::now();
    let start = tokio::time::Instant::now();
    let mut uploads = Vec::new();
    for (k, first) in (0..emails).step_by(chunk).enumerate() {
        tokio::time::sleep_until(start + interval * k as u32).await;
        let api = api.clone();
        let token = token.to_owned();
        let (bytes, _) = mbox::mailbox(&format!("{run}-paced"), first, chunk.min(emails - first));
        uploads.push(tokio::spawn(async move {
            let sent = Instant::now();
            let job = api.import_mbox(&token, bytes).await;
            job.map(|job| (job, sent.elapsed()))
        }));
    }
    let mut fetch_jobs = Vec::new();
    let mut slowest_upload = Duration::ZERO;
    for upload in uploads {
        let (job, took) = upload.await.context("an upload task panicked")??;
        slowest_upload = slowest_upload.max(took);
        fetch_jobs.push(job);
    }
    let deadline = Instant::now() + Duration::from_secs(900);
    for fetch in &fetch_jobs {
        let child = api.wait_child_job(token, fetch, deadline).await?;
        api.wait_job(token, &child, deadline).await?;
    }
    let times = stage_times(&mut db, paced_began, Utc::now()).await?;
    anyhow::ensure!(times.len() == emails, "{} of {emails} paced emails booked", times.len());
    let ms =
        |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
    let sorted = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v
    };
    let first_stored = times.iter().map(|t| t.stored).min().unwrap_or(paced_began);
    let last_booked = times.iter().map(|t| t.booked).max().unwrap_or(paced_began);
    let paced = Paced {
        emails,
        target_rate: target,
        chunk,
        achieved_rate: emails as f64 / (ms(first_stored, last_booked) / 1000.0),
        total_ms: sorted(times.iter().map(|t| ms(t.stored, t.booked)).collect()),
        extract_ms: sorted(times.iter().map(|t| ms(t.stored, t.extracted)).collect()),
        book_ms: sorted(times.iter().map(|t| ms(t.extracted, t.booked)).collect()),
        slowest_upload,
    };
    println!(
        "  p50 {:.0} ms, p99 {:.0} ms from storing to booking",
        percentile(&paced.total_ms, 50.0),
        percentile(&paced.total_ms, 99.0)
    );
    Ok((throughput, paced))
}

/// CPU seconds used so far by each service, PostgreSQL (every `postgres` process), RabbitMQ
/// (`beam.smp`), nginx and this process.
fn cpu_snapshot(system: &System) -> anyhow::Result<Vec<(String, f64)>> {
    let mut out = Vec::new();
    for service in Service::ALL {
        out.push((service.name().to_owned(), system.cpu_seconds(service)?));
    }
    for (label, comm) in
        [("PostgreSQL (all backends)", "postgres"), ("RabbitMQ", "beam.smp"), ("nginx", "nginx")]
    {
        out.push((label.to_owned(), cpu_of_processes_named(comm)));
    }
    out.push(("load generator (this process)".to_owned(), process_cpu_seconds(std::process::id())?));
    Ok(out)
}

/// CPU seconds of every process named `comm` (processes that end in between are lost).
fn cpu_of_processes_named(comm: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == comm)
        })
        .filter_map(|pid| process_cpu_seconds(pid).ok())
        .sum()
}

/// Busy seconds, batches and messages of each consumer queue so far, from the services'
/// `/metrics` (`penny_consumer_batch_duration_seconds` and `penny_messages_consumed_total`);
/// empty where a service does not export them.
async fn consumer_stats(system: &System) -> BTreeMap<String, [f64; 3]> {
    let mut out: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    for service in Service::ALL {
        let Ok(url) = system.service_url(service, "/metrics") else { continue };
        let Ok(response) = reqwest::get(url).await else { continue };
        let Ok(text) = response.text().await else { continue };
        for line in text.lines() {
            let slot = if line.starts_with("penny_consumer_batch_duration_seconds_sum{") {
                0
            } else if line.starts_with("penny_consumer_batch_duration_seconds_count{") {
                1
            } else if line.starts_with("penny_messages_consumed_total{") {
                2
            } else {
                continue;
            };
            let queue = line.split("queue=\"").nth(1).and_then(|rest| rest.split('"').next());
            let value = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
            if let (Some(queue), Some(value)) = (queue, value) {
                out.entry(queue.to_owned()).or_default()[slot] = value;
            }
        }
    }
    out
}

/// Saves each service's `/metrics` (Prometheus text) as `<dir>/<service>.prom`, to see where a
/// run spent its time.
async fn save_metrics(system: &System, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for service in Service::ALL {
        let text = reqwest::get(system.service_url(service, "/metrics")?).await?.text().await?;
        std::fs::write(dir.join(format!("{}.prom", service.name())), text)?;
    }
    Ok(())
}

/// A progress line with the time of day.
fn progress(message: &str) {
    println!("[{}] {message}", Utc::now().format("%H:%M:%S"));
}

/// Imports an mbox and waits until its extraction job is SUCCESS.
async fn import_and_wait(api: &Api, token: &str, mbox: Vec<u8>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let fetch = api.import_mbox(token, mbox).await?;
    let child = api.wait_child_job(token, &fetch, deadline).await?;
    api.wait_job(token, &child, deadline).await?;
    Ok(())
}

/// For every email stored in `[from, to)`: when it was stored, first extracted and booked.
async fn stage_times(
    db: &mut AsyncPgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> anyhow::Result<Vec<Times>> {
    // Fresh statistics: without them the planner nests the two aggregates (seconds, not ms).
    diesel::sql_query("ANALYZE ingest.emails, extraction.email_extractions, ledger.transactions")
        .execute(db)
        .await?;
    Ok(diesel::sql_query(
        "SELECT e.created_at AS stored, x.extracted, t.booked \
         FROM ingest.emails e \
         JOIN (SELECT email_id, min(created_at) AS extracted FROM extraction.email_extractions GROUP BY email_id) x \
           ON x.email_id = e.id \
         JOIN (SELECT email_id, min(created_at) AS booked FROM ledger.transactions GROUP BY email_id) t \
           ON t.email_id = e.id \
         WHERE e.created_at >= $1 AND e.created_at < $2",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(from)
    .bind::<diesel::sql_types::Timestamptz, _>(to)
    .load(db)
    .await?)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// PostgreSQL's, RabbitMQ's and nginx's versions, for the record.
async fn versions(system: &System) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(mut db) = AsyncPgConnection::establish(system.database_url()).await
        && let Ok(row) = diesel::sql_query("SELECT current_setting('server_version') AS value")
            .get_result::<Text>(&mut db)
            .await
    {
        out.push(("PostgreSQL".into(), row.value));
    }
    let overview = reqwest::Client::new()
        .get("http://127.0.0.1:15672/api/overview")
        .basic_auth("guest", Some("guest"))
        .send()
        .await;
    if let Ok(response) = overview
        && let Ok(body) = response.json::<Value>().await
        && let Some(version) = body["rabbitmq_version"].as_str()
    {
        out.push(("RabbitMQ".into(), version.to_owned()));
    }
    if let Ok(output) = std::process::Command::new("nginx").arg("-v").output() {
        let text = String::from_utf8_lossy(&output.stderr);
        out.push(("nginx".into(), text.trim().trim_start_matches("nginx version: nginx/").to_owned()));
    }
    out
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn machine() -> String {
    let cores = cores();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    format!("`nproc` = {cores} ({model}), {memory} memory")
}

fn report(
    throughput: &Throughput,
    paced: &Paced,
    memory: &[(Service, f64)],
    one_hop: f64,
    three_hops: f64,
    versions: &[(String, String)],
) -> String {
    let rate = throughput.emails as f64 / throughput.total.as_secs_f64();
    let p50 = percentile(&paced.total_ms, 50.0);
    let p99 = percentile(&paced.total_ms, 99.0);
    let verdict = if rate >= GOAL && p99 <= GOAL_P99_MS {
        "goal met"
    } else if rate >= FLOOR {
        "floor met, goal not met"
    } else {
        "below the floor"
    };
    let mut out = String::new();
    let _ = writeln!(out, "| figure | value | floor / goal |");
    let _ = writeln!(out, "|---|---:|---|");
    let _ = writeln!(
        out,
        "| throughput: {} emails, upload → extraction job SUCCESS | **{rate:.0} emails/s** ({:.2} s) | ≥ 1,000 / ≥ 2,000 emails/s |",
        throughput.emails,
        throughput.total.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| &nbsp;&nbsp;upload answered (all {} stored) | {:.2} s | |",
        throughput.emails,
        throughput.upload.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| &nbsp;&nbsp;last email extracted | {:.2} s | |",
        throughput.extracted_all.as_secs_f64()
    );
    let _ =
        writeln!(out, "| &nbsp;&nbsp;last email booked | {:.2} s | |", throughput.booked_all.as_secs_f64());
    let _ = writeln!(
        out,
        "| latency at half load ({} emails, {:.0} emails/s asked in chunks of {}; {:.0} emails/s achieved): stored → booked p50 | {p50:.0} ms | |",
        paced.emails, paced.target_rate, paced.chunk, paced.achieved_rate
    );
    let _ = writeln!(out, "| &nbsp;&nbsp;stored → booked p99 | **{p99:.0} ms** | ≤ 1,000 ms |");
    let _ = writeln!(
        out,
        "| &nbsp;&nbsp;stored → extracted p50 / p99 | {:.0} / {:.0} ms | |",
        percentile(&paced.extract_ms, 50.0),
        percentile(&paced.extract_ms, 99.0)
    );
    let _ = writeln!(
        out,
        "| &nbsp;&nbsp;extracted → booked p50 / p99 | {:.0} / {:.0} ms | |",
        percentile(&paced.book_ms, 50.0),
        percentile(&paced.book_ms, 99.0)
    );
    let _ = writeln!(
        out,
        "| &nbsp;&nbsp;slowest chunk upload | {:.0} ms | |",
        paced.slowest_upload.as_secs_f64() * 1000.0
    );
    for (service, mib) in memory {
        let _ = writeln!(out, "| peak memory (VmHWM), {service} | {mib:.1} MiB | |");
    }
    let available = cores() as f64 * throughput.total.as_secs_f64();
    let _ = writeln!(
        out,
        "| CPU during the throughput run ({:.1} s × {} cores = {available:.0} core-seconds) | {:.1} core-seconds used | |",
        throughput.total.as_secs_f64(),
        cores(),
        throughput.cpu.iter().map(|(_, s)| s).sum::<f64>()
    );
    for (name, seconds) in &throughput.cpu {
        let _ =
            writeln!(out, "| &nbsp;&nbsp;{name} | {seconds:.1} s ({:.0}%) | |", 100.0 * seconds / available);
    }
    for (queue, [busy, batches, messages]) in &throughput.consumers {
        let _ = writeln!(
            out,
            "| consumer `{queue}` during the throughput run | busy {busy:.1} s ({:.0}% of the run): {messages:.0} messages in {batches:.0} batches, {:.2} ms per message | |",
            100.0 * busy / throughput.total.as_secs_f64(),
            1000.0 * busy / messages
        );
    }
    let _ = writeln!(out, "| ceiling: bare lapin + PostgreSQL, 1 hop | {one_hop:.0} messages/s | |");
    let _ =
        writeln!(out, "| ceiling: bare lapin + PostgreSQL, 3 chained hops | {three_hops:.0} messages/s | |");
    let _ = writeln!(out, "| pipeline / 3-hop ceiling | {:.0}% | |", 100.0 * rate / three_hops);
    let _ = writeln!(out);
    let _ = writeln!(out, "Verdict: **{verdict}**.");
    let _ = writeln!(out);
    let _ = writeln!(out, "- Measured {} UTC on {}.", Utc::now().format("%Y-%m-%d %H:%M"), machine());
    let listed: Vec<String> = versions.iter().map(|(name, version)| format!("{name} {version}")).collect();
    let _ = writeln!(out, "- Services: {}; all on the same machine as the load.", listed.join(", "));
    let _ = writeln!(
        out,
        "- Configuration: `make run`'s ({} binaries, `serve` mode, default pool sizes and batch sizes, \
         synchronous commits, persistent messages on quorum queues with publisher confirms, OWASP argon2), \
         with the rate limits off (`PENNY_RATE_LIMITS_ENABLED=false`, gateway `RATE_LIMIT=off`); \
         a fresh database and vhost; generated alerts (5 layouts, 4 languages, USD/EUR/GBP, ≈ 600 bytes each).",
        if cfg!(debug_assertions) { "debug (not comparable)" } else { "release" }
    );
    let _ = writeln!(
        out,
        "- Command: `cargo build --release --workspace --bins && cargo run --release -p penny-e2e --bin pipeline-load` \
         (part of `make bench`)."
    );
    out
}

/// Replaces the generated part of docs/BENCHMARKS.md (or appends it).
fn write_report(report: &str) -> anyhow::Result<()> {
    let path = workspace_root().join("docs/BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let block = format!("{BEGIN}\n{report}{END}");
    let updated = match (current.find(BEGIN), current.find(END)) {
        (Some(begin), Some(end)) if end > begin => {
            format!("{}{block}{}", &current[..begin], &current[end + END.len()..])
        }
        _ if current.is_empty() => format!("# Benchmarks\n\n## Pipeline\n\n{block}\n"),
        _ => format!("{current}\n{block}\n"),
    };
    std::fs::write(&path, updated).with_context(|| format!("cannot write {}", path.display()))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(value) => match value.parse() {
            Ok(parsed) => Ok(parsed),
            Err(_) => bail!("{name}={value} is not valid"),
        },
        Err(_) => Ok(default),
    }
}
