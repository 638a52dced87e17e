//! `/v1/emails`: the caller's stored emails.

pub mod get;
pub mod list;

use std::collections::BTreeMap;

use penny_contract::{AccountId, EmailExtractionStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::cursor::{Cursor, parse_limit};
use crate::error::IngestError;
use crate::store::emails::EmailFilter;

/// Filters and paging of the email list; each value is checked here so a bad one answers 400
/// naming its parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    /// `PENDING`, `COMPLETED`, `SKIPPED` or `FAILED`.
    pub extraction_status: Option<String>,
    /// One of the caller's accounts.
    pub account_id: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl EmailQuery {
    /// The filter, page size and cursor, or every invalid parameter.
    pub fn parse(&self) -> Result<(EmailFilter, i64, Option<Cursor>), IngestError> {
        let mut errors = BTreeMap::new();
        let mut filter = EmailFilter::default();
        if let Some(status) = self.extraction_status.as_deref().filter(|s| !s.is_empty()) {
            match status.parse::<EmailExtractionStatus>() {
                Ok(status) => filter.extraction_status = Some(status),
                Err(_) => {
                    errors.insert(
                        "extraction_status".into(),
                        "one of PENDING, COMPLETED, SKIPPED, FAILED".into(),
                    );
                }
            }
        }
        if let Some(account) = self.account_id.as_deref().filter(|s| !s.is_empty()) {
            match account.parse::<AccountId>() {
                Ok(account) => filter.account_id = Some(account),
                Err(_) => {
                    errors.insert("account_id".into(), "not a UUID".into());
                }
            }
        }
        let limit =
            parse_limit(self.limit.as_deref()).map_err(|e| errors.insert("limit".into(), e)).unwrap_or(50);
        let cursor = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(token) => {
                let cursor = Cursor::decode(token);
                if cursor.is_none() {
                    errors.insert("cursor".into(), "not a cursor of this list".into());
                }
                cursor
            }
        };
        if !errors.is_empty() {
            return Err(IngestError::Validation(errors));
        }
        Ok((filter, limit, cursor))
    }
}
