//! `GET /v1/rules`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use crate::LedgerState;
use crate::models::{Page, RuleView};
use crate::store;

/// The caller's rules in the order they are tried (one page: `next_cursor` is always null).
#[utoipa::path(
    get, path = "/v1/rules", tag = "rules", security(("bearer" = [])),
    responses((status = 200, description = "The caller's rules", body = Page<RuleView>))
)]
#[tracing::instrument(name = "list rules", skip_all, fields(user.id = %user.id))]
pub async fn list(state: web::Data<LedgerState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await?;
    let rules = store::rules::list(&mut conn, user.id).await?;
    Ok(HttpResponse::Ok()
        .json(Page { items: rules.into_iter().map(RuleView::from).collect::<Vec<_>>(), next_cursor: None }))
}
