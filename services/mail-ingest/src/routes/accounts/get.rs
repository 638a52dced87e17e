//! `GET /v1/accounts/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::AccountId;
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::models::AccountView;
use crate::store;

/// One of the caller's accounts; another user's answers 404. Secrets are never returned.
#[utoipa::path(
    get, path = "/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 404, description = "No such account for this caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "get account", skip_all, fields(user.id = %user.id, account.id = %id))]
pub async fn get(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let account =
        store::accounts::get(&mut conn, user.id, id.into_inner()).await?.ok_or(IngestError::NotFound)?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}
