//! `GET /v1/jobs`.

use actix_web::{HttpResponse, web};
use penny_platform::http::{ApiError, AuthUser};

use super::JobQuery;
use crate::IngestState;
use crate::cursor::Cursor;
use crate::error::IngestError;
use crate::models::{Job, Page};
use crate::store;

/// The caller's jobs (every user's for an admin passing `all_users=true`), newest first.
#[utoipa::path(
    get, path = "/v1/jobs", tag = "jobs", security(("bearer" = [])),
    params(JobQuery),
    responses(
        (status = 200, description = "One page", body = Page<Job>),
        (status = 400, description = "Invalid parameters, each named", body = crate::routes::ErrorBody),
        (status = 403, description = "`all_users` asked for by a non-admin", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "list jobs", skip_all, fields(user.id = %user.id))]
pub async fn list(
    state: web::Data<IngestState>,
    user: AuthUser,
    query: web::Query<JobQuery>,
) -> Result<HttpResponse, ApiError> {
    let (mut filter, all_users, limit, cursor) = query.parse()?;
    if all_users && !user.is_admin() {
        return Err(ApiError::forbidden("admin_only", "only admins may list every user's jobs"));
    }
    filter.user = if all_users { None } else { Some(user.id) };
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let mut rows = store::jobs::page(&mut conn, &filter, cursor, limit + 1).await?;
    drop(conn);
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|last| Cursor { at: last.created_at, id: last.id.as_uuid() }.encode())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(Page::<Job> { items: rows, next_cursor }))
}
