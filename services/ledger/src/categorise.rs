//! Categorisation: the user's rules, then the extractor's category hint.
//!
//! Rules are compiled once per operation (a booking batch, an import, an apply), never per
//! transaction; a regex is compiled with a size limit so a pathological pattern is refused when
//! the rule is saved instead of eating memory later. Every match ignores case. Rules are tried in
//! ascending priority (then oldest first), and the first rule that matches wins; a rule whose
//! category cannot hold the transaction's direction is passed over.

use std::collections::HashMap;

use penny_contract::{CategoryId, CategoryType, MatchField, MatchKind, TransactionType};
use regex::{Regex, RegexBuilder};
use rust_decimal::Decimal;

use crate::models::Rule;

/// The largest compiled program a rule's regex may need, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// The largest lazy DFA a rule's regex may build, in bytes.
pub const REGEX_DFA_LIMIT: usize = 1024 * 1024;

/// How a compiled rule tests its field.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The field contains the pattern (both lower-cased).
    Contains(String),
    /// The field, trimmed, equals the pattern (both lower-cased).
    Equals(String),
    /// The regex matches somewhere in the field (case-insensitive).
    Regex(Regex),
}

impl Matcher {
    /// Compiles a pattern; the error says why it is unusable.
    pub fn compile(kind: MatchKind, pattern: &str) -> Result<Self, String> {
        Ok(match kind {
            MatchKind::Contains => Matcher::Contains(pattern.trim().to_lowercase()),
            MatchKind::Equals => Matcher::Equals(pattern.trim().to_lowercase()),
            MatchKind::Regex => Matcher::Regex(
                RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_DFA_LIMIT)
                    .build()
                    .map_err(|e| match e {
                        regex::Error::CompiledTooBig(_) => "the regex is too complex".to_owned(),
                        other => format!("not a valid regex: {other}"),
                    })?,
            ),
        })
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Contains(needle) => text.to_lowercase().contains(needle.as_str()),
            Matcher::Equals(expected) => text.trim().to_lowercase() == *expected,
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

/// One rule, ready to test transactions.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: penny_contract::RuleId,
    pub field: MatchField,
    pub matcher: Matcher,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    /// What the rule's category may hold.
    pub category_type: CategoryType,
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub merchant: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub amount: Decimal,
    pub kind: TransactionType,
}

impl CompiledRule {
    /// Compiles a stored rule whose category has type `category_type`.
    pub fn new(rule: &Rule, category_type: CategoryType) -> Result<Self, String> {
        Ok(Self {
            id: rule.id,
            field: rule.match_field,
            matcher: Matcher::compile(rule.match_kind, &rule.pattern)?,
            min_amount: rule.min_amount,
            max_amount: rule.max_amount,
            kind: rule.kind,
            category_id: rule.category_id,
            category_type,
        })
    }

    /// Whether the rule matches the transaction.
    pub fn matches(&self, tx: &Candidate<'_>) -> bool {
        if self.kind.is_some_and(|kind| kind != tx.kind) || !self.category_type.accepts(tx.kind) {
            return false;
        }
        if self.min_amount.is_some_and(|min| tx.amount < min)
            || self.max_amount.is_some_and(|max| tx.amount > max)
        {
            return false;
        }
        let text = match self.field {
            MatchField::Merchant => tx.merchant,
            MatchField::Notes => tx.notes,
        };
        text.is_some_and(|text| self.matcher.matches(text))
    }
}

/// A user's rules in the order they are tried.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

impl RuleSet {
    /// Rules already sorted by priority.
    pub fn new(rules: Vec<CompiledRule>) -> Self {
        Self { rules }
    }

    /// The category of the first matching rule.
    pub fn categorise(&self, tx: &Candidate<'_>) -> Option<CategoryId> {
        self.rules.iter().find(|rule| rule.matches(tx)).map(|rule| rule.category_id)
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A user's categories by lower-cased name, for CSV columns and extractor hints.
#[derive(Debug, Clone, Default)]
pub struct CategoryNames {
    by_name: HashMap<String, (CategoryId, CategoryType)>,
}

impl CategoryNames {
    /// Indexes `(id, name, type)` triples.
    pub fn new(categories: impl IntoIterator<Item = (CategoryId, String, CategoryType)>) -> Self {
        Self {
            by_name: categories
                .into_iter()
                .map(|(id, name, kind)| (name.trim().to_lowercase(), (id, kind)))
                .collect(),
        }
    }

    /// The category of that name (any case), if it can hold a transaction of `kind`.
    pub fn find(&self, name: &str, kind: TransactionType) -> Option<CategoryId> {
        self.by_name
            .get(&name.trim().to_lowercase())
            .filter(|(_, category_type)| category_type.accepts(kind))
            .map(|(id, _)| *id)
    }

    /// The category of that name (any case) and its type.
    pub fn lookup(&self, name: &str) -> Option<(CategoryId, CategoryType)> {
        self.by_name.get(&name.trim().to_lowercase()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use penny_contract::RuleId;

    fn rule(field: MatchField, kind: MatchKind, pattern: &str, category: CategoryId) -> CompiledRule {
        CompiledRule {
            id: RuleId::new(),
            field,
            matcher: Matcher::compile(kind, pattern).unwrap(),
            min_amount: None,
            max_amount: None,
            kind: None,
            category_id: category,
            category_type: CategoryType::Expense,
        }
    }

    fn tx<'a>(merchant: &'a str, amount: i64) -> Candidate<'a> {
        Candidate {
            merchant: Some(merchant),
            notes: None,
            amount: Decimal::from(amount),
            kind: TransactionType::Expense,
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let coffee = CategoryId::new();
        let food = CategoryId::new();
        let set = RuleSet::new(vec![
            rule(MatchField::Merchant, MatchKind::Equals, "Starbucks", coffee),
            rule(MatchField::Merchant, MatchKind::Contains, "star", food),
        ]);
        assert_eq!(set.categorise(&tx("  STARBUCKS ", 5)), Some(coffee));
        assert_eq!(set.categorise(&tx("Starbucks Reserve", 5)), Some(food));
        assert_eq!(set.categorise(&tx("Lidl", 5)), None);
    }

    #[test]
    fn ranges_types_and_regexes_narrow_a_rule() {
        let category = CategoryId::new();
        let mut big = rule(MatchField::Merchant, MatchKind::Regex, r"^uber\s*(eats)?$", category);
        big.min_amount = Some(Decimal::from(10));
        big.max_amount = Some(Decimal::from(20));
        assert!(big.matches(&tx("Uber Eats", 15)));
        assert!(big.matches(&tx("UBER", 10)));
        assert!(!big.matches(&tx("Uber", 21)));
        assert!(!big.matches(&tx("Uber Technologies", 15)));
        let income = Candidate { kind: TransactionType::Income, ..tx("Uber", 15) };
        assert!(!big.matches(&income), "an expense category cannot hold income");
    }

    #[test]
    fn oversized_or_invalid_regexes_are_refused() {
        assert!(Matcher::compile(MatchKind::Regex, "(").is_err());
        let huge = r"\w{1000}";
        let error = Matcher::compile(MatchKind::Regex, huge).unwrap_err();
        assert!(error.contains("too complex") || error.contains("regex"), "{error}");
    }

    #[test]
    fn category_names_ignore_case_and_respect_type() {
        let groceries = CategoryId::new();
        let names = CategoryNames::new([(groceries, "Groceries".to_owned(), CategoryType::Expense)]);
        assert_eq!(names.find("groceries", TransactionType::Expense), Some(groceries));
        assert_eq!(names.find("GROCERIES ", TransactionType::Income), None);
        assert_eq!(names.find("Dining", TransactionType::Expense), None);
    }
}
