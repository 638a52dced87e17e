//! `GET /v1/categories`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::models::{CategoryView, Page};
use crate::store;

/// The caller's categories, by name (one page: `next_cursor` is always null).
#[utoipa::path(
    get, path = "/v1/categories", tag = "categories", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's categories", body = Page<CategoryView>),
        (status = 401, description = "No valid token", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "list categories", skip_all, fields(user.id = %user.id))]
pub async fn list(state: web::Data<LedgerState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let items = store::categories::list(&mut conn, user.id).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: items.into_iter().map(CategoryView::from).collect::<Vec<_>>(),
        next_cursor: None,
    }))
}
