//! Query functions, one module per table. Each takes `&mut AsyncPgConnection`, so callers
//! compose them inside one transaction, and each is scoped to a user where a user is involved.

pub mod accounts;
pub mod cursors;
pub mod emails;
pub mod job_emails;
pub mod jobs;
pub mod oauth_states;
