//! Integration tests of the auth service against the real PostgreSQL on the machine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod bootstrap;
mod foundation;
mod helpers;
mod input;
mod jwt;
mod passwords;
mod rate_limits;
mod sessions;
mod smtp;
