//! Query functions. Each takes `&mut AsyncPgConnection`, so callers compose them inside one
//! transaction; every query is scoped to the caller's user id.

pub mod categories;
pub mod reports;
pub mod rules;
pub mod transactions;
