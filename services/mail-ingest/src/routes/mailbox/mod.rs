//! `/v1/mailbox`: uploads.

pub mod import;
