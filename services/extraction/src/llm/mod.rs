//! The LLM extractor: any OpenAI-compatible chat-completions endpoint (OpenAI, or a local Ollama,
//! vLLM or llama.cpp server), asked for a strict structured answer that is validated again here.
//!
//! async-openai retries 429 and 5xx answers itself (three times, with exponential back-off,
//! honouring `Retry-After`). What comes back is either an answer, an invalid answer (a refusal,
//! `finish_reason: length`, JSON that is not the schema, an impossible value — recorded as a
//! FAILED attempt, never guessed into a transaction), or no answer at all (the endpoint could
//! not be reached: the caller retries the request later).

pub mod pricing;
pub mod prompt;
pub mod reply;

use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage, CreateChatCompletionRequestArgs,
    CreateChatCompletionResponse, FinishReason, ResponseFormat, ResponseFormatJsonSchema,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::settings::ExtractionSettings;
use pricing::{PriceTable, Usage};
use prompt::{EmailText, PROMPT_VERSION};
use reply::Answer;

/// A configured endpoint and model.
pub struct LlmExtractor {
    client: Client<OpenAIConfig>,
    /// The model asked for.
    pub model: String,
    /// The accounting label of the endpoint.
    pub provider: String,
    max_input_tokens: u32,
    max_output_tokens: u32,
    prices: PriceTable,
}

/// What one call did and cost.
#[derive(Debug, Clone)]
pub struct LlmCall {
    pub model: String,
    pub provider: String,
    pub prompt_version: &'static str,
    pub prompt_hash: String,
    pub usage: Usage,
    pub cost: Decimal,
    pub price_version: String,
    pub latency_ms: u32,
    pub outcome: CallOutcome,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// A valid answer.
    Answered(Answer),
    /// The model answered, but not with something usable: a FAILED attempt.
    Invalid(String),
    /// No answer (unreachable, or still failing after the retries): try the request again later.
    Unavailable(String),
}

/// Building the extractor failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmConfigError {
    #[error("llm_base_url and llm_model must be set together")]
    Incomplete,
    #[error(transparent)]
    Prices(#[from] pricing::PriceTableError),
    #[error("the HTTP client could not be built: {0}")]
    Http(#[from] reqwest::Error),
}

impl LlmExtractor {
    /// The extractor `settings` describe, or `None` when no endpoint is configured.
    pub fn from_settings(settings: &ExtractionSettings) -> Result<Option<Self>, LlmConfigError> {
        let (base_url, model) = match (&settings.llm_base_url, &settings.llm_model) {
            (Some(base_url), Some(model)) => (base_url, model),
            (None, None) => return Ok(None),
            _ => return Err(LlmConfigError::Incomplete),
        };
        let prices = match &settings.llm_prices_file {
            Some(path) => PriceTable::load(path)?,
            None => PriceTable::built_in(),
        };
        let mut config = OpenAIConfig::new().with_api_base(base_url.trim_end_matches('/'));
        // A local server needs no key; an empty one is sent as such.
        config = config.with_api_key(settings.llm_api_key.as_ref().map(|k| k.expose_secret()).unwrap_or(""));
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(settings.llm_timeout_secs)).build()?;
        Ok(Some(Self {
            client: Client::with_config(config).with_http_client(http),
            model: model.clone(),
            provider: settings.llm_provider.clone(),
            max_input_tokens: settings.llm_max_input_tokens,
            max_output_tokens: settings.llm_max_output_tokens,
            prices,
        }))
    }

    /// The version string this extractor gives its results.
    pub fn version(&self) -> String {
        format!("llm-{PROMPT_VERSION}@{}", self.model)
    }

    /// The hash of the prompt template (the same for every email).
    pub fn prompt_hash(&self) -> &'static str {
        prompt::PROMPT_HASH.as_str()
    }

    /// Asks the model about one email.
    pub async fn extract(&self, email: EmailText<'_>) -> LlmCall {
        let prompt = prompt::render(email, self.max_input_tokens);
        let started = Instant::now();
        let response = self.send(&prompt).await;
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (usage, outcome) = match response {
            Ok(response) => {
                let usage = usage_of(&response);
                (usage, judge(&response, email.received_at))
            }
            Err(error) => (Usage::default(), CallOutcome::Unavailable(error)),
        };
        let priced = self.prices.prices(&self.model);
        LlmCall {
            model: self.model.clone(),
            provider: self.provider.clone(),
            prompt_version: PROMPT_VERSION,
            prompt_hash: prompt.hash,
            usage,
            cost: self.prices.cost(&self.model, usage),
            price_version: if priced { self.prices.version.clone() } else { "unpriced".into() },
            latency_ms,
            outcome,
        }
    }

    async fn send(&self, prompt: &prompt::Prompt) -> Result<CreateChatCompletionResponse, String> {
        let request = CreateChatCompletionRequestArgs::default()
            .model(self.model.as_str())
            .temperature(0.0)
            .max_completion_tokens(self.max_output_tokens)
            .messages(vec![
                ChatCompletionRequestSystemMessage::from(prompt.system.as_str()).into(),
                ChatCompletionRequestUserMessage::from(prompt.user.as_str()).into(),
            ])
            .response_format(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("The transactions one email confirms, or why it has none.".into()),
                    name: prompt::SCHEMA_NAME.into(),
                    schema: prompt::SCHEMA.clone(),
                    strict: Some(true),
                },
            })
            .build()
            .map_err(|e| e.to_string())?;
        self.client.chat().create(request).await.map_err(|e| e.to_string())
    }
}

fn usage_of(response: &CreateChatCompletionResponse) -> Usage {
    let Some(usage) = &response.usage else { return Usage::default() };
    let cached = usage.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0);
    Usage {
        input_tokens: usage.prompt_tokens,
        cached_input_tokens: cached.min(usage.prompt_tokens),
        output_tokens: usage.completion_tokens,
        total_tokens: usage.total_tokens,
    }
}

/// Turns a response into an outcome; only a complete, valid structured answer counts.
fn judge(response: &CreateChatCompletionResponse, received_at: DateTime<Utc>) -> CallOutcome {
    let Some(choice) = response.choices.first() else {
        return CallOutcome::Invalid("the response has no choices".into());
    };
    if let Some(refusal) = &choice.message.refusal {
        return CallOutcome::Invalid(format!(
            "the model refused: {}",
            refusal.chars().take(200).collect::<String>()
        ));
    }
    match choice.finish_reason {
        Some(FinishReason::Stop) | None => {}
        Some(FinishReason::Length) => {
            return CallOutcome::Invalid("the answer was cut off (finish_reason: length)".into());
        }
        Some(other) => return CallOutcome::Invalid(format!("unexpected finish_reason {other:?}")),
    }
    let Some(content) = &choice.message.content else {
        return CallOutcome::Invalid("the answer is empty".into());
    };
    match reply::parse(content, received_at) {
        Ok(answer) => CallOutcome::Answered(answer),
        Err(error) => CallOutcome::Invalid(error.to_string()),
    }
}
