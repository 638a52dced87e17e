//! Fetchers: how mail gets out of each kind of mailbox.
//!
//! - [`upload`]: an mbox or one .eml streamed in the request body;
//! - [`imap`]: any IMAP server, incrementally by `(mailbox, UIDVALIDITY, last UID)`.
//!
//! Each hands raw messages to [`crate::ingest::Ingestor`], which stores them once and requests
//! their extraction through the outbox.

pub mod imap;
pub mod runner;
pub mod upload;
pub mod worker;
