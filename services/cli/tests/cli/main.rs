//! `penny` run as a separate process against the real services behind the real gateway (see
//! `helpers.rs`): sessions, imports followed to the end, the ledger views, the job registry's
//! commands, and the operators' tools on a real RabbitMQ.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod dlq;
mod helpers;
mod imap;
mod import;
mod jobs;
mod rotate_secrets;
mod session;
