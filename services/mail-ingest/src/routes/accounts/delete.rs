//! `DELETE /v1/accounts/{id}`.

use actix_web::{HttpResponse, web};
use penny_contract::{AccountId, AccountStatus, Provider};
use penny_platform::http::{ApiError, AuthUser};

use crate::IngestState;
use crate::error::IngestError;
use crate::oauth::{OAuthProvider, TokenSet};
use crate::store;

/// Disconnects one of the caller's mailboxes: its secret is erased and it becomes REVOKED (it is
/// no longer fetched; its emails stay). A Gmail grant is also revoked at Google; a failure there
/// is logged and does not stop the local deactivation. Microsoft has no revocation endpoint for
/// delegated tokens, so Outlook tokens are only dropped. Deleting a REVOKED account again is a
/// no-op.
#[utoipa::path(
    delete, path = "/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "The account id")),
    responses(
        (status = 204, description = "Revoked and deactivated"),
        (status = 404, description = "No such account for this caller", body = crate::routes::ErrorBody),
        (status = 409, description = "The upload account cannot be disconnected", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "delete account", skip_all, fields(user.id = %user.id, account.id = %id))]
pub async fn delete(
    state: web::Data<IngestState>,
    user: AuthUser,
    id: web::Path<AccountId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let account =
        store::accounts::get(&mut conn, user.id, id.into_inner()).await?.ok_or(IngestError::NotFound)?;
    if account.provider == Provider::Upload {
        return Err(IngestError::Conflict {
            code: "cannot_disconnect_upload",
            message: "the upload account holds imported mail and cannot be disconnected".into(),
        }
        .into());
    }
    if account.status == AccountStatus::Revoked {
        return Ok(HttpResponse::NoContent().finish());
    }
    // Opened before the secret is erased, revoked after: the local deactivation never waits on
    // (or fails with) the provider.
    let tokens = match OAuthProvider::from_provider(account.provider) {
        Some(provider) if account.secret.is_some() => match TokenSet::open(&account, &state.secrets) {
            Ok(tokens) => Some((provider, tokens)),
            Err(error) => {
                tracing::warn!(account.id = %account.id, %error, "cannot open the tokens of account {} to revoke them", account.id);
                None
            }
        },
        _ => None,
    };
    store::accounts::revoke(&mut conn, account.id, "disconnected by its owner").await?;
    tracing::info!(user.id = %user.id, account.id = %account.id, "revoked account {}", account.id);
    if let Some((provider, tokens)) = tokens
        && let Err(error) = state.oauth.revoke(provider, &tokens).await
    {
        tracing::warn!(
            user.id = %user.id,
            account.id = %account.id,
            %error,
            "revoking the grant of account {} at the provider failed; it is deactivated here",
            account.id
        );
    }
    Ok(HttpResponse::NoContent().finish())
}
