//! `PATCH /v1/rules/{id}`.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use penny_contract::{CategoryId, MatchField, MatchKind, RuleId, TransactionType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use super::RuleDraft;
use crate::LedgerState;
use crate::input::{double_option, parse_body};
use crate::models::RuleView;
use crate::money::format_decimal;
use crate::store;
use crate::store::rules::RuleEdit;

/// Changes to a rule; absent fields stay, `null` clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateRule {
    pub name: Option<String>,
    pub match_field: Option<MatchField>,
    pub match_kind: Option<MatchKind>,
    pub pattern: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub min_amount: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub max_amount: Option<Option<String>>,
    #[serde(rename = "type", default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TransactionType>)]
    pub kind: Option<Option<TransactionType>>,
    pub category_id: Option<CategoryId>,
    pub priority: Option<i32>,
}

/// Edits one of the caller's rules. Stored transactions change only through `/v1/rules/apply`.
#[utoipa::path(
    patch, path = "/v1/rules/{id}", tag = "rules", security(("bearer" = [])),
    params(("id" = String, Path, description = "Rule id")),
    request_body = UpdateRule,
    responses(
        (status = 200, description = "Updated", body = RuleView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
        (status = 404, description = "No such rule of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "update rule", skip_all, fields(user.id = %user.id, rule.id = %id))]
pub async fn update(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<RuleId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: UpdateRule = parse_body(body.into_inner())?;
    let mut conn = state.pool.get().await?;
    let current = store::rules::get(&mut conn, user.id, *id).await?;
    let draft = RuleDraft {
        name: input.name.unwrap_or(current.name),
        match_field: input.match_field.unwrap_or(current.match_field),
        match_kind: input.match_kind.unwrap_or(current.match_kind),
        pattern: input.pattern.unwrap_or(current.pattern),
        min_amount: input.min_amount.unwrap_or(current.min_amount.map(format_decimal)),
        max_amount: input.max_amount.unwrap_or(current.max_amount.map(format_decimal)),
        kind: input.kind.unwrap_or(current.kind),
        category_id: input.category_id.unwrap_or(current.category_id),
        priority: input.priority.unwrap_or(current.priority),
    };
    let rule = draft.validate(&mut conn, user.id).await?;
    let edit = RuleEdit {
        name: rule.name,
        match_field: rule.match_field,
        match_kind: rule.match_kind,
        pattern: rule.pattern,
        min_amount: rule.min_amount,
        max_amount: rule.max_amount,
        kind: rule.kind,
        category_id: rule.category_id,
        priority: rule.priority,
        updated_at: Utc::now(),
    };
    let rule = store::rules::update(&mut conn, user.id, *id, &edit).await?;
    Ok(HttpResponse::Ok().json(RuleView::from(rule)))
}
