//! Timestamps and dates as the API takes them: the platform's parsers, shared with mail-ingest.

pub use penny_platform::time::*;
