//! `/v1/auth`: the caller's own account and sessions.

pub mod delete_me;
pub mod login;
pub mod logout;
pub mod me;
pub mod password_change;
pub mod password_forgot;
pub mod password_reset;
pub mod refresh;
pub mod register;
