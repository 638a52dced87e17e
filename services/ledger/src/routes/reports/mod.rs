//! `/v1/reports`: summaries.

pub mod summary;
