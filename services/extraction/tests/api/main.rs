//! Integration tests of the extraction service against the real PostgreSQL on the machine.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod foundation;
mod helpers;
