//! Rows of the ledger tables and the JSON views the API returns.
//!
//! Enums are stored as TEXT in their wire spelling, ids as UUID; both through the contract
//! crate's diesel support. Money is read back as `NUMERIC(18,4)` and written on the wire with
//! its currency's minor digits ([`crate::money::format_amount`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use penny_contract::{
    CategoryId, CategoryType, EmailId, MatchField, MatchKind, RuleId, TransactionId, TransactionSource,
    TransactionType, UserId,
};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::money::{format_amount, format_decimal};
use crate::schema::{categories, rules, transactions};

/// A stored category.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct Category {
    pub id: CategoryId,
    pub user_id: UserId,
    pub name: String,
    pub kind: CategoryType,
    pub is_system: bool,
    pub created_at: DateTime<Utc>,
}

/// A category to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct NewCategory<'a> {
    pub id: CategoryId,
    pub user_id: UserId,
    pub name: &'a str,
    pub kind: CategoryType,
    pub is_system: bool,
}

/// A category as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryView {
    pub id: CategoryId,
    pub name: String,
    /// What the category may hold: `income`, `expense` or `both`.
    #[serde(rename = "type")]
    pub kind: CategoryType,
    /// Created at sign-up; cannot be deleted or changed.
    pub is_system: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Category> for CategoryView {
    fn from(c: Category) -> Self {
        Self { id: c.id, name: c.name, kind: c.kind, is_system: c.is_system, created_at: c.created_at }
    }
}

/// A stored transaction.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = transactions, check_for_backend(diesel::pg::Pg))]
pub struct Transaction {
    pub id: TransactionId,
    pub user_id: UserId,
    pub amount: Decimal,
    pub currency: String,
    pub kind: TransactionType,
    pub occurred_at: DateTime<Utc>,
    pub category_id: Option<CategoryId>,
    pub category_by_user: bool,
    pub merchant: Option<String>,
    pub notes: Option<String>,
    pub account_hint: Option<String>,
    pub source: TransactionSource,
    pub external_id: Option<String>,
    pub email_id: Option<EmailId>,
    pub confidence: Option<Decimal>,
    pub needs_review: bool,
    pub user_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A transaction to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = transactions, check_for_backend(diesel::pg::Pg))]
pub struct NewTransaction {
    pub id: TransactionId,
    pub user_id: UserId,
    pub amount: Decimal,
    pub currency: String,
    pub kind: TransactionType,
    pub occurred_at: DateTime<Utc>,
    pub category_id: Option<CategoryId>,
    pub category_by_user: bool,
    pub merchant: Option<String>,
    pub notes: Option<String>,
    pub account_hint: Option<String>,
    pub source: TransactionSource,
    pub external_id: Option<String>,
    pub email_id: Option<EmailId>,
    pub confidence: Option<Decimal>,
    pub needs_review: bool,
}

/// A transaction as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransactionView {
    pub id: TransactionId,
    /// Positive, written with the currency's minor digits (`"12.50"`, `"3240"`).
    #[schema(example = "12.50")]
    pub amount: String,
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub currency: String,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub occurred_at: DateTime<Utc>,
    pub category_id: Option<CategoryId>,
    pub merchant: Option<String>,
    pub notes: Option<String>,
    pub account_hint: Option<String>,
    pub source: TransactionSource,
    /// `<email_id>#<n>` for mail, a content hash for CSV rows, null for manual entries.
    pub external_id: Option<String>,
    pub email_id: Option<EmailId>,
    /// The extractor's confidence, from 0 to 1, as a decimal string.
    #[schema(example = "0.95")]
    pub confidence: Option<String>,
    pub needs_review: bool,
    pub user_edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Transaction> for TransactionView {
    fn from(t: Transaction) -> Self {
        Self {
            id: t.id,
            amount: format_amount(t.amount, &t.currency),
            currency: t.currency,
            kind: t.kind,
            occurred_at: t.occurred_at,
            category_id: t.category_id,
            merchant: t.merchant,
            notes: t.notes,
            account_hint: t.account_hint,
            source: t.source,
            external_id: t.external_id,
            email_id: t.email_id,
            confidence: t.confidence.map(format_decimal),
            needs_review: t.needs_review,
            user_edited: t.user_edited,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A stored categorisation rule.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = rules, check_for_backend(diesel::pg::Pg))]
pub struct Rule {
    pub id: RuleId,
    pub user_id: UserId,
    pub name: String,
    pub match_field: MatchField,
    pub match_kind: MatchKind,
    pub pattern: String,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A rule to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = rules, check_for_backend(diesel::pg::Pg))]
pub struct NewRule {
    pub id: RuleId,
    pub user_id: UserId,
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

/// A rule as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub id: RuleId,
    pub name: String,
    pub match_field: MatchField,
    pub match_kind: MatchKind,
    pub pattern: String,
    /// Inclusive lower bound on the amount, as a decimal string.
    pub min_amount: Option<String>,
    /// Inclusive upper bound on the amount, as a decimal string.
    pub max_amount: Option<String>,
    /// Only transactions of this direction match.
    #[serde(rename = "type")]
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    /// Rules are tried in ascending priority (1 before 10); the first match wins.
    pub priority: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Rule> for RuleView {
    fn from(r: Rule) -> Self {
        Self {
            id: r.id,
            name: r.name,
            match_field: r.match_field,
            match_kind: r.match_kind,
            pattern: r.pattern,
            min_amount: r.min_amount.map(format_decimal),
            max_amount: r.max_amount.map(format_decimal),
            kind: r.kind,
            category_id: r.category_id,
            priority: r.priority,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Every list answers `{items, next_cursor}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
