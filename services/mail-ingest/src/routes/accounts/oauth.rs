//! `POST /v1/accounts/oauth/{provider}/start` and `GET /v1/accounts/oauth/{provider}/callback`:
//! connecting Gmail or Outlook with the authorization code flow and PKCE.
//!
//! `start` issues a signed state ([`crate::oauth::state`]), seals a fresh PKCE verifier into an
//! `oauth_states` row under the state's hash (bound to the caller) and answers the provider's
//! authorization URL. The browser comes back to `callback` without a bearer token: the state
//! names the user. A forged, expired, unknown or reused state answers 400; past that point the
//! browser is always redirected (303) to the result page, with `connected=<provider>` or
//! `error=<code>`.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use diesel_async::AsyncConnection;
use oauth2::PkceCodeChallenge;
use penny_platform::http::{ApiError, AuthUser};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::IngestState;
use crate::crypto::CryptoError;
use crate::error::IngestError;
use crate::models::Account;
use crate::oauth::state::{self, StateError};
use crate::oauth::{OAuthError, OAuthProvider};
use crate::store;
use crate::store::oauth_states::NewOAuthState;

/// `{authorize_url}`: where to send the browser.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizeUrl {
    pub authorize_url: String,
}

fn provider_of(name: &str) -> Result<OAuthProvider, IngestError> {
    OAuthProvider::parse(name).ok_or(IngestError::NotFound)
}

/// Starts connecting a Gmail or Outlook mailbox: answers the provider's authorization URL (PKCE
/// S256 challenge, a state valid for ten minutes and once, least scopes).
#[utoipa::path(
    post, path = "/v1/accounts/oauth/{provider}/start", tag = "accounts", security(("bearer" = [])),
    params(("provider" = String, Path, description = "`gmail` or `outlook`")),
    responses(
        (status = 200, description = "The URL to send the browser to", body = AuthorizeUrl),
        (status = 404, description = "No such provider", body = crate::routes::ErrorBody),
        (status = 409, description = "The provider is not configured on this server", body = crate::routes::ErrorBody),
        (status = 503, description = "No secret key is configured", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "start oauth", skip_all, fields(user.id = %user.id, oauth.provider = %provider))]
pub async fn start(
    state: web::Data<IngestState>,
    user: AuthUser,
    provider: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_of(&provider)?;
    state.oauth.config().provider(provider).map_err(IngestError::from)?;
    let key = state
        .secrets
        .derived_keys(state::KEY_PURPOSE)
        .into_iter()
        .next()
        .ok_or(CryptoError::NoKeys)
        .map_err(IngestError::from)?;
    let issued = state::issue(&key, provider, Utc::now())
        .ok_or_else(|| IngestError::Internal(anyhow::anyhow!("could not sign an OAuth state")))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let sealed = state
        .secrets
        .seal(verifier.secret().as_bytes(), &state::verifier_aad(&issued.hash))
        .map_err(IngestError::from)?;
    let authorize_url =
        state.oauth.authorize_url(provider, &issued.token, challenge).map_err(IngestError::from)?;
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    store::oauth_states::insert(
        &mut conn,
        &NewOAuthState {
            state_hash: &issued.hash,
            user_id: user.id,
            provider: provider.provider(),
            verifier_key_id: &sealed.key_id,
            verifier: &sealed.bytes,
            expires_at: issued.expires_at,
        },
    )
    .await?;
    tracing::info!(user.id = %user.id, "started connecting a {} mailbox", provider.name());
    Ok(HttpResponse::Ok().json(AuthorizeUrl { authorize_url }))
}

/// What the provider sends the browser back with.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// `access_denied` when the user declined, or another OAuth error code.
    error: Option<String>,
}

impl std::fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackQuery").field("error", &self.error).finish_non_exhaustive()
    }
}

/// Finishes connecting a mailbox (the browser's return from the provider; no bearer token, the
/// state binds the user): exchanges the code, learns the mailbox address, stores the account
/// with its tokens sealed, and redirects to `{public_url}/accounts?connected=<provider>` (or
/// `?error=<code>&provider=<provider>`; a declined consent stores nothing).
#[utoipa::path(
    get, path = "/v1/accounts/oauth/{provider}/callback", tag = "accounts",
    params(
        ("provider" = String, Path, description = "`gmail` or `outlook`"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The state issued by `start`"),
        ("error" = Option<String>, Query, description = "The provider's error, e.g. `access_denied`"),
    ),
    responses(
        (status = 303, description = "Redirect to the result page"),
        (status = 400, description = "A forged, expired, unknown or reused state", body = crate::routes::ErrorBody),
        (status = 404, description = "No such provider", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "oauth callback", skip_all, fields(oauth.provider = %provider, user.id, account.id))]
pub async fn callback(
    state: web::Data<IngestState>,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let provider = provider_of(&provider)?;
    let query = query.into_inner();
    let token = query
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(OAuthError::from(StateError::Missing))
        .map_err(IngestError::from)?;
    let keys = state.secrets.derived_keys(state::KEY_PURPOSE);
    let hash = state::verify(&keys, provider, token, Utc::now())
        .map_err(|e| IngestError::from(OAuthError::from(e)))?;
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let pending = store::oauth_states::consume(&mut conn, &hash, provider.provider())
        .await?
        .map_err(|e| IngestError::from(OAuthError::from(e)))?;
    let user = pending.user_id;
    tracing::Span::current().record("user.id", tracing::field::display(user));
    let config = state.oauth.config();
    let redirect = |outcome: Result<(), &str>| {
        HttpResponse::SeeOther()
            .insert_header((actix_web::http::header::LOCATION, config.result_url(provider, outcome)))
            .finish()
    };
    if let Some(error) = query.error {
        // Only a well-formed OAuth error code goes into the redirect.
        let code = if !error.is_empty()
            && error.len() <= 64
            && error.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            error
        } else {
            "authorization_failed".to_owned()
        };
        tracing::info!(user.id = %user, oauth.error = %code, "{} authorization ended with {code}", provider.name());
        return Ok(redirect(Err(&code)));
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return Err(
            IngestError::bad_request("missing_code", "the callback carries no authorization code").into()
        );
    };
    let verifier = state
        .secrets
        .open_text(&pending.verifier_key_id, &pending.verifier, &state::verifier_aad(&hash))
        .map_err(IngestError::from)?;
    match connect(&state, &mut conn, provider, user, code, verifier.expose_secret().to_owned()).await {
        Ok(account) => {
            tracing::Span::current().record("account.id", tracing::field::display(account.id));
            tracing::info!(user.id = %user, account.id = %account.id, "connected {} account {}", provider.name(), account.id);
            Ok(redirect(Ok(())))
        }
        Err(IngestError::OAuth(error)) => {
            tracing::warn!(user.id = %user, error = %error, "connecting a {} mailbox failed", provider.name());
            Ok(redirect(Err(error.redirect_code())))
        }
        Err(other) => Err(other.into()),
    }
}

async fn connect(
    state: &IngestState,
    conn: &mut diesel_async::AsyncPgConnection,
    provider: OAuthProvider,
    user: penny_contract::UserId,
    code: String,
    verifier: String,
) -> Result<Account, IngestError> {
    let tokens = state.oauth.exchange_code(provider, code, verifier).await?;
    let email = state.oauth.mailbox_address(provider, &tokens).await?;
    let secrets = &state.secrets;
    conn.transaction(async |conn| {
        store::accounts::upsert_oauth(conn, user, provider.provider(), &email, |id| tokens.seal(secrets, id))
            .await
    })
    .await
}
