//! Penny's demo mailbox (`demo/mailbox.mbox`, written by `demo/make_mailbox.py`) must be read
//! exactly as `demo/expected.json` says. Unlike the development corpus (`tests/corpus.rs`), the
//! demo is part of the repository, so this test needs nothing from outside it.
//!
//! Each message goes through the same path as imported mail: the mbox is split (mboxrd, as
//! `services/mail-ingest` reads it), each message is decoded by `penny-mailtext`, and the engine
//! runs on the decoded subject, sender, date and text. Every email is checked for whether it is
//! a transaction; every transaction for amount (by value), currency, type, date (in the
//! sender's offset) and last four digits, and for the merchant (case-insensitively) where the
//! expected results give one. All differences are reported at once.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use penny_rules::{Email, Extraction, extract};
use rust_decimal::Decimal;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Expected {
    emails: Vec<ExpectedEmail>,
}

#[derive(Debug, Deserialize)]
struct ExpectedEmail {
    message_id: String,
    is_transaction: bool,
    transactions: Vec<ExpectedTransaction>,
}

#[derive(Debug, Deserialize)]
struct ExpectedTransaction {
    amount: String,
    currency: String,
    #[serde(rename = "type")]
    kind: String,
    merchant: Option<String>,
    occurred_on: String,
    account_last4: Option<String>,
}

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../demo")
}

/// Splits an mboxrd file into raw messages: a `From ` line at the start of the file or after an
/// empty line begins a message and is not part of it, `>From ` (with any number of `>`) loses
/// one `>`, and the empty line before a separator belongs to the file, not the message.
fn split_mbox(raw: &[u8]) -> Vec<Vec<u8>> {
    fn finish(mut message: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        if message.ends_with(b"\n\n") {
            message.pop();
        }
        out.push(message);
    }
    let mut out = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut after_blank = true;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if after_blank && content.starts_with(b"From ") {
            if let Some(message) = current.replace(Vec::new()) {
                finish(message, &mut out);
            }
            after_blank = false;
            continue;
        }
        let quotes = content.iter().take_while(|&&b| b == b'>').count();
        let line = if quotes > 0 && content[quotes..].starts_with(b"From ") { &line[1..] } else { line };
        current.get_or_insert_with(Vec::new).extend_from_slice(line);
        after_blank = content.is_empty();
    }
    if let Some(message) = current {
        finish(message, &mut out);
    }
    out
}

#[test]
fn the_mbox_reader_unescapes_from_lines() {
    let mbox = b"From a@x.example Thu Oct  1 00:00:00 2026\nSubject: one\n\n>From here\n>>From there\n\nFrom b@x.example Thu Oct  1 00:00:00 2026\nSubject: two\n\nbody\n\n";
    let messages = split_mbox(mbox);
    assert_eq!(
        messages,
        vec![b"Subject: one\n\nFrom here\n>From there\n".to_vec(), b"Subject: two\n\nbody\n".to_vec()]
    );
}

#[test]
fn the_demo_mailbox_is_read_as_expected() {
    let dir = demo_dir();
    let mbox = std::fs::read(dir.join("mailbox.mbox"))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join("mailbox.mbox").display()));
    let expected: Expected = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json"))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join("expected.json").display())),
    )
    .unwrap_or_else(|e| panic!("expected.json: {e}"));

    let messages = split_mbox(&mbox);
    assert!(messages.len() >= 30, "the demo mailbox has only {} messages", messages.len());
    let mut by_id: HashMap<&str, &ExpectedEmail> = HashMap::new();
    for row in &expected.emails {
        assert!(by_id.insert(&row.message_id, row).is_none(), "expected.json lists {} twice", row.message_id);
    }

    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    let mut transactions = 0;
    for (i, raw) in messages.iter().enumerate() {
        let parsed = penny_mailtext::parse_message(raw)
            .unwrap_or_else(|e| panic!("message {} does not parse: {e}", i + 1));
        let Some(id) = parsed.message_id.clone() else {
            panic!("message {} has no Message-ID", i + 1);
        };
        assert!(id.ends_with("@demo.penny.example"), "{id}: not a demo Message-ID");
        assert!(seen.insert(id.clone()), "{id}: Message-ID used twice in mailbox.mbox");
        let Some(want) = by_id.get(id.as_str()) else {
            panic!("{id} is not in expected.json");
        };
        let Some(received_at) = parsed.date_local else {
            panic!("{id}: no valid Date header");
        };
        assert!(!parsed.text.trim().is_empty(), "{id}: no text decoded");

        let email = Email { subject: &parsed.subject, from: &parsed.from, received_at, body: &parsed.text };
        let (is_transaction, got, outcome) = match extract(&email) {
            Extraction::Transactions(txs) => {
                let outcome = format!("{} transaction(s)", txs.len());
                (true, txs, outcome)
            }
            Extraction::Skipped(reason) => (false, Vec::new(), format!("skipped ({})", reason.as_str())),
        };
        let mut problem = |field: &str, expected: String, got: String| {
            problems.push(format!("{id} [{}]: {field}: expected {expected}, got {got}", parsed.subject));
        };
        if is_transaction != want.is_transaction {
            problem("is_transaction", want.is_transaction.to_string(), outcome);
            continue;
        }
        if got.len() != want.transactions.len() {
            problem("transactions", want.transactions.len().to_string(), got.len().to_string());
        }
        transactions += want.transactions.len();
        let offset = *received_at.offset();
        for (exp, tx) in want.transactions.iter().zip(&got) {
            let amount: Decimal = exp
                .amount
                .parse()
                .unwrap_or_else(|e| panic!("{id}: expected amount {:?} is not a decimal: {e}", exp.amount));
            if tx.money.amount() != amount {
                problem("amount", exp.amount.clone(), tx.money.amount_string());
            }
            if tx.money.currency().code() != exp.currency {
                problem("currency", exp.currency.clone(), tx.money.currency().code().to_owned());
            }
            if tx.kind.to_string() != exp.kind {
                problem("type", exp.kind.clone(), tx.kind.to_string());
            }
            let date = tx.occurred_at.with_timezone(&offset).date_naive().to_string();
            if date != exp.occurred_on {
                problem("occurred_on", exp.occurred_on.clone(), date);
            }
            if tx.account_hint != exp.account_last4 {
                problem(
                    "account_last4",
                    format!("{:?}", exp.account_last4),
                    format!("{:?}", tx.account_hint),
                );
            }
            if let Some(merchant) = &exp.merchant {
                let got = tx.merchant.as_deref().map(|m| m.trim().to_lowercase());
                if got.as_deref() != Some(merchant.trim().to_lowercase().as_str()) {
                    problem("merchant", format!("{merchant:?}"), format!("{:?}", tx.merchant));
                }
            }
        }
    }
    let missing: Vec<&&str> = by_id.keys().filter(|id| !seen.contains(**id)).collect();
    assert!(missing.is_empty(), "expected.json lists emails that mailbox.mbox lacks: {missing:?}");
    assert!(
        problems.is_empty(),
        "{} difference(s) from demo/expected.json ({} emails, {transactions} transactions):\n  {}",
        problems.len(),
        messages.len(),
        problems.join("\n  ")
    );
}
