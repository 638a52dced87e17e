//! Money helpers around the contract's [`Money`]: writing stored amounts with their currency's
//! minor digits, and parsing the currency-less amounts of filters and rules.

use penny_contract::{Currency, Money, MoneyError};
use rust_decimal::Decimal;

/// The most decimals a stored amount has (`NUMERIC(18,4)`).
const STORED_DIGITS: u32 = 4;

/// Writes a stored amount with exactly its currency's minor digits (`"12.50"`, `"3240"`); a
/// negative value (a report's net) keeps its sign.
pub fn format_amount(amount: Decimal, currency: &str) -> String {
    let digits = Currency::parse(currency).map(|c| c.minor_digits()).unwrap_or(STORED_DIGITS);
    let mut amount = amount;
    amount.rescale(digits);
    amount.to_string()
}

/// Writes a decimal without trailing zeros (`"0.95"`).
pub fn format_decimal(value: Decimal) -> String {
    value.normalize().to_string()
}

/// Parses an amount that has no currency of its own (a filter bound or a rule's range): a plain
/// positive decimal with at most four decimals, below [`Money::MAX_EXCLUSIVE`].
pub fn parse_bound(text: &str) -> Result<Decimal, String> {
    // The four-decimal unit of account CLF gives exactly the storage precision.
    let clf = Currency::parse("CLF").map_err(|e| e.to_string())?;
    match Money::parse(text, clf.code()) {
        Ok(money) => Ok(money.amount()),
        Err(MoneyError::TooManyDecimals { .. }) => Err("at most 4 decimal places".into()),
        Err(MoneyError::NotADecimal(_)) => Err("expected a decimal string such as \"12.50\"".into()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_amounts_are_written_with_minor_digits() {
        let cases = [
            (Decimal::new(125_000, 4), "USD", "12.50"),
            (Decimal::new(32_400_000, 4), "JPY", "3240"),
            (Decimal::new(12_500, 4), "KWD", "1.250"),
            (Decimal::new(1, 4), "CLF", "0.0001"),
            (Decimal::new(-125, 2), "EUR", "-1.25"),
            (Decimal::ZERO, "USD", "0.00"),
        ];
        for (amount, currency, written) in cases {
            assert_eq!(format_amount(amount, currency), written, "{amount} {currency}");
        }
    }

    #[test]
    fn bounds_parse_like_amounts() {
        assert_eq!(parse_bound("12.5"), Ok(Decimal::new(125, 1)));
        assert_eq!(parse_bound("0.0001"), Ok(Decimal::new(1, 4)));
        for bad in ["0", "-1", "1.00001", "1e3", "", "abc", "100000000000000"] {
            assert!(parse_bound(bad).is_err(), "{bad:?}");
        }
    }
}
