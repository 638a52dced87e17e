//! Integration tests of the platform crate against the real PostgreSQL on the machine.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod database;
mod helpers;
mod http;
mod jwt;
mod messaging;
mod observability;
mod shutdown;
