//! Exact-decimal money with an ISO 4217 currency.
//!
//! Amounts are always positive; the direction of a transaction lives in its `type`. An amount may
//! not carry more decimals than its currency's minor unit (2 for USD, 0 for JPY, 3 for KWD, 4 for
//! CLF), and on the wire it is written with exactly that many digits (`"12.50"`, `"3240"`). It is
//! stored as `NUMERIC(18,4)`, so the integer part is bounded by [`Money::MAX_EXCLUSIVE`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount or a currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("`{0}` is not a plain decimal number such as \"12.50\"")]
    NotADecimal(String),
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("{currency} amounts have at most {max} decimal places")]
    TooManyDecimals { currency: Currency, max: u32 },
    #[error("the amount is too large")]
    OutOfRange,
}

impl MoneyError {
    /// The request field the error is about, for validation error bodies.
    pub fn field(&self) -> &'static str {
        match self {
            MoneyError::UnknownCurrency(_) => "currency",
            _ => "amount",
        }
    }
}

/// An ISO 4217 currency that has a minor unit (so not gold, SDRs or test codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses an upper-case three-letter code such as `USD`.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_code(code)
            .filter(|c| c.exponent().is_some())
            .map(Self)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The number of decimal places of the currency's minor unit.
    pub fn minor_digits(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(D::Error::custom)
    }
}

/// A validated, positive amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Amounts must stay below this (`NUMERIC(18,4)` holds 14 integer digits).
    pub const MAX_EXCLUSIVE: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);

    /// Validates an amount already held as a decimal.
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        if amount <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        if amount >= Self::MAX_EXCLUSIVE {
            return Err(MoneyError::OutOfRange);
        }
        let max = currency.minor_digits();
        if amount.normalize().scale() > max {
            return Err(MoneyError::TooManyDecimals { currency, max });
        }
        Ok(Self { amount, currency })
    }

    /// Parses the wire form: a plain decimal string (digits, optionally one `.` and more digits;
    /// no sign, exponent, grouping or spaces) and a currency code.
    pub fn parse(amount: &str, currency: &str) -> Result<Self, MoneyError> {
        let currency = Currency::parse(currency)?;
        Self::new(parse_plain_decimal(amount)?, currency)
    }

    /// The amount, exact.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount written with exactly the currency's minor digits (`"12.50"`, `"3240"`).
    pub fn amount_string(&self) -> String {
        let mut amount = self.amount;
        amount.rescale(self.currency.minor_digits());
        amount.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

/// Parses a plain decimal: `12`, `12.5`, `0.001`; anything else is refused.
fn parse_plain_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let not_a_decimal = || MoneyError::NotADecimal(text.chars().take(40).collect());
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(not_a_decimal());
    }
    // More than 28 significant digits cannot be held exactly; such an amount is out of range.
    Decimal::from_str_exact(text).map_err(|_| MoneyError::OutOfRange)
}

#[derive(Serialize, Deserialize)]
struct MoneyWire<'a> {
    amount: std::borrow::Cow<'a, str>,
    currency: std::borrow::Cow<'a, str>,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyWire { amount: self.amount_string().into(), currency: self.currency.code().into() }
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = MoneyWire::deserialize(deserializer)?;
        Money::parse(&wire.amount, &wire.currency).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_with_the_currency_minor_digits() {
        let cases = [
            ("12.5", "USD", "12.50"),
            ("12.50", "USD", "12.50"),
            ("3240", "JPY", "3240"),
            ("1.25", "KWD", "1.250"),
            ("0.0001", "CLF", "0.0001"),
            ("7", "EUR", "7.00"),
            ("12.500", "USD", "12.50"),
        ];
        for (amount, currency, written) in cases {
            let money = Money::parse(amount, currency).unwrap();
            assert_eq!(money.amount_string(), written, "{amount} {currency}");
        }
    }

    #[test]
    fn invalid_amounts_are_refused_with_the_reason() {
        let cases = [
            ("0", "USD", MoneyError::NotPositive),
            ("0.00", "USD", MoneyError::NotPositive),
            (
                "12.345",
                "USD",
                MoneyError::TooManyDecimals { currency: Currency::parse("USD").unwrap(), max: 2 },
            ),
            ("1.5", "JPY", MoneyError::TooManyDecimals { currency: Currency::parse("JPY").unwrap(), max: 0 }),
            ("100000000000000", "USD", MoneyError::OutOfRange),
            ("99999999999999999999999999999999", "USD", MoneyError::OutOfRange),
            ("12", "usd", MoneyError::UnknownCurrency("usd".into())),
            ("12", "XAU", MoneyError::UnknownCurrency("XAU".into())),
            ("12", "ABC", MoneyError::UnknownCurrency("ABC".into())),
        ];
        for (amount, currency, expected) in cases {
            assert_eq!(Money::parse(amount, currency), Err(expected), "{amount} {currency}");
        }
        for bad in ["-5", "+5", "1e3", "1,000", " 5", "5 ", ".5", "5.", "", "1.2.3", "NaN", "0x10"] {
            assert!(
                matches!(Money::parse(bad, "USD"), Err(MoneyError::NotADecimal(_))),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn the_largest_amount_fits_numeric_18_4() {
        assert_eq!(Money::MAX_EXCLUSIVE, Decimal::from(100_000_000_000_000_i64));
        assert!(Money::parse("99999999999999.99", "USD").is_ok());
    }

    #[test]
    fn money_round_trips_through_json_as_strings() {
        let money = Money::parse("1234.5", "EUR").unwrap();
        let json = serde_json::to_value(money).unwrap();
        assert_eq!(json, serde_json::json!({"amount": "1234.50", "currency": "EUR"}));
        let back: Money = serde_json::from_value(json).unwrap();
        assert_eq!(back, money);
    }

    #[test]
    fn json_numbers_and_bad_money_are_rejected() {
        let float = serde_json::json!({"amount": 12.5, "currency": "USD"});
        assert!(serde_json::from_value::<Money>(float).is_err());
        let decimals = serde_json::json!({"amount": "1.001", "currency": "USD"});
        assert!(serde_json::from_value::<Money>(decimals).is_err());
    }

    #[test]
    fn errors_name_their_field() {
        assert_eq!(MoneyError::UnknownCurrency("X".into()).field(), "currency");
        assert_eq!(MoneyError::NotPositive.field(), "amount");
    }
}
