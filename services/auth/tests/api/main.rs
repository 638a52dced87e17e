//! Integration tests of the auth service against the real PostgreSQL on the machine.

mod foundation;
mod helpers;
