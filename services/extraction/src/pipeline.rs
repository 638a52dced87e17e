//! The extraction policy: which extractor decides an email, LLM answers reused or recorded.
//!
//! - `rules`: the rule engine decides.
//! - `llm`: the LLM decides.
//! - `cascade`: the rules decide when they are sure: every transaction they found is at least
//!   `cascade_min_confidence`, or they recognised a non-transaction (a code, a statement, a
//!   promotion ...). Otherwise (a low-confidence transaction, or no amount in a mail they could
//!   not classify) the LLM is asked, and its valid answer wins; if its answer is invalid, the
//!   rules' answer stands.
//!
//! A valid LLM answer already stored for the same email, prompt and model is reused unless the
//! request is forced. Every call is recorded at once in `llm_transactions` on its own
//! connection, so the cost is on record even if the batch that asked is retried, and counted in
//! the service's metrics ([`crate::metrics`]) when the pipeline has them.

use chrono::{DateTime, Utc};
use penny_contract::events::ExtractedTransaction;
use penny_contract::{EmailId, ExtractionOutcome, JobId, LlmCallId, RequestId, UserId};
use penny_platform::db::DbPool;
use penny_rules::{Email, Extraction, SkipReason};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::llm::reply::Answer;
use crate::llm::{CallOutcome, LlmCall, LlmExtractor, prompt::EmailText};
use crate::metrics::LlmMetrics;
use crate::settings::{ExtractionSettings, Policy};
use crate::store::{self, NewLlmCall};

/// Which extractor produced a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Extractor {
    Rules,
    Llm,
}

/// What the extraction decided for one email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub status: ExtractionOutcome,
    pub extractor: Extractor,
    pub transactions: Vec<ExtractedTransaction>,
    pub reason: Option<String>,
    /// The model, when the LLM decided.
    pub model_used: Option<String>,
    pub prompt_hash: Option<String>,
}

/// The email as the extractors read it.
#[derive(Debug, Clone, Copy)]
pub struct EmailInput<'a> {
    pub subject: &'a str,
    pub from: &'a str,
    pub received_at: DateTime<Utc>,
    pub body: &'a str,
}

/// Who asked, for the accounting of LLM calls and the reuse of their answers.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub user_id: UserId,
    /// `None` for a dry run: nothing is reused, the call is still recorded (it was paid for).
    pub email_id: Option<EmailId>,
    pub job_id: Option<JobId>,
    pub request_id: Option<RequestId>,
    pub force: bool,
}

/// The LLM could not be reached (after its retries): try the request again later.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the LLM is unavailable: {0}")]
    LlmUnavailable(String),
    #[error(transparent)]
    Db(#[from] penny_platform::db::DbError),
}

impl From<diesel::result::Error> for PipelineError {
    fn from(error: diesel::result::Error) -> Self {
        PipelineError::Db(error.into())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for PipelineError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        PipelineError::Db(error.into())
    }
}

/// The configured policy and extractors.
pub struct Pipeline {
    policy: Policy,
    cascade_min_confidence: Decimal,
    llm: Option<LlmExtractor>,
    version: String,
    /// Where LLM calls are counted; `None` counts nothing (benchmarks, tests of the policy).
    metrics: Option<LlmMetrics>,
}

/// What the rules leave to do.
enum Plan {
    Decided(Decision),
    AskLlm { fallback: Option<Decision> },
}

/// The configuration does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum PipelineConfigError {
    #[error("the {0:?} policy needs an LLM: set llm_base_url and llm_model")]
    NoLlm(Policy),
    #[error(transparent)]
    Llm(#[from] crate::llm::LlmConfigError),
}

impl Pipeline {
    /// The pipeline `settings` describe.
    pub fn from_settings(settings: &ExtractionSettings) -> Result<Self, PipelineConfigError> {
        let llm = LlmExtractor::from_settings(settings)?;
        let version = match (settings.policy, &llm) {
            (Policy::Rules, _) => penny_rules::VERSION.to_owned(),
            (Policy::Llm, Some(llm)) => llm.version(),
            (Policy::Cascade, Some(llm)) => format!("cascade-{}+{}", penny_rules::VERSION, llm.version()),
            (policy, None) => return Err(PipelineConfigError::NoLlm(policy)),
        };
        Ok(Self {
            policy: settings.policy,
            cascade_min_confidence: settings.cascade_min_confidence,
            llm,
            version,
            metrics: None,
        })
    }

    /// Counts every LLM call (tokens, cost, outcome, latency) in `metrics`.
    pub fn with_metrics(mut self, metrics: LlmMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The extraction version of this deployment (announced by `extraction.started`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Decides one email.
    pub async fn decide(
        &self,
        pool: &DbPool,
        email: EmailInput<'_>,
        origin: Origin,
    ) -> Result<Decision, PipelineError> {
        let (llm, fallback) = match (self.plan(email), &self.llm) {
            (Plan::Decided(decision), _) => return Ok(decision),
            (Plan::AskLlm { fallback }, Some(llm)) => (llm, fallback),
            // `from_settings` refuses an LLM policy without an LLM.
            (Plan::AskLlm { fallback }, None) => {
                return Ok(fallback.unwrap_or_else(|| failed("no LLM is configured")));
            }
        };
        if let (Some(email_id), false) = (origin.email_id, origin.force) {
            let mut conn = pool.get().await?;
            let stored =
                store::reusable_answer(&mut conn, origin.user_id, email_id, llm.prompt_hash(), &llm.model)
                    .await?;
            if let Some(answer) = stored.and_then(|json| serde_json::from_value::<StoredAnswer>(json).ok()) {
                tracing::debug!(email.id = %email_id, "reusing the stored LLM answer");
                return Ok(from_answer(answer.into(), llm));
            }
        }
        let text = EmailText {
            subject: email.subject,
            from: email.from,
            received_at: email.received_at,
            body: email.body,
        };
        let call = llm.extract(text).await;
        if let Some(metrics) = &self.metrics {
            metrics.observe(&call);
        }
        record(pool, &call, origin).await?;
        match call.outcome {
            CallOutcome::Answered(answer) => Ok(from_answer(answer, llm)),
            CallOutcome::Invalid(reason) => {
                tracing::warn!(user.id = %origin.user_id, %reason, "the LLM's answer was refused");
                Ok(fallback.unwrap_or_else(|| Decision {
                    model_used: Some(llm.model.clone()),
                    prompt_hash: Some(call.prompt_hash.clone()),
                    ..failed(&format!("llm_invalid: {reason}"))
                }))
            }
            CallOutcome::Unavailable(error) => Err(PipelineError::LlmUnavailable(error)),
        }
    }

    /// Runs the rules (when the policy uses them) and says whether the LLM must be asked.
    fn plan(&self, email: EmailInput<'_>) -> Plan {
        if self.policy == Policy::Llm {
            return Plan::AskLlm { fallback: None };
        }
        let rules = penny_rules::extract(&Email {
            subject: email.subject,
            from: email.from,
            received_at: email.received_at.fixed_offset(),
            body: email.body,
        });
        let sure = match &rules {
            Extraction::Transactions(txs) => txs.iter().all(|t| t.confidence >= self.cascade_min_confidence),
            Extraction::Skipped(reason) => *reason != SkipReason::NoAmount,
        };
        let decision = from_rules(rules);
        if self.policy == Policy::Rules || sure {
            Plan::Decided(decision)
        } else {
            Plan::AskLlm { fallback: Some(decision) }
        }
    }
}

fn from_rules(extraction: Extraction) -> Decision {
    match extraction {
        Extraction::Transactions(transactions) => Decision {
            status: ExtractionOutcome::Success,
            extractor: Extractor::Rules,
            transactions,
            reason: None,
            model_used: None,
            prompt_hash: None,
        },
        Extraction::Skipped(reason) => Decision {
            status: ExtractionOutcome::Skipped,
            extractor: Extractor::Rules,
            transactions: Vec::new(),
            reason: Some(reason.as_str().to_owned()),
            model_used: None,
            prompt_hash: None,
        },
    }
}

fn from_answer(answer: Answer, llm: &LlmExtractor) -> Decision {
    let (status, transactions, reason) = match answer {
        Answer::Transactions(transactions) => (ExtractionOutcome::Success, transactions, None),
        Answer::NotATransaction(reason) => (ExtractionOutcome::Skipped, Vec::new(), Some(reason)),
    };
    Decision {
        status,
        extractor: Extractor::Llm,
        transactions,
        reason,
        model_used: Some(llm.model.clone()),
        prompt_hash: Some(llm.prompt_hash().to_owned()),
    }
}

/// A FAILED decision with its reason.
pub fn failed(reason: &str) -> Decision {
    Decision {
        status: ExtractionOutcome::Failed,
        extractor: Extractor::Rules,
        transactions: Vec::new(),
        reason: Some(reason.to_owned()),
        model_used: None,
        prompt_hash: None,
    }
}

/// A valid answer as stored in `llm_transactions.result_json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StoredAnswer {
    Transactions(Vec<ExtractedTransaction>),
    NotATransaction(String),
}

impl From<StoredAnswer> for Answer {
    fn from(stored: StoredAnswer) -> Self {
        match stored {
            StoredAnswer::Transactions(txs) => Answer::Transactions(txs),
            StoredAnswer::NotATransaction(reason) => Answer::NotATransaction(reason),
        }
    }
}

async fn record(pool: &DbPool, call: &LlmCall, origin: Origin) -> Result<(), PipelineError> {
    let (status, error, result) = match &call.outcome {
        CallOutcome::Answered(Answer::Transactions(txs)) => {
            (ExtractionOutcome::Success, None, Some(StoredAnswer::Transactions(txs.clone())))
        }
        CallOutcome::Answered(Answer::NotATransaction(reason)) => {
            (ExtractionOutcome::Skipped, None, Some(StoredAnswer::NotATransaction(reason.clone())))
        }
        CallOutcome::Invalid(reason) | CallOutcome::Unavailable(reason) => {
            (ExtractionOutcome::Failed, Some(reason.chars().take(500).collect::<String>()), None)
        }
    };
    let tokens = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let row = NewLlmCall {
        id: LlmCallId::new(),
        user_id: origin.user_id,
        email_id: origin.email_id,
        job_id: origin.job_id,
        request_id: origin.request_id,
        model_name: &call.model,
        provider: &call.provider,
        prompt_version: call.prompt_version,
        prompt_hash: &call.prompt_hash,
        status,
        error: error.as_deref(),
        input_tokens: tokens(call.usage.input_tokens),
        cached_input_tokens: tokens(call.usage.cached_input_tokens),
        output_tokens: tokens(call.usage.output_tokens),
        total_tokens: tokens(call.usage.total_tokens),
        estimated_cost: call.cost,
        price_version: &call.price_version,
        latency_ms: tokens(call.latency_ms),
        result_json: result
            .map(serde_json::to_value)
            .transpose()
            .map_err(penny_platform::db::DbError::from)?,
    };
    let mut conn = pool.get().await?;
    store::insert_llm_call(&mut conn, &row).await?;
    tracing::info!(
        user.id = %origin.user_id,
        llm.model = %call.model,
        llm.input_tokens = call.usage.input_tokens,
        llm.output_tokens = call.usage.output_tokens,
        llm.latency_ms = call.latency_ms,
        llm.status = %status,
        "LLM call recorded"
    );
    Ok(())
}

impl From<PipelineError> for penny_platform::http::ApiError {
    fn from(error: PipelineError) -> Self {
        match error {
            PipelineError::LlmUnavailable(cause) => Self::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "llm_unavailable",
                format!("the LLM could not be reached: {}", cause.chars().take(200).collect::<String>()),
            ),
            PipelineError::Db(error) => error.into(),
        }
    }
}
