//! Integration tests of the platform crate against the real PostgreSQL on the machine.

mod database;
mod helpers;
mod http;
mod jwt;
