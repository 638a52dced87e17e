//! Integration tests of the extraction service against the real PostgreSQL on the machine.

mod foundation;
mod helpers;
