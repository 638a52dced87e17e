//! What a call cost: a versioned price table in USD per million tokens, in exact decimals.
//!
//! Cached input tokens are part of the reported input tokens; they are billed once, at the
//! cached price, never again at the full input price.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

/// The prices of one model, USD per 1,000,000 tokens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    #[serde(with = "rust_decimal::serde::str")]
    pub input: Decimal,
    /// Defaults to the input price when a provider has no cache discount.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub cached_input: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub output: Decimal,
}

/// A named version of the prices, recorded with every call so old costs stay explainable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub version: String,
    pub models: BTreeMap<String, ModelPrice>,
}

/// Token counts of one call as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every prompt token, cached ones included.
    pub input_tokens: u32,
    /// The part of `input_tokens` served from the provider's cache.
    pub cached_input_tokens: u32,
    pub output_tokens: u32,
    pub total_tokens: u32,
}

/// The built-in table (list prices as published by the providers in November 2026).
const BUILT_IN: &str = r#"
version = "builtin-2026-11"
[models."gpt-4o-mini"]
input = "0.15"
cached_input = "0.075"
output = "0.60"
[models."gpt-4o"]
input = "2.50"
cached_input = "1.25"
output = "10.00"
[models."gpt-4.1-mini"]
input = "0.40"
cached_input = "0.10"
output = "1.60"
[models."gpt-4.1-nano"]
input = "0.10"
cached_input = "0.025"
output = "0.40"
"#;

/// Failures loading a price table.
#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    #[error("cannot read the price table {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the price table is invalid: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the price of {0} is negative")]
    Negative(String),
}

impl PriceTable {
    /// The table compiled into the service.
    pub fn built_in() -> Self {
        // A unit test parses the same text; it cannot fail at run time.
        #[allow(clippy::expect_used)]
        Self::parse(BUILT_IN).expect("the built-in price table parses")
    }

    /// Parses a TOML table.
    pub fn parse(text: &str) -> Result<Self, PriceTableError> {
        let table: PriceTable = toml::from_str(text)?;
        for (model, price) in &table.models {
            let cached = price.cached_input.unwrap_or(price.input);
            if price.input.is_sign_negative() || price.output.is_sign_negative() || cached.is_sign_negative()
            {
                return Err(PriceTableError::Negative(model.clone()));
            }
        }
        Ok(table)
    }

    /// Reads a TOML table from `path`.
    pub fn load(path: &Path) -> Result<Self, PriceTableError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| PriceTableError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    /// The estimated cost in USD of `usage` on `model`; zero for a model the table does not
    /// price (a local model, say).
    pub fn cost(&self, model: &str, usage: Usage) -> Decimal {
        let Some(price) = self.models.get(model) else { return Decimal::ZERO };
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        let per_million = Decimal::from(uncached) * price.input
            + Decimal::from(cached) * price.cached_input.unwrap_or(price.input)
            + Decimal::from(usage.output_tokens) * price.output;
        (per_million / Decimal::from(1_000_000)).round_dp(8)
    }

    /// Whether the table prices `model`.
    pub fn prices(&self, model: &str) -> bool {
        self.models.contains_key(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_table_parses() {
        let table = PriceTable::built_in();
        assert!(table.prices("gpt-4o-mini"));
        assert_eq!(table.version, "builtin-2026-11");
    }

    #[test]
    fn cached_tokens_are_billed_once_at_the_cached_price() {
        let table = PriceTable::built_in();
        let usage = Usage {
            input_tokens: 2_000,
            cached_input_tokens: 1_500,
            output_tokens: 100,
            total_tokens: 2_100,
        };
        // 500 × 0.15 + 1,500 × 0.075 + 100 × 0.60 = 75 + 112.5 + 60 = 247.5 per million.
        assert_eq!(table.cost("gpt-4o-mini", usage), Decimal::new(2475, 7));
    }

    #[test]
    fn an_unpriced_model_costs_nothing_and_a_negative_price_is_refused() {
        let table = PriceTable::built_in();
        let usage = Usage { input_tokens: 10, cached_input_tokens: 0, output_tokens: 10, total_tokens: 20 };
        assert_eq!(table.cost("llama3.1:8b", usage), Decimal::ZERO);
        let bad = "version = \"x\"\n[models.m]\ninput = \"-1\"\noutput = \"1\"\n";
        assert!(matches!(PriceTable::parse(bad), Err(PriceTableError::Negative(_))));
        assert!(
            PriceTable::parse("version = \"x\"\n[models.m]\ninput = \"1\"\noutput = \"1\"\nextra = 1\n")
                .is_err()
        );
    }
}
