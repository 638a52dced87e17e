//! The job registry: folding `email.extracted`, `email.booked`, `job.status` and
//! `extraction.started` into `emails` and `jobs` (queue `ingest.registry`), and deciding when a
//! job ends (DESIGN.md, step 6).
//!
//! - [`fold`]: a batch of events → email rows, per-job outcome and booking marks, job changes;
//! - [`progress`]: applying a job's changes under its row lock, sealing a job's set of emails,
//!   and ending a fetch job (which seals its child extraction job);
//! - [`handler`]: the consumer.

pub mod fold;
pub mod handler;
pub mod progress;

pub use fold::{RegistryEvent, fold, newest_version};
pub use handler::RegistryHandler;
pub use progress::{JobChange, finish_fetch, seal, settle};
