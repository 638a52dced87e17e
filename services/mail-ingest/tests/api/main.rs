//! Integration tests of the mail-ingest service against the real PostgreSQL, RabbitMQ and (for
//! IMAP) a Dovecot started by the tests.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod dovecot;
mod emails_and_jobs;
mod foundation;
mod helpers;
mod imap;
mod imports;
mod jobs;
mod oauth;
mod pipeline;
mod registry;
mod users;
