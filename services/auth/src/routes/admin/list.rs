//! `GET /v1/admin/users`.

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use penny_contract::UserId;
use penny_platform::http::{AdminUser, ApiError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AuthError;
use crate::routes::views::AdminUserView;
use crate::state::AppState;
use crate::store::users;

/// Default and largest page sizes.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Accounts, newest first.
    pub items: Vec<AdminUserView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn encode_cursor(id: UserId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_uuid().as_bytes())
}

fn decode_cursor(cursor: &str) -> Result<UserId, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| AuthError::InvalidCursor)?;
    let uuid = Uuid::from_slice(&bytes).map_err(|_| AuthError::InvalidCursor)?;
    Ok(UserId::from_uuid(uuid))
}

/// Lists accounts, newest first.
#[utoipa::path(
    get, path = "/v1/admin/users", tag = "admin", params(ListQuery),
    responses(
        (status = 200, description = "A page of accounts", body = UserPage),
        (status = 400, description = "Bad limit or cursor"),
        (status = 403, description = "Not an admin"),
    ),
    security(("bearer" = []))
)]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: AdminUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AuthError::field("limit", "must be 1 to 500").into());
    }
    let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.pool.get().await.map_err(AuthError::from)?;
    super::current_admin(&mut conn, &caller).await?;
    let users = users::page(&mut conn, before, limit).await?;
    let next_cursor = match users.last() {
        Some(last) if i64::try_from(users.len()).unwrap_or(0) == limit => Some(encode_cursor(last.id)),
        _ => None,
    };
    let items = users.iter().map(AdminUserView::from).collect();
    Ok(HttpResponse::Ok().json(UserPage { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = UserId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not a cursor!").is_err());
        assert!(decode_cursor("AAAA").is_err());
    }
}
