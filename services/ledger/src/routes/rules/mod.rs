//! `/v1/rules`: categorisation rules, and applying them to stored transactions.

pub mod apply;
pub mod create;
pub mod delete;
pub mod list;
pub mod update;

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use penny_contract::{CategoryId, MatchField, MatchKind, TransactionType, UserId};
use rust_decimal::Decimal;

use crate::categorise::Matcher;
use crate::error::LedgerError;
use crate::money::parse_bound;
use crate::store;

/// Longest rule name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 500;
/// The priority of a rule created without one.
pub const DEFAULT_PRIORITY: i32 = 100;

/// A rule's complete content before validation.
#[derive(Debug, Clone)]
pub struct RuleDraft {
    pub name: String,
    pub match_field: MatchField,
    pub match_kind: MatchKind,
    pub pattern: String,
    pub min_amount: Option<String>,
    pub max_amount: Option<String>,
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    pub priority: i32,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct ValidRule {
    pub name: String,
    pub match_field: MatchField,
    pub match_kind: MatchKind,
    pub pattern: String,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    pub priority: i32,
}

impl RuleDraft {
    /// Checks every field (the pattern compiles within the size limit, the range is ordered, the
    /// category is the caller's and fits the rule's type) and names each bad one.
    pub async fn validate(
        self,
        conn: &mut AsyncPgConnection,
        user: UserId,
    ) -> Result<ValidRule, LedgerError> {
        let mut errors = BTreeMap::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            errors.insert("name".into(), format!("1 to {MAX_NAME_CHARS} characters"));
        }
        if self.pattern.trim().is_empty() || self.pattern.chars().count() > MAX_PATTERN_CHARS {
            errors.insert("pattern".into(), format!("1 to {MAX_PATTERN_CHARS} characters"));
        } else if let Err(reason) = Matcher::compile(self.match_kind, &self.pattern) {
            errors.insert("pattern".into(), reason);
        }
        let mut bound = |field: &str, text: Option<&str>| match text.map(str::trim).filter(|t| !t.is_empty())
        {
            None => None,
            Some(text) => parse_bound(text).map_err(|e| errors.insert(field.to_owned(), e)).ok(),
        };
        let min_amount = bound("min_amount", self.min_amount.as_deref());
        let max_amount = bound("max_amount", self.max_amount.as_deref());
        if let (Some(min), Some(max)) = (min_amount, max_amount)
            && min > max
        {
            errors.insert("max_amount".into(), "must not be below min_amount".into());
        }
        match store::categories::kind_of(conn, user, self.category_id).await? {
            None => {
                errors.insert("category_id".into(), "no such category".into());
            }
            Some(category_type) => {
                if let Some(kind) = self.kind
                    && !category_type.accepts(kind)
                {
                    errors.insert(
                        "type".into(),
                        format!("a {category_type} category cannot hold {kind} transactions"),
                    );
                }
            }
        }
        if !errors.is_empty() {
            return Err(LedgerError::Validation(errors));
        }
        Ok(ValidRule {
            name,
            match_field: self.match_field,
            match_kind: self.match_kind,
            pattern: self.pattern,
            min_amount,
            max_amount,
            kind: self.kind,
            category_id: self.category_id,
            priority: self.priority,
        })
    }
}
