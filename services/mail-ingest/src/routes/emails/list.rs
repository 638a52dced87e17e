//! `GET /v1/emails`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use super::EmailQuery;
use crate::IngestState;
use crate::cursor::Cursor;
use crate::error::IngestError;
use crate::models::{EmailView, Page};
use crate::store;

/// The caller's emails, newest received first, without bodies, in keyset pages.
#[utoipa::path(
    get, path = "/v1/emails", tag = "emails", security(("bearer" = [])),
    params(EmailQuery),
    responses(
        (status = 200, description = "One page", body = Page<EmailView>),
        (status = 400, description = "Invalid parameters, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "list emails", skip_all, fields(user.id = %user.id))]
pub async fn list(
    state: web::Data<IngestState>,
    user: AuthUser,
    query: web::Query<EmailQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, limit, cursor) = query.parse()?;
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let mut rows = store::emails::page(&mut conn, user.id, &filter, cursor, limit + 1).await?;
    drop(conn);
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| Cursor { at: last.received_at, id: last.id.as_uuid() }.encode())
    } else {
        None
    };
    let items: Vec<EmailView> = rows.into_iter().map(EmailView::from).collect();
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}
