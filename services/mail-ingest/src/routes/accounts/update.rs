//! `PATCH /v1/accounts/{id}`.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use penny_contract::AccountId;
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::IngestState;
use crate::error::IngestError;
use crate::models::AccountView;
use crate::schema::connected_accounts;
use crate::store;

/// The longest interval between scheduled fetches: 30 days.
const MAX_INTERVAL_SECS: i32 = 30 * 24 * 3600;

/// Account settings a user may change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    /// Seconds between scheduled fetches: 60 to 2,592,000, 0 for never, null for the server's
    /// default.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub fetch_interval_secs: Option<Option<i32>>,
}

/// Tells a field sent as null from a field not sent.
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i32>>, D::Error> {
        Option::<i32>::deserialize(d).map(Some)
    }
}

/// Changes one of the caller's accounts (its fetch interval); the next scheduled fetch is
/// moved to one new interval from the last fetch.
#[utoipa::path(
    patch, path = "/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account id")),
    request_body = AccountUpdate,
    responses(
        (status = 200, description = "The account", body = AccountView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
        (status = 404, description = "No such account for this caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "update account", skip_all, fields(user.id = %user.id, account.id = %id))]
pub async fn update(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<AccountId>,
    input: JsonObject<AccountUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if let Some(Some(secs)) = input.fetch_interval_secs
        && secs != 0
        && !(60..=MAX_INTERVAL_SECS).contains(&secs)
    {
        return Err(IngestError::field("fetch_interval_secs", "0, or 60 to 2592000 seconds").into());
    }
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let account = store::accounts::get(&mut conn, user.id, id).await?.ok_or(IngestError::NotFound)?;
    if let Some(interval) = input.fetch_interval_secs {
        let effective =
            interval.unwrap_or(i32::try_from(state.settings.fetch_interval_secs).unwrap_or(i32::MAX));
        let next = match account.last_fetched_at {
            Some(last) if effective > 0 => Some(last + chrono::Duration::seconds(i64::from(effective))),
            _ => None,
        };
        diesel::update(connected_accounts::table.find(id))
            .set((
                connected_accounts::fetch_interval_secs.eq(interval),
                connected_accounts::next_fetch_at.eq(next),
                connected_accounts::updated_at.eq(chrono::Utc::now()),
            ))
            .execute(&mut conn)
            .await
            .map_err(IngestError::from)?;
    }
    let account = store::accounts::get(&mut conn, user.id, id).await?.ok_or(IngestError::NotFound)?;
    Ok(HttpResponse::Ok().json(AccountView::from(account)))
}
