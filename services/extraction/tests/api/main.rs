//! Integration tests of the extraction service against the real PostgreSQL and RabbitMQ on the
//! machine, with a local stand-in of the OpenAI chat-completions API.

// Tests fail by panicking; unwrap is how they say so.
#![allow(clippy::unwrap_used)]

mod bus;
mod foundation;
mod helpers;
mod llm;
mod metrics;
mod routes;
