//! `POST /v1/rules/apply`.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use penny_contract::RuleId;
use penny_platform::http::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::LedgerState;
use crate::error::LedgerError;
use crate::input::parse_body;
use crate::store;

/// Which rules to apply; all of the caller's when `rule_id` is absent (the body may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ApplyRules {
    pub rule_id: Option<RuleId>,
}

/// How many transactions changed category.
#[derive(Debug, Serialize, ToSchema)]
pub struct Applied {
    pub updated: u64,
}

/// Applies rules to the caller's stored transactions. A category the user chose by hand (when
/// creating, editing or importing) is never changed, and a transaction no rule matches keeps its
/// category.
#[utoipa::path(
    post, path = "/v1/rules/apply", tag = "rules", security(("bearer" = [])),
    request_body(content = Option<ApplyRules>, content_type = "application/json"),
    responses(
        (status = 200, description = "Applied", body = Applied),
        (status = 404, description = "No such rule of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "apply rules", skip_all, fields(user.id = %user.id))]
pub async fn apply(
    state: web::Data<LedgerState>,
    user: AuthUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: ApplyRules = if body.iter().all(u8::is_ascii_whitespace) {
        ApplyRules::default()
    } else {
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| LedgerError::bad_request("malformed_json", "the body is not valid JSON"))?;
        parse_body(value)?
    };
    let user = user.id;
    let mut conn = state.pool.get().await?;
    if let Some(rule) = input.rule_id {
        store::rules::get(&mut conn, user, rule).await?;
    }
    let updated = conn
        .transaction(async move |conn| {
            let set = store::rules::load_set(conn, user, input.rule_id).await?;
            store::rules::apply(conn, user, &set).await
        })
        .await?;
    tracing::info!(user.id = %user, updated, "applied rules");
    Ok(HttpResponse::Ok().json(Applied { updated }))
}
