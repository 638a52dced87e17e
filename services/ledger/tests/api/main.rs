//! Integration tests of the ledger service against the real PostgreSQL on the machine.

mod foundation;
mod helpers;
