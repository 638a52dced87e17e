//! The model's answer, checked again in Rust: the schema's shape (unknown fields refused) and
//! the values (positive amount within range and the currency's minor unit, an ISO currency, a
//! sane date, a known category, a confidence between 0 and 1). Anything off is an error, so an
//! invalid answer never becomes a transaction.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use penny_contract::events::ExtractedTransaction;
use penny_contract::{Money, TransactionType};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::prompt::CATEGORY_HINTS;

/// Exactly the schema of [`super::prompt::SCHEMA`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    is_transaction: bool,
    reason: Option<String>,
    transactions: Vec<ReplyTransaction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyTransaction {
    amount: String,
    currency: String,
    #[serde(rename = "type")]
    kind: String,
    merchant: Option<String>,
    occurred_at: String,
    account_hint: Option<String>,
    category_hint: Option<String>,
    confidence: f64,
}

/// What a valid answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The transactions, in the order given.
    Transactions(Vec<ExtractedTransaction>),
    /// Not a transaction, and why.
    NotATransaction(String),
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReply {
    #[error("the reply is not the expected JSON: {0}")]
    Json(String),
    #[error("transaction {index}: {reason}")]
    Value { index: usize, reason: String },
    #[error("the reply says it is a transaction but lists none")]
    Empty,
    #[error("the reply says it is not a transaction but lists some")]
    Contradiction,
    #[error("the reply lists more than {0} transactions")]
    TooMany(usize),
}

/// More than this in one email is not a believable answer.
const MAX_TRANSACTIONS: usize = 50;
const MAX_TEXT: usize = 200;

/// Parses and validates `content`; `received_at` bounds the dates (no more than a day after
/// the email, no more than ten years before it).
pub fn parse(content: &str, received_at: DateTime<Utc>) -> Result<Answer, InvalidReply> {
    let reply: Reply = serde_json::from_str(content).map_err(|e| InvalidReply::Json(e.to_string()))?;
    if reply.transactions.len() > MAX_TRANSACTIONS {
        return Err(InvalidReply::TooMany(MAX_TRANSACTIONS));
    }
    if !reply.is_transaction {
        if !reply.transactions.is_empty() {
            return Err(InvalidReply::Contradiction);
        }
        let reason = reply.reason.map(|r| clip(&r)).filter(|r| !r.is_empty());
        return Ok(Answer::NotATransaction(reason.unwrap_or_else(|| "not_a_transaction".into())));
    }
    if reply.transactions.is_empty() {
        return Err(InvalidReply::Empty);
    }
    let transactions = reply
        .transactions
        .into_iter()
        .enumerate()
        .map(|(index, t)| validate(t, received_at).map_err(|reason| InvalidReply::Value { index, reason }))
        .collect::<Result<_, _>>()?;
    Ok(Answer::Transactions(transactions))
}

fn validate(t: ReplyTransaction, received_at: DateTime<Utc>) -> Result<ExtractedTransaction, String> {
    let money = Money::parse(t.amount.trim(), t.currency.trim()).map_err(|e| e.to_string())?;
    let kind: TransactionType = t.kind.parse().map_err(|_| format!("unknown type {:?}", t.kind))?;
    let occurred_at = parse_date(&t.occurred_at, received_at)?;
    if occurred_at > received_at + Duration::days(1) || occurred_at < received_at - Duration::days(3_660) {
        return Err(format!("the date {} is not plausible for this email", t.occurred_at));
    }
    if !(0.0..=1.0).contains(&t.confidence) {
        return Err("confidence must be between 0 and 1".into());
    }
    let confidence = Decimal::from_f64_retain(t.confidence)
        .map(|c| c.round_dp(2))
        .ok_or_else(|| "confidence is not a number".to_owned())?;
    if let Some(hint) = &t.category_hint
        && !CATEGORY_HINTS.contains(&hint.as_str())
    {
        return Err(format!("unknown category {hint:?}"));
    }
    let account_hint = t.account_hint.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if let Some(hint) = &account_hint
        && (hint.len() > 8 || !hint.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("account_hint must be the last digits of an account".into());
    }
    Ok(ExtractedTransaction {
        money,
        kind,
        merchant: t.merchant.map(|m| clip(&m)).filter(|m| !m.is_empty()),
        occurred_at,
        account_hint,
        category_hint: t.category_hint,
        confidence,
    })
}

/// An RFC 3339 date-time, or a date (taken at the email's time of day, as the rules do).
fn parse_date(text: &str, received_at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let date =
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("unreadable date {text:?}"))?;
    let time: NaiveTime = received_at.time();
    Ok(date.and_time(time).and_utc())
}

fn clip(text: &str) -> String {
    text.trim().chars().take(MAX_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-20T10:00:00Z".parse().unwrap()
    }

    fn one(fields: &str) -> String {
        format!(
            r#"{{"is_transaction":true,"reason":null,"transactions":[{{"amount":"12.50","currency":"EUR","type":"expense","merchant":"Cafe","occurred_at":"2026-11-19","account_hint":"1234","category_hint":"Dining","confidence":0.9{fields}}}]}}"#
        )
    }

    #[test]
    fn a_good_answer_becomes_transactions() {
        let Answer::Transactions(txs) = parse(&one(""), at()).unwrap() else { panic!("transactions") };
        assert_eq!(txs[0].money.amount_string(), "12.50");
        assert_eq!(txs[0].occurred_at.to_rfc3339(), "2026-11-19T10:00:00+00:00");
        assert_eq!(txs[0].confidence, Decimal::new(90, 2));
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        assert!(matches!(parse(&one(r#","user_id":"someone-else""#), at()), Err(InvalidReply::Json(_))));
        for (from, to) in [
            (r#""12.50""#, r#""-3""#),
            (r#""12.50""#, r#""12.505""#),
            (r#""12.50""#, r#""1e3""#),
            (r#""EUR""#, r#""EURO""#),
            (r#""expense""#, r#""transfer""#),
            (r#""2026-11-19""#, r#""2031-01-01""#),
            (r#""2026-11-19""#, r#""yesterday""#),
            (r#""Dining""#, r#""Crypto""#),
            (r#""1234""#, r#""DE89 3704""#),
            ("0.9", "1.5"),
        ] {
            let reply = one("").replacen(from, to, 1);
            assert!(parse(&reply, at()).is_err(), "{to} must be refused");
        }
        assert!(parse("not json", at()).is_err());
        assert_eq!(
            parse(r#"{"is_transaction":true,"reason":null,"transactions":[]}"#, at()),
            Err(InvalidReply::Empty)
        );
    }

    #[test]
    fn not_a_transaction_keeps_its_reason() {
        let answer = parse(r#"{"is_transaction":false,"reason":"one-time code","transactions":[]}"#, at());
        assert_eq!(answer, Ok(Answer::NotATransaction("one-time code".into())));
    }
}
