//! Streaming CSV import: `date,amount,currency,type,category,merchant,notes`.
//!
//! The body is parsed chunk by chunk with `csv-core` as it arrives, so memory stays flat however
//! long the file is: at most one record and one batch of parsed rows are held, plus 20 bytes per
//! distinct row for the occurrence counts below.
//!
//! Each row's `external_id` is a hash of its (normalised) content plus its occurrence among
//! identical rows of the file (`csv:<hash>#<n>`), so importing the same file again adds nothing
//! while two identical rows in one file stay two transactions. Bad rows are reported with their
//! line number and skipped; the rest of the file is still imported.

use std::collections::HashMap;

use chrono::SecondsFormat;
use csv_core::{ReadRecordResult, Reader};
use penny_contract::{Money, TransactionId, TransactionSource, TransactionType, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::categorise::{Candidate, CategoryNames, RuleSet};
use crate::error::LedgerError;
use crate::models::NewTransaction;
use crate::time::parse_occurred_at;

/// Largest record (one CSV row), in bytes.
const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most fields in a record.
const MAX_FIELDS: usize = 256;
/// Most line errors reported; later ones are counted in `errors_omitted`.
pub const MAX_REPORTED_ERRORS: usize = 1_000;
/// Longest merchant, in characters.
pub const MAX_MERCHANT_CHARS: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 2_000;

/// A row that could not be imported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineError {
    /// The line of the file the row starts on (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportSummary {
    /// Rows booked as new transactions.
    pub imported: u64,
    /// Rows already imported before (same content and occurrence).
    pub skipped_duplicates: u64,
    /// Rows that were refused, with the reason (at most 1,000).
    pub errors: Vec<LineError>,
    /// Refused rows beyond those listed in `errors`.
    pub errors_omitted: u64,
}

/// Where each known column is.
#[derive(Debug, Clone, Copy)]
struct Columns {
    date: usize,
    amount: usize,
    currency: usize,
    kind: usize,
    category: Option<usize>,
    merchant: Option<usize>,
    notes: Option<usize>,
}

impl Columns {
    fn from_header(names: &[&str]) -> Result<Self, LedgerError> {
        let find = |wanted: &str| names.iter().position(|n| n.trim().eq_ignore_ascii_case(wanted));
        let required = ["date", "amount", "currency", "type"];
        let missing: Vec<&str> = required.iter().copied().filter(|n| find(n).is_none()).collect();
        match (find("date"), find("amount"), find("currency"), find("type")) {
            (Some(date), Some(amount), Some(currency), Some(kind)) => Ok(Self {
                date,
                amount,
                currency,
                kind,
                category: find("category"),
                merchant: find("merchant"),
                notes: find("notes"),
            }),
            _ => Err(LedgerError::bad_request(
                "invalid_csv",
                format!("the header row lacks the column(s): {}", missing.join(", ")),
            )),
        }
    }
}

/// Parses a CSV body fed in chunks and turns its rows into transactions to insert.
pub struct CsvImporter {
    user: UserId,
    names: CategoryNames,
    rules: RuleSet,
    reader: Reader,
    record: Vec<u8>,
    record_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    record_line: u64,
    columns: Option<Columns>,
    seen: HashMap<[u8; 16], u32>,
    pending: Vec<NewTransaction>,
    summary: ImportSummary,
}

impl CsvImporter {
    /// An importer for `user`'s file, categorising with their category names and rules.
    pub fn new(user: UserId, names: CategoryNames, rules: RuleSet) -> Self {
        Self {
            user,
            names,
            rules,
            reader: Reader::new(),
            record: vec![0; 1024],
            record_len: 0,
            ends: vec![0; 16],
            ends_len: 0,
            record_line: 1,
            columns: None,
            seen: HashMap::new(),
            pending: Vec::new(),
            summary: ImportSummary::default(),
        }
    }

    /// Parses every record the chunk completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), LedgerError> {
        let mut input = chunk;
        loop {
            let (result, read, written, ended) = self.reader.read_record(
                input,
                &mut self.record[self.record_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.record_len += written;
            self.ends_len += ended;
            match result {
                // The chunk is used up (or, at the end, nothing is left).
                ReadRecordResult::InputEmpty => return Ok(()),
                ReadRecordResult::OutputFull => {
                    if self.record.len() >= MAX_RECORD_BYTES {
                        return Err(LedgerError::bad_request(
                            "invalid_csv",
                            format!(
                                "line {}: a row is longer than {MAX_RECORD_BYTES} bytes",
                                self.record_line
                            ),
                        ));
                    }
                    let grown = (self.record.len() * 2).min(MAX_RECORD_BYTES);
                    self.record.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= MAX_FIELDS {
                        return Err(LedgerError::bad_request(
                            "invalid_csv",
                            format!("line {}: a row has more than {MAX_FIELDS} fields", self.record_line),
                        ));
                    }
                    let grown = (self.ends.len() * 2).min(MAX_FIELDS);
                    self.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    self.on_record()?;
                    self.record_len = 0;
                    self.ends_len = 0;
                    self.record_line = self.reader.line();
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    }

    /// Flushes the last record once the body has ended.
    pub fn finish(&mut self) -> Result<(), LedgerError> {
        self.feed(&[])?;
        if self.columns.is_none() {
            return Err(LedgerError::bad_request("invalid_csv", "the file has no header row"));
        }
        Ok(())
    }

    /// How many parsed rows wait to be inserted.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Takes the parsed rows waiting to be inserted.
    pub fn take_pending(&mut self) -> Vec<NewTransaction> {
        std::mem::take(&mut self.pending)
    }

    /// Counts the outcome of inserting `attempted` rows of which `inserted` were new.
    pub fn record_inserted(&mut self, attempted: usize, inserted: usize) {
        self.summary.imported += inserted as u64;
        self.summary.skipped_duplicates += attempted.saturating_sub(inserted) as u64;
    }

    /// The outcome so far.
    pub fn into_summary(self) -> ImportSummary {
        self.summary
    }

    fn on_record(&mut self) -> Result<(), LedgerError> {
        let line = self.record_line;
        let record = &self.record[..self.record_len];
        let ends = &self.ends[..self.ends_len];
        let mut fields: Vec<&str> = Vec::with_capacity(ends.len());
        let mut start = 0;
        let mut utf8 = true;
        for &end in ends {
            match std::str::from_utf8(&record[start..end]) {
                Ok(field) => fields.push(field),
                Err(_) => utf8 = false,
            }
            start = end;
        }
        let Some(columns) = self.columns else {
            if !utf8 {
                return Err(LedgerError::bad_request("invalid_csv", "the header row is not UTF-8"));
            }
            self.columns = Some(Columns::from_header(&fields)?);
            return Ok(());
        };
        if fields.iter().all(|f| f.trim().is_empty()) && utf8 {
            return Ok(());
        }
        let parsed =
            if utf8 { parse_row(&columns, &fields) } else { Err("the row is not valid UTF-8".into()) };
        match parsed {
            Ok(row) => {
                let transaction = self.transaction_of(row);
                self.pending.push(transaction);
            }
            Err(message) => {
                if self.summary.errors.len() < MAX_REPORTED_ERRORS {
                    self.summary.errors.push(LineError { line, message });
                } else {
                    self.summary.errors_omitted += 1;
                }
            }
        }
        Ok(())
    }

    fn transaction_of(&mut self, row: Row) -> NewTransaction {
        let digest = row.digest();
        let occurrence = self.seen.entry(digest).or_insert(0);
        let external_id = format!("csv:{}#{}", hex::encode(digest), *occurrence);
        *occurrence += 1;
        let chosen = row.category.as_deref().and_then(|name| self.names.find(name, row.kind));
        let category = chosen.or_else(|| {
            self.rules.categorise(&Candidate {
                merchant: row.merchant.as_deref(),
                notes: row.notes.as_deref(),
                amount: row.money.amount(),
                kind: row.kind,
            })
        });
        NewTransaction {
            id: TransactionId::new(),
            user_id: self.user,
            amount: row.money.amount(),
            currency: row.money.currency().code().to_owned(),
            kind: row.kind,
            occurred_at: row.occurred_at,
            category_id: category,
            category_by_user: chosen.is_some(),
            merchant: row.merchant,
            notes: row.notes,
            account_hint: None,
            source: TransactionSource::Import,
            external_id: Some(external_id),
            email_id: None,
            confidence: None,
            needs_review: false,
        }
    }
}

/// One valid row.
struct Row {
    occurred_at: chrono::DateTime<chrono::Utc>,
    money: Money,
    kind: TransactionType,
    category: Option<String>,
    merchant: Option<String>,
    notes: Option<String>,
}

impl Row {
    /// The first 16 bytes of a SHA-256 over the normalised content.
    fn digest(&self) -> [u8; 16] {
        let mut hasher = Sha256::new();
        let parts = [
            self.occurred_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            self.money.amount().normalize().to_string(),
            self.money.currency().code().to_owned(),
            self.kind.as_ref().to_owned(),
            self.category.as_deref().unwrap_or_default().to_lowercase(),
            self.merchant.clone().unwrap_or_default(),
            self.notes.clone().unwrap_or_default(),
        ];
        for part in parts {
            hasher.update(part.as_bytes());
            hasher.update([0x1f]);
        }
        let hash = hasher.finalize();
        let mut digest = [0_u8; 16];
        digest.copy_from_slice(&hash[..16]);
        digest
    }
}

fn parse_row(columns: &Columns, fields: &[&str]) -> Result<Row, String> {
    let get = |i: usize| fields.get(i).map(|f| f.trim()).unwrap_or_default();
    let optional = |i: Option<usize>, max: usize, name: &str| -> Result<Option<String>, String> {
        let value = i.map(get).unwrap_or_default();
        if value.chars().count() > max {
            return Err(format!("{name}: at most {max} characters"));
        }
        Ok((!value.is_empty()).then(|| value.to_owned()))
    };
    let occurred_at = parse_occurred_at(get(columns.date)).map_err(|e| format!("date: {e}"))?;
    let currency = get(columns.currency).to_ascii_uppercase();
    let money = Money::parse(get(columns.amount), &currency).map_err(|e| format!("{}: {e}", e.field()))?;
    let kind = match get(columns.kind).to_ascii_lowercase().as_str() {
        "income" => TransactionType::Income,
        "expense" => TransactionType::Expense,
        other => {
            return Err(format!(
                "type: `{}` is neither income nor expense",
                other.chars().take(20).collect::<String>()
            ));
        }
    };
    Ok(Row {
        occurred_at,
        money,
        kind,
        category: optional(columns.category, 100, "category")?,
        merchant: optional(columns.merchant, MAX_MERCHANT_CHARS, "merchant")?,
        notes: optional(columns.notes, MAX_NOTES_CHARS, "notes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(chunks: &[&[u8]]) -> (CsvImporter, Result<(), LedgerError>) {
        let mut importer = CsvImporter::new(UserId::new(), CategoryNames::default(), RuleSet::default());
        let mut result = Ok(());
        for chunk in chunks {
            result = result.and_then(|_| importer.feed(chunk));
        }
        let result = result.and_then(|_| importer.finish());
        (importer, result)
    }

    #[test]
    fn rows_split_across_chunks_parse_and_bad_rows_name_their_line() {
        let body = b"date,amount,currency,type,category,merchant,notes\n\
            2026-01-05,12.50,USD,expense,,Cafe,\"a, b\"\n\
            2026-02-30,1,USD,expense,,,\n\
            2026-01-06,12.345,USD,expense,,,\n\
            2026-01-07,5,XXQ,income,,,\n\
            2026-01-05,12.50,USD,expense,,Cafe,\"a, b\"\n\
            2026-01-08,7,JPY,income,,,";
        let (a, b) = body.split_at(70);
        let (mut importer, result) = import(&[a, b]);
        result.unwrap();
        let rows = importer.take_pending();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].notes.as_deref(), Some("a, b"));
        let ids: Vec<_> = rows.iter().map(|r| r.external_id.clone().unwrap()).collect();
        assert!(ids[0].ends_with("#0") && ids[1].ends_with("#1"), "{ids:?}");
        assert_eq!(ids[0].split('#').next(), ids[1].split('#').next());
        let summary = importer.into_summary();
        let lines: Vec<u64> = summary.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(summary.errors[0].message.starts_with("date"));
        assert!(summary.errors[1].message.starts_with("amount"));
        assert!(summary.errors[2].message.starts_with("currency"));
    }

    #[test]
    fn a_header_without_the_required_columns_is_refused() {
        let (_, result) = import(&[b"when,amount\n2026-01-01,5\n"]);
        assert!(matches!(result, Err(LedgerError::BadRequest { code: "invalid_csv", .. })));
        let (_, result) = import(&[b""]);
        assert!(result.is_err());
    }
}
