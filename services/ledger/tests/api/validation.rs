use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// Every bad value answers 400 and names its field; nothing is stored.
#[tokio::test]
async fn bad_money_and_dates_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let user = app.user().await;
    let valid = json!({"amount": "12.50", "currency": "USD", "type": "expense", "occurred_at": "2026-01-15"});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("amount", json!("0"), "zero"),
        ("amount", json!("0.00"), "zero with decimals"),
        ("amount", json!("-5"), "negative"),
        ("amount", json!("12.345"), "too many decimals for USD"),
        ("amount", json!("100000000000000"), "out of range"),
        ("amount", json!("1e3"), "exponent"),
        ("amount", json!("1,000"), "grouping"),
        ("amount", json!(12.5), "a JSON number"),
        ("amount", json!(12), "a JSON integer"),
        ("amount", Value::Null, "null"),
        ("currency", json!("ABC"), "unknown currency"),
        ("currency", json!("usd"), "lower case"),
        ("currency", json!("XAU"), "no minor unit"),
        ("currency", json!(840), "a number"),
        ("occurred_at", json!("2026-02-30"), "impossible date"),
        ("occurred_at", json!("2025-02-29"), "not a leap year"),
        ("occurred_at", json!("2026-01-15T25:00:00Z"), "impossible time"),
        ("occurred_at", json!("0001-01-01"), "year out of range"),
        ("occurred_at", json!("15/01/2026"), "another format"),
        ("occurred_at", json!(1760000000), "a number"),
        ("type", json!("transfer"), "unknown type"),
        ("category_id", json!("not-a-uuid"), "malformed id"),
        ("merchant", json!(5), "a number"),
    ];
    for (field, value, why) in cases {
        let mut body = valid.clone();
        body[field] = value;
        let response = app.post(&user, "/v1/transactions", body).await;
        assert_eq!(response.status(), 400, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed", "{why}");
        assert!(body["error"]["fields"][field].is_string(), "{why}: {body}");
    }
    // JPY has no decimals; KWD three; CLF four.
    let jpy = json!({"amount": "1.5", "currency": "JPY", "type": "expense", "occurred_at": "2026-01-15"});
    assert_eq!(app.post(&user, "/v1/transactions", jpy).await.status(), 400);
    let clf = json!({"amount": "0.0001", "currency": "CLF", "type": "expense", "occurred_at": "2026-01-15"});
    assert_eq!(app.transaction(&user, clf).await["amount"], "0.0001");
    // Missing fields are named too.
    let body = app.post_json(&user, "/v1/transactions", json!({"currency": "USD"}), 400).await;
    assert!(body["error"]["fields"]["amount"].is_string(), "{body}");
    // Malformed JSON and other content types.
    let raw = app
        .client
        .post(app.url("/v1/transactions"))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{\"amount\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let page = app.get_json(&user, "/v1/transactions").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "only the valid CLF row was stored");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any amount with at most the currency's minor digits is accepted and written back with
    /// exactly those digits; one more digit is refused.
    #[test]
    fn amounts_round_trip_with_the_currency_digits(
        units in 1_u64..100_000_000_000_000,
        fraction in 0_u32..10_000,
        currency in prop::sample::select(vec!["USD", "JPY", "KWD", "CLF", "EUR"]),
    ) {
        let digits = penny_contract::Currency::parse(currency).unwrap().minor_digits();
        let fraction = fraction % 10_u32.pow(digits);
        let text = if digits == 0 { units.to_string() } else { format!("{units}.{fraction:0width$}", width = digits as usize) };
        let money = penny_contract::Money::parse(&text, currency).unwrap();
        let written = penny_ledger::money::format_amount(money.amount(), currency);
        prop_assert_eq!(&written, &text);
        let too_precise = format!("{units}.{}1", "0".repeat(digits as usize));
        prop_assert!(penny_contract::Money::parse(&too_precise, currency).is_err());
    }
}
