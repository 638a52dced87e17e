//! Fetchers: how mail gets out of each kind of mailbox.
//!
//! - [`upload`]: an mbox or one .eml streamed in the request body;
//! - [`imap`]: any IMAP server, incrementally by `(mailbox, UIDVALIDITY, last UID)`;
//! - [`remote`]: mail APIs with message ids and sync tokens, behind the [`remote::RemoteMailbox`]
//!   trait: [`gmail`] (history id) and [`graph`] (Microsoft Graph delta link).
//!
//! Each hands raw messages to [`crate::ingest::Ingestor`], which stores them once and requests
//! their extraction through the outbox; [`runner`] picks the fetcher for an account's provider.

pub mod gmail;
pub mod graph;
pub mod imap;
pub mod remote;
pub mod runner;
pub mod upload;
pub mod worker;
