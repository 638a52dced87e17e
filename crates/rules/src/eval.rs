//! Scoring the rules against a labelled corpus (a folder with `emails/*.eml` and
//! `expected.jsonl`), shared by the corpus test and the `eval` example.
//!
//! Each expected transaction is compared with the extracted one at the same position, field by
//! field: amount by value, currency, direction, date (the transaction's date in the email's own
//! offset), last four digits, and merchant case-insensitively after trimming.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use penny_contract::TransactionType;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::{Email, Extraction, extract};

/// One row of `expected.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedRow {
    /// The .eml file name under `emails/`.
    pub file: String,
    /// Whether the email states a transaction.
    pub is_transaction: bool,
    /// The transactions, in order.
    pub transactions: Vec<ExpectedTransaction>,
}

/// One expected transaction.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedTransaction {
    /// A plain decimal string.
    pub amount: String,
    /// ISO 4217.
    pub currency: String,
    /// `expense` or `income`.
    pub direction: String,
    /// As a person would write it.
    pub merchant: Option<String>,
    /// `YYYY-MM-DD`.
    pub occurred_on: String,
    /// The account's last four digits.
    pub account_last4: Option<String>,
}

/// The fields scored, in report order.
pub const FIELDS: [&str; 7] =
    ["is_transaction", "amount", "currency", "direction", "date", "last4", "merchant"];

/// One wrong field.
#[derive(Debug, Clone)]
pub struct Miss {
    /// The .eml file.
    pub file: String,
    /// One of [`FIELDS`].
    pub field: &'static str,
    /// What the corpus says.
    pub expected: String,
    /// What the rules said.
    pub got: String,
}

/// Per-field hits and totals, and every miss.
#[derive(Debug, Clone, Default)]
pub struct Report {
    hits: [usize; FIELDS.len()],
    totals: [usize; FIELDS.len()],
    /// Every wrong field, in corpus order.
    pub misses: Vec<Miss>,
    /// Emails processed.
    pub emails: usize,
}

impl Report {
    /// The share of `field` that was right, from 0 to 1 (1 when nothing was scored).
    pub fn accuracy(&self, field: &str) -> f64 {
        let Some(i) = FIELDS.iter().position(|f| *f == field) else { return 0.0 };
        if self.totals[i] == 0 { 1.0 } else { self.hits[i] as f64 / self.totals[i] as f64 }
    }

    /// Hits and total of `field`.
    pub fn counts(&self, field: &str) -> (usize, usize) {
        FIELDS.iter().position(|f| *f == field).map_or((0, 0), |i| (self.hits[i], self.totals[i]))
    }

    fn score(&mut self, file: &str, field: &'static str, expected: String, got: String, hit: bool) {
        let Some(i) = FIELDS.iter().position(|f| *f == field) else { return };
        self.totals[i] += 1;
        if hit {
            self.hits[i] += 1;
        } else {
            self.misses.push(Miss { file: file.to_owned(), field, expected, got });
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} emails", self.emails)?;
        for field in FIELDS {
            let (hits, total) = self.counts(field);
            writeln!(f, "{field:<15} {:>6.1}%  ({hits}/{total})", 100.0 * self.accuracy(field))?;
        }
        if !self.misses.is_empty() {
            writeln!(f, "\nmisses:")?;
            for m in &self.misses {
                writeln!(f, "  {:<48} {:<14} expected {:?}, got {:?}", m.file, m.field, m.expected, m.got)?;
            }
        }
        Ok(())
    }
}

/// A parsed corpus email, ready for the engine.
#[derive(Debug, Clone)]
pub struct CorpusEmail {
    /// The .eml file name.
    pub file: String,
    /// The decoded subject.
    pub subject: String,
    /// The decoded sender.
    pub from: String,
    /// The Date header with its offset (the Unix epoch when missing).
    pub received_at: DateTime<FixedOffset>,
    /// The text body.
    pub body: String,
}

impl CorpusEmail {
    /// The engine's view of this email.
    pub fn email(&self) -> Email<'_> {
        Email { subject: &self.subject, from: &self.from, received_at: self.received_at, body: &self.body }
    }
}

/// Reads `expected.jsonl` and parses every listed .eml through `penny-mailtext`.
pub fn load(dir: &Path) -> Result<Vec<(ExpectedRow, CorpusEmail)>, String> {
    let expected = std::fs::read_to_string(dir.join("expected.jsonl"))
        .map_err(|e| format!("cannot read {}: {e}", dir.join("expected.jsonl").display()))?;
    let mut out = Vec::new();
    for (n, line) in expected.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row: ExpectedRow =
            serde_json::from_str(line).map_err(|e| format!("expected.jsonl line {}: {e}", n + 1))?;
        let path = dir.join("emails").join(&row.file);
        let raw = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let parsed = penny_mailtext::parse_message(&raw).map_err(|e| format!("{}: {e}", row.file))?;
        let email = CorpusEmail {
            file: row.file.clone(),
            subject: parsed.subject,
            from: parsed.from,
            received_at: parsed.date_local.unwrap_or(DateTime::UNIX_EPOCH.fixed_offset()),
            body: parsed.text,
        };
        out.push((row, email));
    }
    Ok(out)
}

/// Runs the engine on every email of the corpus in `dir` and scores it.
pub fn run(dir: &Path) -> Result<Report, String> {
    let corpus = load(dir)?;
    let mut report = Report::default();
    for (row, email) in &corpus {
        report.emails += 1;
        let outcome = extract(&email.email());
        let got = match &outcome {
            Extraction::Transactions(txs) => txs.as_slice(),
            Extraction::Skipped(_) => &[],
        };
        let is_tx = matches!(outcome, Extraction::Transactions(_));
        let outcome_text = match &outcome {
            Extraction::Transactions(txs) => format!("{} transaction(s)", txs.len()),
            Extraction::Skipped(reason) => format!("skipped: {}", reason.as_str()),
        };
        report.score(
            &row.file,
            "is_transaction",
            row.is_transaction.to_string(),
            outcome_text,
            is_tx == row.is_transaction,
        );
        let offset = *email.received_at.offset();
        for (i, exp) in row.transactions.iter().enumerate() {
            let tx = got.get(i);
            let amount_hit =
                tx.is_some_and(|t| exp.amount.parse::<Decimal>().is_ok_and(|a| a == t.money.amount()));
            let show = |f: &dyn Fn(&penny_contract::events::ExtractedTransaction) -> String| {
                tx.map_or_else(|| "-".to_owned(), f)
            };
            report.score(
                &row.file,
                "amount",
                exp.amount.clone(),
                show(&|t| t.money.amount_string()),
                amount_hit,
            );
            let currency = show(&|t| t.money.currency().code().to_owned());
            report.score(
                &row.file,
                "currency",
                exp.currency.clone(),
                currency.clone(),
                currency == exp.currency,
            );
            let direction = show(&|t| match t.kind {
                TransactionType::Income => "income".to_owned(),
                TransactionType::Expense => "expense".to_owned(),
            });
            report.score(
                &row.file,
                "direction",
                exp.direction.clone(),
                direction.clone(),
                direction == exp.direction,
            );
            let date = show(&|t| t.occurred_at.with_timezone(&offset).date_naive().to_string());
            report.score(&row.file, "date", exp.occurred_on.clone(), date.clone(), date == exp.occurred_on);
            let last4 = tx.and_then(|t| t.account_hint.clone());
            report.score(
                &row.file,
                "last4",
                format!("{:?}", exp.account_last4),
                format!("{last4:?}"),
                tx.is_some() && last4 == exp.account_last4,
            );
            let norm = |s: &Option<String>| s.as_deref().map(|s| s.trim().to_lowercase());
            let merchant = tx.and_then(|t| t.merchant.clone());
            report.score(
                &row.file,
                "merchant",
                format!("{:?}", exp.merchant),
                format!("{merchant:?}"),
                tx.is_some() && norm(&merchant) == norm(&exp.merchant),
            );
        }
    }
    Ok(report)
}
