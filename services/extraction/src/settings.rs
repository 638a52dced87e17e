//! The extraction service's own settings (`PENNY_EXTRACTION_*` or the `[extraction]` file keys).

use std::path::PathBuf;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Which extractor decides an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The rule engine only (the default: offline, free, no keys).
    #[default]
    Rules,
    /// The LLM only.
    Llm,
    /// Rules first; the LLM where the rules are not confident, or find nothing in a mail that
    /// does not read as a known non-transaction.
    Cascade,
}

/// Settings of this service beyond the shared ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ExtractionSettings {
    pub policy: Policy,
    /// In `cascade`, a rules answer with any transaction below this confidence goes to the LLM.
    pub cascade_min_confidence: Decimal,
    /// Requests handled per consumer transaction.
    pub batch_size: usize,
    /// The OpenAI-compatible endpoint, e.g. `https://api.openai.com/v1` or a local
    /// `http://127.0.0.1:11434/v1` (Ollama). The LLM is off unless this and `llm_model` are set.
    pub llm_base_url: Option<String>,
    pub llm_api_key: Option<SecretString>,
    pub llm_model: Option<String>,
    /// A label for accounting (`openai`, `ollama`, ...).
    pub llm_provider: String,
    pub llm_timeout_secs: u64,
    /// The email is cut so that the prompt stays within this many (estimated) tokens.
    pub llm_max_input_tokens: u32,
    pub llm_max_output_tokens: u32,
    /// LLM calls in flight at once per consumer.
    pub llm_concurrency: usize,
    /// A TOML price table replacing the built-in one (see [`crate::llm::pricing`]).
    pub llm_prices_file: Option<PathBuf>,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        Self {
            policy: Policy::Rules,
            cascade_min_confidence: Decimal::new(7, 1),
            batch_size: 300,
            llm_base_url: None,
            llm_api_key: None,
            llm_model: None,
            llm_provider: "openai".into(),
            llm_timeout_secs: 60,
            llm_max_input_tokens: 4_000,
            llm_max_output_tokens: 1_000,
            llm_concurrency: 4,
            llm_prices_file: None,
        }
    }
}
