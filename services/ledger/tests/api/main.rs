//! Integration tests of the ledger service against the real PostgreSQL on the machine.

// Tests may unwrap: a panic is how they fail.
#![allow(clippy::unwrap_used)]

mod booking;
mod bus;
mod categories;
mod csv;
mod foundation;
mod helpers;
mod reports;
mod rules;
mod transactions;
mod validation;
