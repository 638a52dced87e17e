//! `POST /v1/categories`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use penny_contract::{CategoryId, CategoryType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::LedgerState;
use crate::error::LedgerError;
use crate::input::parse_body;
use crate::models::{CategoryView, NewCategory};
use crate::store;

/// A new category.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCategory {
    /// Unique per user, regardless of case; 1 to 100 characters.
    #[schema(example = "Coffee")]
    pub name: String,
    /// What the category may hold.
    #[serde(rename = "type")]
    pub kind: CategoryType,
}

/// Creates a category; a name the caller already has answers 409.
#[utoipa::path(
    post, path = "/v1/categories", tag = "categories", security(("bearer" = [])),
    request_body = CreateCategory,
    responses(
        (status = 201, description = "Created", body = CategoryView),
        (status = 400, description = "Invalid fields", body = crate::routes::ErrorBody),
        (status = 409, description = "The name is taken", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "create category", skip_all, fields(user.id = %user.id))]
pub async fn create(
    state: web::Data<LedgerState>,
    user: AuthUser,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: CreateCategory = parse_body(body.into_inner())?;
    let mut errors = BTreeMap::new();
    let name = super::valid_name(&input.name, &mut errors);
    if !errors.is_empty() {
        return Err(LedgerError::Validation(errors).into());
    }
    let mut conn = state.pool.get().await?;
    let category = store::categories::create(
        &mut conn,
        &NewCategory {
            id: CategoryId::new(),
            user_id: user.id,
            name: &name,
            kind: input.kind,
            is_system: false,
        },
    )
    .await?;
    tracing::info!(user.id = %user.id, category.id = %category.id, "created category {}", category.id);
    Ok(HttpResponse::Created().json(CategoryView::from(category)))
}
