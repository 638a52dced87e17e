//! `/v1/accounts`: connected mailboxes.

pub mod create_imap;
pub mod delete;
pub mod fetch;
pub mod get;
pub mod list;
pub mod oauth;
pub mod update;
