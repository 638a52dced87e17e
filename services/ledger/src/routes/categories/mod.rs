//! `/v1/categories`: the caller's categories.

pub mod create;
pub mod delete;
pub mod list;
pub mod update;

use std::collections::BTreeMap;

/// Longest category name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Trims and checks a category name.
pub fn valid_name(name: &str, errors: &mut BTreeMap<String, String>) -> String {
    let name = name.trim().to_owned();
    if name.is_empty() {
        errors.insert("name".into(), "must not be empty".into());
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.insert("name".into(), format!("at most {MAX_NAME_CHARS} characters"));
    }
    name
}
