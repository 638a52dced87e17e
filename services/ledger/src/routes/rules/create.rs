//! `POST /v1/rules`.

use actix_web::{HttpResponse, web};
use penny_contract::{CategoryId, MatchField, MatchKind, RuleId, TransactionType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{DEFAULT_PRIORITY, RuleDraft};
use crate::LedgerState;
use crate::input::parse_body;
use crate::models::{NewRule, RuleView};
use crate::store;

/// A new rule. Matching ignores case; `regex` uses Rust's regex syntax, limited in size.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRule {
    #[schema(example = "Coffee shops")]
    pub name: String,
    pub match_field: MatchField,
    pub match_kind: MatchKind,
    #[schema(example = "starbucks")]
    pub pattern: String,
    /// Inclusive lower bound on the amount (a decimal string).
    pub min_amount: Option<String>,
    /// Inclusive upper bound on the amount (a decimal string).
    pub max_amount: Option<String>,
    /// Only transactions of this direction match.
    #[serde(rename = "type")]
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    /// Rules are tried in ascending priority (1 before 10); default 100.
    pub priority: Option<i32>,
}

/// Creates a rule.
#[utoipa::path(
    post, path = "/v1/rules", tag = "rules", security(("bearer" = [])),
    request_body = CreateRule,
    responses(
        (status = 201, description = "Created", body = RuleView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "create rule", skip_all, fields(user.id = %user.id))]
pub async fn create(
    state: web::Data<LedgerState>,
    user: AuthUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: CreateRule = parse_body(body.into_inner())?;
    let mut conn = state.pool.get().await?;
    let draft = RuleDraft {
        name: input.name,
        match_field: input.match_field,
        match_kind: input.match_kind,
        pattern: input.pattern,
        min_amount: input.min_amount,
        max_amount: input.max_amount,
        kind: input.kind,
        category_id: input.category_id,
        priority: input.priority.unwrap_or(DEFAULT_PRIORITY),
    };
    let rule = draft.validate(&mut conn, user.id).await?;
    let rule = store::rules::create(
        &mut conn,
        &NewRule {
            id: RuleId::new(),
            user_id: user.id,
            name: rule.name,
            match_field: rule.match_field,
            match_kind: rule.match_kind,
            pattern: rule.pattern,
            min_amount: rule.min_amount,
            max_amount: rule.max_amount,
            kind: rule.kind,
            category_id: rule.category_id,
            priority: rule.priority,
        },
    )
    .await?;
    tracing::info!(user.id = %user.id, rule.id = %rule.id, "created rule {}", rule.id);
    Ok(HttpResponse::Created().json(RuleView::from(rule)))
}
