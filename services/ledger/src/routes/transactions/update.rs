//! `PATCH /v1/transactions/{id}`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use penny_contract::{CategoryId, Money, TransactionId, TransactionType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{MAX_ACCOUNT_HINT_CHARS, MAX_MERCHANT_CHARS, MAX_NOTES_CHARS, check_category};
use crate::LedgerState;
use crate::error::LedgerError;
use crate::input::{double_option, optional_text, parse_body};
use crate::models::TransactionView;
use crate::store;
use crate::store::transactions::TransactionEdit;
use crate::time::parse_occurred_at;

/// Changes to a transaction; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateTransaction {
    #[schema(example = "12.50")]
    pub amount: Option<String>,
    pub currency: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<TransactionType>,
    pub occurred_at: Option<String>,
    /// A category chosen here is never changed by rules; `null` leaves it uncategorised.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<CategoryId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub merchant: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub account_hint: Option<Option<String>>,
    /// Clear (or set) the review flag.
    pub needs_review: Option<bool>,
}

/// Edits one of the caller's transactions and marks it `user_edited`, so booking from mail never
/// overwrites or removes it.
#[utoipa::path(
    patch, path = "/v1/transactions/{id}", tag = "transactions", security(("bearer" = [])),
    params(("id" = String, Path, description = "Transaction id")),
    request_body = UpdateTransaction,
    responses(
        (status = 200, description = "Updated", body = TransactionView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
        (status = 404, description = "No such transaction of the caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "update transaction", skip_all, fields(user.id = %user.id, transaction.id = %id))]
pub async fn update(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<TransactionId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: UpdateTransaction = parse_body(body.into_inner())?;
    let id = id.into_inner();
    let user = user.id;
    let mut conn = state.pool.get().await?;
    let updated = conn
        .transaction(async move |conn| {
            let current = store::transactions::get_for_update(conn, user, id).await?;
            let mut errors = BTreeMap::new();
            let amount = input.amount.unwrap_or_else(|| current.amount.normalize().to_string());
            let currency = input.currency.unwrap_or_else(|| current.currency.clone());
            let money = Money::parse(&amount, &currency)
                .map_err(|e| errors.insert(e.field().to_owned(), e.to_string()))
                .ok();
            let occurred_at = match &input.occurred_at {
                Some(text) => {
                    parse_occurred_at(text).map_err(|e| errors.insert("occurred_at".into(), e)).ok()
                }
                None => Some(current.occurred_at),
            };
            let kind = input.kind.unwrap_or(current.kind);
            let merchant = match input.merchant {
                Some(value) => optional_text("merchant", value, MAX_MERCHANT_CHARS, &mut errors),
                None => current.merchant,
            };
            let notes = match input.notes {
                Some(value) => optional_text("notes", value, MAX_NOTES_CHARS, &mut errors),
                None => current.notes,
            };
            let account_hint = match input.account_hint {
                Some(value) => optional_text("account_hint", value, MAX_ACCOUNT_HINT_CHARS, &mut errors),
                None => current.account_hint,
            };
            let category_id = input.category_id.unwrap_or(current.category_id);
            if let Some(category) = category_id
                && (input.category_id.is_some() || input.kind.is_some())
            {
                check_category(conn, user, category, kind, &mut errors).await?;
            }
            let (Some(money), Some(occurred_at), true) = (money, occurred_at, errors.is_empty()) else {
                return Err(LedgerError::Validation(errors));
            };
            let edit = TransactionEdit {
                amount: money.amount(),
                currency: money.currency().code().to_owned(),
                kind,
                occurred_at,
                category_id,
                category_by_user: current.category_by_user || input.category_id.is_some(),
                merchant,
                notes,
                account_hint,
                needs_review: input.needs_review.unwrap_or(current.needs_review),
                user_edited: true,
                updated_at: Utc::now(),
            };
            store::transactions::update(conn, user, id, &edit).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(TransactionView::from(updated)))
}
