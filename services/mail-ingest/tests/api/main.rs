//! Integration tests of the mail-ingest service against the real PostgreSQL on the machine.

mod foundation;
mod helpers;
