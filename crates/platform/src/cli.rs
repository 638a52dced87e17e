//! The subcommands every service binary shares. A service adds its own (auth's
//! `create-admin`, mail-ingest's `reencrypt`) next to these.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Options before the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A TOML settings file; keys it does not know are an error.
    #[arg(long, env = "PENNY_CONFIG_FILE", global = true)]
    pub config: Option<PathBuf>,
}

/// How much of the service a process runs, so operators scale APIs and workers apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum RunMode {
    /// The HTTP API and the workers (the default).
    Serve,
    /// Only the HTTP API.
    Api,
    /// Only the workers, with a small HTTP listener for /healthz, /readyz and /metrics.
    Work,
    /// Run pending database migrations and exit.
    Migrate,
}

impl RunMode {
    /// Whether this mode serves the public API.
    pub fn runs_api(self) -> bool {
        matches!(self, RunMode::Serve | RunMode::Api)
    }

    /// Whether this mode runs the message workers.
    pub fn runs_workers(self) -> bool {
        matches!(self, RunMode::Serve | RunMode::Work)
    }
}
