//! `POST /v1/reprocess`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection as _;
use penny_contract::{AccountId, TriggeredBy};
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use penny_platform::time::{Tz, parse_bound};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::IngestState;
use crate::error::IngestError;
use crate::models::JobCreated;
use crate::reprocess::{self, Scope, Selection};
use crate::store;

/// Which emails to send through extraction again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReprocessInput {
    /// `all`, `failed` (last extraction FAILED), `outdated` (extracted with a version other
    /// than the newest) or `range` (received in `[from, to)`; needs `from` or `to`).
    pub scope: String,
    /// RFC 3339 or `YYYY-MM-DD` (start of that day, UTC); narrows any scope.
    pub from: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (exclusive); narrows any scope.
    pub to: Option<String>,
    /// Only this account's emails.
    pub account_id: Option<String>,
}

impl ReprocessInput {
    fn validate(&self) -> Result<(Selection, Option<AccountId>), IngestError> {
        let mut errors = BTreeMap::new();
        let scope = match self.scope.trim() {
            "all" => Some(Scope::All),
            "failed" => Some(Scope::Failed),
            "outdated" => Some(Scope::Outdated),
            "range" => Some(Scope::Range),
            _ => {
                errors.insert("scope".into(), "one of all, failed, outdated, range".into());
                None
            }
        };
        let mut bound = |name: &str, value: &Option<String>| match value.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => parse_bound(text, Tz::UTC).map_err(|e| errors.insert(name.into(), e)).ok(),
        };
        let from = bound("from", &self.from);
        let to = bound("to", &self.to);
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            errors.insert("to".into(), "must be after `from`".into());
        }
        if scope == Some(Scope::Range) && self.from.is_none() && self.to.is_none() {
            errors.insert("from".into(), "a range needs `from`, `to` or both".into());
        }
        let account_id = match self.account_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => text
                .parse::<AccountId>()
                .map_err(|_| errors.insert("account_id".into(), "not a UUID".into()))
                .ok(),
        };
        match scope {
            Some(scope) if errors.is_empty() => {
                Ok((Selection { scope, from, to, account_id, job_id: None, retry_of: None }, account_id))
            }
            _ => Err(IngestError::Validation(errors)),
        }
    }
}

/// Sends the chosen emails of the caller through extraction again, with `force: true` (a new
/// attempt even at the same version), as an `EMAIL_REPROCESS` job triggered by `MANUAL`. The job
/// is queued at once and its requests published in the background; emails whose body was purged
/// are counted as skipped. The ledger reconciles each email's transactions, so reprocessing
/// never duplicates them.
#[utoipa::path(
    post, path = "/v1/reprocess", tag = "jobs", security(("bearer" = [])),
    request_body = ReprocessInput,
    responses(
        (status = 202, description = "Queued", body = JobCreated),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
        (status = 404, description = "No such account for this caller", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "reprocess", skip_all, fields(user.id = %user.id, job.id))]
pub async fn reprocess(
    state: web::Data<IngestState>,
    user: AuthUser,
    input: JsonObject<ReprocessInput>,
) -> Result<HttpResponse, ApiError> {
    let (selection, account) = input.validate()?;
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    if let Some(account) = account {
        store::accounts::get(&mut conn, user.id, account).await?.ok_or(IngestError::NotFound)?;
    }
    let job = conn
        .transaction(async |conn| reprocess::create_job(conn, user.id, &selection, TriggeredBy::Manual).await)
        .await?;
    state.reprocess.wake();
    tracing::Span::current().record("job.id", tracing::field::display(job.id));
    tracing::info!(user.id = %user.id, job.id = %job.id, scope = ?selection.scope, "queued reprocess job {}", job.id);
    Ok(HttpResponse::Accepted().json(JobCreated { job_id: job.id }))
}
