//! `PATCH /v1/categories/{id}`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use penny_contract::{CategoryId, CategoryType};
use penny_platform::http::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::LedgerState;
use crate::error::LedgerError;
use crate::input::parse_body;
use crate::models::CategoryView;
use crate::store;

/// Changes to a category; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateCategory {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<CategoryType>,
}

/// Renames or retypes one of the caller's own categories (system ones answer 409).
#[utoipa::path(
    patch, path = "/v1/categories/{id}", tag = "categories", security(("bearer" = [])),
    params(("id" = String, Path, description = "Category id")),
    request_body = UpdateCategory,
    responses(
        (status = 200, description = "Updated", body = CategoryView),
        (status = 400, description = "Invalid fields", body = crate::routes::ErrorBody),
        (status = 404, description = "No such category of the caller", body = crate::routes::ErrorBody),
        (status = 409, description = "The name is taken, or the category is a system one", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "update category", skip_all, fields(user.id = %user.id, category.id = %id))]
pub async fn update(
    state: web::Data<LedgerState>,
    user: AuthUser,
    id: web::Path<CategoryId>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let input: UpdateCategory = parse_body(body.into_inner())?;
    let mut errors = BTreeMap::new();
    let name = input.name.as_deref().map(|name| super::valid_name(name, &mut errors));
    if !errors.is_empty() {
        return Err(LedgerError::Validation(errors).into());
    }
    let mut conn = state.pool.get().await?;
    let category = store::categories::update(&mut conn, user.id, *id, name.as_deref(), input.kind).await?;
    Ok(HttpResponse::Ok().json(CategoryView::from(category)))
}
