//! Penny end to end: the four service binaries, PostgreSQL, RabbitMQ and nginx as processes,
//! driven only through the gateway. Build the binaries first: `cargo build --workspace --bins`.
//!
//! Each scenario starts a system of its own (database, vhost, ports, logs), runs within a fixed
//! time budget and, when it fails, prints the end of every process's log.

mod chaos;
mod demo;
mod isolation;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use penny_e2e::mbox::Expected;
use penny_e2e::{System, SystemConfig};
use serde_json::Value;

/// Starts a system and runs `scenario` on it within `budget`; a failure or an overrun panics
/// while the system is still alive, so its logs are printed.
pub async fn run<F>(name: &str, config: SystemConfig, budget: Duration, scenario: F)
where
    F: for<'a> AsyncFnOnce(&'a mut System) -> anyhow::Result<()>,
{
    let started = Instant::now();
    let mut system =
        System::start(config).await.unwrap_or_else(|e| panic!("{name}: the system did not start: {e:?}"));
    let ready = started.elapsed();
    match tokio::time::timeout(budget, scenario(&mut system)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("{name} failed after {:.1?}: {error:?}", started.elapsed()),
        Err(_) => panic!("{name} ran over its budget of {budget:?}"),
    }
    eprintln!("{name}: passed in {:.1?} (system ready in {ready:.1?})", started.elapsed());
}

/// Polls `check` every 50 ms until it answers `Some`, or fails at `deadline`.
pub async fn until<T, F, Fut>(what: &str, deadline: Instant, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Transactions as a multiset of (amount by value, currency, type).
pub fn multiset(items: impl IntoIterator<Item = Expected>) -> BTreeMap<Expected, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_insert(0) += 1;
    }
    out
}

/// The (amount, currency, type) of ledger transactions as the API lists them.
pub fn booked(transactions: &[Value]) -> anyhow::Result<Vec<Expected>> {
    transactions
        .iter()
        .map(|t| {
            Expected::parse(
                t["amount"].as_str().unwrap_or_default(),
                t["currency"].as_str().unwrap_or_default(),
                t["type"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

/// A readable difference between two multisets.
pub fn difference(want: &BTreeMap<Expected, usize>, got: &BTreeMap<Expected, usize>) -> String {
    let mut lines = Vec::new();
    for (item, &n) in want {
        let m = got.get(item).copied().unwrap_or(0);
        if m != n {
            lines.push(format!("  {} {} {}: expected {n}, got {m}", item.amount, item.currency, item.kind));
        }
    }
    for (item, &m) in got {
        if !want.contains_key(item) {
            lines.push(format!("  {} {} {}: expected 0, got {m}", item.amount, item.currency, item.kind));
        }
    }
    lines.join("\n")
}
