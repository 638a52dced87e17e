//! Penny end to end: the four service binaries as processes, with the real PostgreSQL, RabbitMQ
//! and an nginx gateway rendered from `deploy/gateway/`, driven only through the public API.
//!
//! - [`system`]: the harness. [`System::start`] gives every run its own database, RabbitMQ
//!   vhost, signing key, free ports and log folder; it can SIGKILL and restart a service process
//!   and cut the broker away (through a test kit [`penny_testkit::TcpProxy`]); dropping it
//!   kills everything, and a failing test prints the end of every process's log.
//! - [`api`]: a client of the public API as any client sees it through the gateway.
//! - [`mbox`]: generated bank alerts the rule engine reads, with what each one must book.
//!
//! The harness runs the binaries of the cargo profile it was built with (a test from
//! `target/debug/deps/` runs `target/debug/penny-*`), so build them first:
//! `cargo build --workspace --bins` (add `--release` for the benchmark). The scenarios are in
//! `tests/e2e/` (`cargo test -p penny-e2e`); the pipeline benchmark is
//! `src/bin/pipeline-load.rs` (`cargo run --release -p penny-e2e --bin pipeline-load`).
//!
//! Environment: `PENNY_E2E_BIN_DIR` (where the service binaries are), `PENNY_E2E_LOG` (the
//! services' log filter, default `info`), `PENNY_E2E_KEEP` (keep each run's folder of logs),
//! `PENNY_NGINX` (the nginx binary), and the test kit's `PENNY_TEST_DATABASE_URL`,
//! `PENNY_TEST_RABBITMQ_API` and `PENNY_TEST_AMQP_HOST`.

pub mod api;
pub mod ceiling;
pub mod mbox;
pub mod system;

pub use api::{Api, User};
pub use system::{Service, System, SystemConfig};
