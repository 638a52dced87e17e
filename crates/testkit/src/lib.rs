//! Test support shared by every Penny test suite.
//!
//! Tests talk to the real PostgreSQL, RabbitMQ and nginx on the machine; this crate gives each
//! test its own database and its own gateway on free ports, and cleans up afterwards, so tests
//! run in parallel and never touch what `make run` uses.

pub mod broker;
pub mod db;
pub mod dovecot;
pub mod gateway;
pub mod service;

pub use broker::{TcpProxy, TestVhost};
pub use db::{TestDb, assert_migrations_round_trip, count};
pub use gateway::Gateway;
pub use service::{TestAuth, TestSettings};

/// The workspace root, for tests that read deploy files or fixtures.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
