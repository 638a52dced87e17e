//! The extraction service's own metrics, in the service's registry (served on `/metrics` with the
//! platform's, every name prefixed `penny_` and labelled `service="extraction"`):
//!
//! - `penny_llm_calls_total{model, outcome}`: calls to the LLM, by how they ended (`answered`,
//!   `invalid`, `unavailable`);
//! - `penny_llm_tokens_total{model, type}`: tokens the provider reported, `type` being `input`
//!   (cached ones included) or `output`;
//! - `penny_llm_cached_input_tokens_total{model}`: the part of the input served from the
//!   provider's cache;
//! - `penny_llm_cost_usd_total{model}`: the estimated cost from the price table. A float is
//!   good enough for a dashboard; the exact decimal cost of every call is in `llm_transactions`;
//! - `penny_llm_call_duration_seconds{model}`: the latency of each call, retries included.
//!
//! Every call is counted as it returns, before it is recorded, so a call that was paid for is
//! counted even if recording it fails.

use penny_platform::metrics::prometheus::{CounterVec, HistogramOpts, HistogramVec, IntCounterVec, Opts};
use penny_platform::metrics::{Metrics, MetricsError};
use rust_decimal::prelude::ToPrimitive;

use crate::llm::{CallOutcome, LlmCall};

/// Buckets of the LLM latency histogram, in seconds.
const LATENCY_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];

/// The LLM's counters.
#[derive(Clone)]
pub struct LlmMetrics {
    calls: IntCounterVec,
    tokens: IntCounterVec,
    cached_input_tokens: IntCounterVec,
    cost_usd: CounterVec,
    duration: HistogramVec,
}

impl std::fmt::Debug for LlmMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmMetrics").finish_non_exhaustive()
    }
}

impl LlmMetrics {
    /// Registers the LLM metrics in the service's registry.
    pub fn register(metrics: &Metrics) -> Result<Self, MetricsError> {
        Ok(Self {
            calls: metrics.register(IntCounterVec::new(
                Opts::new("llm_calls_total", "Calls to the LLM, by model and outcome."),
                &["model", "outcome"],
            )?)?,
            tokens: metrics.register(IntCounterVec::new(
                Opts::new(
                    "llm_tokens_total",
                    "Tokens the LLM provider reported, by model and type (input includes cached input).",
                ),
                &["model", "type"],
            )?)?,
            cached_input_tokens: metrics.register(IntCounterVec::new(
                Opts::new(
                    "llm_cached_input_tokens_total",
                    "Input tokens served from the provider's prompt cache (part of the input tokens).",
                ),
                &["model"],
            )?)?,
            cost_usd: metrics.register(CounterVec::new(
                Opts::new("llm_cost_usd_total", "Estimated cost of the LLM calls in USD, by model."),
                &["model"],
            )?)?,
            duration: metrics.register(HistogramVec::new(
                HistogramOpts::new("llm_call_duration_seconds", "Latency of one LLM call, retries included.")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &["model"],
            )?)?,
        })
    }

    /// Counts one call.
    pub fn observe(&self, call: &LlmCall) {
        let model = call.model.as_str();
        let outcome = match call.outcome {
            CallOutcome::Answered(_) => "answered",
            CallOutcome::Invalid(_) => "invalid",
            CallOutcome::Unavailable(_) => "unavailable",
        };
        self.calls.with_label_values(&[model, outcome]).inc();
        self.tokens.with_label_values(&[model, "input"]).inc_by(u64::from(call.usage.input_tokens));
        self.tokens.with_label_values(&[model, "output"]).inc_by(u64::from(call.usage.output_tokens));
        self.cached_input_tokens
            .with_label_values(&[model])
            .inc_by(u64::from(call.usage.cached_input_tokens));
        // Costs are never negative (the price table refuses negative prices).
        self.cost_usd.with_label_values(&[model]).inc_by(call.cost.to_f64().unwrap_or(0.0).max(0.0));
        self.duration.with_label_values(&[model]).observe(f64::from(call.latency_ms) / 1000.0);
    }
}
