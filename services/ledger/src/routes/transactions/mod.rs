//! `/v1/transactions`: the ledger itself, plus CSV import and export.

pub mod create;
pub mod delete;
pub mod export;
pub mod get;
pub mod import;
pub mod list;
pub mod update;

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use penny_contract::{CategoryId, TransactionSource, TransactionType, UserId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::cursor::Cursor;
use crate::error::LedgerError;
use crate::money::parse_bound;
use crate::store;
use crate::store::transactions::TransactionFilter;

/// Longest merchant, in characters.
pub const MAX_MERCHANT_CHARS: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 2_000;
/// Longest account hint, in characters.
pub const MAX_ACCOUNT_HINT_CHARS: usize = 50;
/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page.
pub const MAX_LIMIT: i64 = 500;

/// Filters and paging of the list and the export. Every value is read as text and checked here,
/// so a bad one answers 400 naming its parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Earliest `occurred_at` (inclusive): RFC 3339, or a date meaning the start of that day in `tz`.
    pub from: Option<String>,
    /// Latest `occurred_at` (exclusive): RFC 3339, or a date meaning the start of that day in `tz`.
    pub to: Option<String>,
    /// IANA time zone for date-only `from`/`to` (default UTC).
    pub tz: Option<String>,
    pub category_id: Option<String>,
    /// `income` or `expense`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// `manual`, `api`, `import`, `gmail`, `outlook`, `imap` or `upload`.
    pub source: Option<String>,
    /// Text in the merchant or the notes (case-insensitive).
    pub q: Option<String>,
    /// Smallest amount (inclusive), a decimal string.
    pub min_amount: Option<String>,
    /// Largest amount (inclusive), a decimal string.
    pub max_amount: Option<String>,
    /// `true` or `false`.
    pub needs_review: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Export only: `csv` (the default).
    pub format: Option<String>,
}

impl ListQuery {
    /// The filter, page size and cursor, or every invalid parameter.
    pub fn parse(&self) -> Result<(TransactionFilter, i64, Option<Cursor>), LedgerError> {
        let mut errors = BTreeMap::new();
        let mut note = |field: &str, reason: String| {
            errors.insert(field.to_owned(), reason);
        };
        let tz = crate::time::parse_tz(self.tz.as_deref())
            .map_err(|e| note("tz", e))
            .unwrap_or(chrono_tz::Tz::UTC);
        let mut filter = TransactionFilter::default();
        if let Some(from) = non_empty(&self.from) {
            filter.from = crate::time::parse_bound(from, tz).map_err(|e| note("from", e)).ok();
        }
        if let Some(to) = non_empty(&self.to) {
            filter.to = crate::time::parse_bound(to, tz).map_err(|e| note("to", e)).ok();
        }
        if let Some(id) = non_empty(&self.category_id) {
            filter.category_id =
                id.parse::<CategoryId>().map_err(|_| note("category_id", "not a category id".into())).ok();
        }
        if let Some(kind) = non_empty(&self.kind) {
            filter.kind =
                kind.parse::<TransactionType>().map_err(|_| note("type", "income or expense".into())).ok();
        }
        if let Some(source) = non_empty(&self.source) {
            filter.source =
                source.parse::<TransactionSource>().map_err(|_| note("source", "not a source".into())).ok();
        }
        if let Some(q) = non_empty(&self.q) {
            if q.chars().count() > 200 {
                note("q", "at most 200 characters".into());
            }
            filter.q = Some(q.to_owned());
        }
        if let Some(min) = non_empty(&self.min_amount) {
            filter.min_amount = parse_bound(min).map_err(|e| note("min_amount", e)).ok();
        }
        if let Some(max) = non_empty(&self.max_amount) {
            filter.max_amount = parse_bound(max).map_err(|e| note("max_amount", e)).ok();
        }
        if let Some(flag) = non_empty(&self.needs_review) {
            filter.needs_review = match flag {
                "true" => Some(true),
                "false" => Some(false),
                _ => {
                    note("needs_review", "true or false".into());
                    None
                }
            };
        }
        let limit = match non_empty(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => {
                    note("limit", format!("a whole number from 1 to {MAX_LIMIT}"));
                    DEFAULT_LIMIT
                }
            },
        };
        let cursor = match non_empty(&self.cursor) {
            None => None,
            Some(token) => {
                let cursor = Cursor::decode(token);
                if cursor.is_none() {
                    note("cursor", "not a cursor this service issued".into());
                }
                cursor
            }
        };
        if errors.is_empty() { Ok((filter, limit, cursor)) } else { Err(LedgerError::Validation(errors)) }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Checks that a category is the caller's and can hold a transaction of `kind`.
pub async fn check_category(
    conn: &mut AsyncPgConnection,
    user: UserId,
    category: CategoryId,
    kind: TransactionType,
    errors: &mut BTreeMap<String, String>,
) -> Result<(), LedgerError> {
    match store::categories::kind_of(conn, user, category).await? {
        None => {
            errors.insert("category_id".into(), "no such category".into());
        }
        Some(category_type) if !category_type.accepts(kind) => {
            errors.insert(
                "category_id".into(),
                format!("a {category_type} category cannot hold {kind} transactions"),
            );
        }
        Some(_) => {}
    }
    Ok(())
}
