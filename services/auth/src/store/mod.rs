//! The auth schema's tables and the queries on them. Every function takes the connection, so
//! a handler can compose several inside one transaction.

pub mod login_failures;
pub mod reset_codes;
pub mod schema;
pub mod sessions;
pub mod users;
