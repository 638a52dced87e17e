//! `GET /v1/usage/llm`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ExtractionState;
use crate::store::{self, UsageGroup, UsageTotals};

/// The caller's LLM use, in total, per model and per month (UTC).
#[derive(Debug, Serialize, ToSchema)]
pub struct LlmUsage {
    pub calls: i64,
    pub input_tokens: i64,
    /// Part of `input_tokens`, billed at the cached price.
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    /// USD, as a decimal string.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub estimated_cost: Decimal,
    /// `key` is the model.
    pub by_model: Vec<UsageTotals>,
    /// `key` is the month, `YYYY-MM`.
    pub by_month: Vec<UsageTotals>,
}

/// The caller's LLM calls, tokens and estimated cost.
#[utoipa::path(
    get, path = "/v1/usage/llm", tag = "extraction", security(("bearer" = [])),
    responses((status = 200, description = "The usage", body = LlmUsage))
)]
#[tracing::instrument(name = "llm usage", skip_all, fields(user.id = %user.id))]
pub async fn llm(state: web::Data<ExtractionState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let by_model = store::usage(&mut conn, user.id, UsageGroup::Model).await?;
    let by_month = store::usage(&mut conn, user.id, UsageGroup::Month).await?;
    let sum = |f: fn(&UsageTotals) -> i64| by_model.iter().map(f).sum::<i64>();
    Ok(HttpResponse::Ok().json(LlmUsage {
        calls: sum(|t| t.calls),
        input_tokens: sum(|t| t.input_tokens),
        cached_input_tokens: sum(|t| t.cached_input_tokens),
        output_tokens: sum(|t| t.output_tokens),
        total_tokens: sum(|t| t.total_tokens),
        estimated_cost: by_model.iter().map(|t| t.estimated_cost).sum(),
        by_model,
        by_month,
    }))
}
