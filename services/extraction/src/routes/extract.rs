//! `POST /v1/extract`: a dry run that stores no extraction.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use penny_contract::events::{ExtractedTransaction, cap_body};
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ExtractionState;
use crate::pipeline::{EmailInput, Extractor, Origin};

/// An email to try the extraction on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    pub subject: String,
    pub from: String,
    /// The text body; `body_html` is used (as text) when it is absent.
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    /// The email's date (RFC 3339); now when absent. Dates stated without a year are read
    /// relative to it.
    pub received_at: Option<DateTime<Utc>>,
}

/// What the extraction would decide.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtractResponse {
    pub is_transaction: bool,
    #[schema(value_type = Vec<Object>)]
    pub transactions: Vec<ExtractedTransaction>,
    pub extractor: Extractor,
    pub extraction_version: String,
    pub reason: Option<String>,
}

/// Runs the configured extraction on an email without storing a result. An LLM call, when the
/// policy makes one, is still recorded in the caller's usage: it was paid for.
#[utoipa::path(
    post, path = "/v1/extract", tag = "extraction", security(("bearer" = [])),
    request_body = ExtractRequest,
    responses(
        (status = 200, description = "The decision", body = ExtractResponse),
        (status = 400, description = "Invalid body", body = crate::routes::ErrorBody),
        (status = 503, description = "The LLM could not be reached", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "extract", skip_all, fields(user.id = %user.id))]
pub async fn extract(
    state: web::Data<ExtractionState>,
    user: AuthUser,
    body: JsonObject<ExtractRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let text = match (request.body_text, request.body_html) {
        (Some(text), _) => text,
        (None, Some(html)) => penny_mailtext::html_to_text(&html),
        (None, None) => {
            return Err(ApiError::validation([("body_text", "give body_text or body_html")]));
        }
    };
    let text = cap_body(text);
    let email = EmailInput {
        subject: &request.subject,
        from: &request.from,
        received_at: request.received_at.unwrap_or_else(Utc::now),
        body: &text,
    };
    let origin = Origin { user_id: user.id, email_id: None, job_id: None, request_id: None, force: true };
    let decision = state.pipeline.decide(&state.pool, email, origin).await?;
    Ok(HttpResponse::Ok().json(ExtractResponse {
        is_transaction: !decision.transactions.is_empty(),
        transactions: decision.transactions,
        extractor: decision.extractor,
        extraction_version: state.pipeline.version().to_owned(),
        reason: decision.reason,
    }))
}
