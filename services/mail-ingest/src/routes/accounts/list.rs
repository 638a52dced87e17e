//! `GET /v1/accounts`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::models::{AccountView, Page};
use crate::store;

/// The caller's connected mailboxes (one page; `next_cursor` is always null).
#[utoipa::path(
    get, path = "/v1/accounts", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "The accounts", body = Page<AccountView>))
)]
#[tracing::instrument(name = "list accounts", skip_all, fields(user.id = %user.id))]
pub async fn list(state: web::Data<IngestState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let accounts = store::accounts::list(&mut conn, user.id).await?;
    let items: Vec<AccountView> = accounts.into_iter().map(AccountView::from).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor: None }))
}
