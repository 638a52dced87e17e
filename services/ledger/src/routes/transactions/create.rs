//! `POST /v1/transactions`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use penny_contract::{CategoryId, Money, TransactionId, TransactionSource, TransactionType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{MAX_ACCOUNT_HINT_CHARS, MAX_MERCHANT_CHARS, MAX_NOTES_CHARS, check_category};
use crate::LedgerState;
use crate::error::LedgerError;
use crate::input::{optional_text, parse_body};
use crate::models::{NewTransaction, TransactionView};
use crate::store;
use crate::time::parse_occurred_at;

/// A transaction entered by hand or through the API. Any `user_id` sent is ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTransaction {
    /// A positive decimal string with at most the currency's minor digits (never a number).
    #[schema(example = "12.50")]
    pub amount: String,
    /// ISO 4217 code.
    #[schema(example = "USD")]
    pub currency: String,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    /// RFC 3339, or `YYYY-MM-DD` (stored at 12:00 UTC).
    #[schema(example = "2026-01-15")]
    pub occurred_at: String,
    pub category_id: Option<CategoryId>,
    pub merchant: Option<String>,
    pub notes: Option<String>,
    /// The last digits of the account or card.
    pub account_hint: Option<String>,
    /// `manual` (default) or `api`.
    pub source: Option<TransactionSource>,
}

/// Books a transaction.
#[utoipa::path(
    post, path = "/v1/transactions", tag = "transactions", security(("bearer" = [])),
    request_body = CreateTransaction,
    responses(
        (status = 201, description = "Booked", body = TransactionView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "create transaction", skip_all, fields(user.id = %user.id))]
pub async fn create(
    state: web::Data<LedgerState>,
    user: AuthUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: CreateTransaction = parse_body(body.into_inner())?;
    let mut errors = BTreeMap::new();
    let money = Money::parse(&input.amount, &input.currency)
        .map_err(|e| errors.insert(e.field().to_owned(), e.to_string()))
        .ok();
    let occurred_at =
        parse_occurred_at(&input.occurred_at).map_err(|e| errors.insert("occurred_at".into(), e)).ok();
    let source = input.source.unwrap_or(TransactionSource::Manual);
    if !matches!(source, TransactionSource::Manual | TransactionSource::Api) {
        errors.insert("source".into(), "only `manual` or `api` may be sent".into());
    }
    let merchant = optional_text("merchant", input.merchant, MAX_MERCHANT_CHARS, &mut errors);
    let notes = optional_text("notes", input.notes, MAX_NOTES_CHARS, &mut errors);
    let account_hint = optional_text("account_hint", input.account_hint, MAX_ACCOUNT_HINT_CHARS, &mut errors);
    let mut conn = state.pool.get().await?;
    if let Some(category) = input.category_id {
        check_category(&mut conn, user.id, category, input.kind, &mut errors).await?;
    }
    let (Some(money), Some(occurred_at), true) = (money, occurred_at, errors.is_empty()) else {
        return Err(LedgerError::Validation(errors).into());
    };
    let transaction = store::transactions::insert(
        &mut conn,
        &NewTransaction {
            id: TransactionId::new(),
            user_id: user.id,
            amount: money.amount(),
            currency: money.currency().code().to_owned(),
            kind: input.kind,
            occurred_at,
            category_id: input.category_id,
            category_by_user: input.category_id.is_some(),
            merchant,
            notes,
            account_hint,
            source,
            external_id: None,
            email_id: None,
            confidence: None,
            needs_review: false,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(TransactionView::from(transaction)))
}
