//! `POST /v1/accounts/imap`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use penny_contract::{AccountId, Provider, TlsMode};
use penny_platform::http::{ApiError, AuthUser, JsonObject};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::IngestState;
use crate::error::IngestError;
use crate::fetch::imap::{self, ImapConfig};
use crate::models::{AccountView, ImapSettings, NewAccount};
use crate::store;

/// The mailbox fetched when none is named.
const DEFAULT_MAILBOX: &str = "INBOX";

/// An IMAP mailbox to connect.
#[derive(Deserialize, ToSchema)]
pub struct ImapAccountInput {
    /// The server's host name.
    pub host: String,
    pub port: u16,
    /// `implicit` (IMAPS, usually port 993), `starttls` or `none`.
    pub tls: TlsMode,
    pub username: String,
    /// An app password; stored encrypted, never returned.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// The mailbox to fetch (default `INBOX`).
    pub mailbox: Option<String>,
}

impl std::fmt::Debug for ImapAccountInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapAccountInput")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ImapAccountInput {
    fn validate(self) -> Result<ImapConfig, IngestError> {
        let mut errors = BTreeMap::new();
        let host = self.host.trim().to_owned();
        if host.is_empty() || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c == '/') {
            errors.insert("host".into(), "a host name or address".into());
        }
        if self.port == 0 {
            errors.insert("port".into(), "from 1 to 65535".into());
        }
        let username = self.username.trim().to_owned();
        if username.is_empty() || username.len() > 320 {
            errors.insert("username".into(), "1 to 320 characters".into());
        }
        let password = self.password.expose_secret();
        if password.is_empty() || password.len() > 1024 {
            errors.insert("password".into(), "1 to 1024 characters".into());
        }
        let mailbox = self.mailbox.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
        let mailbox = mailbox.unwrap_or_else(|| DEFAULT_MAILBOX.to_owned());
        if mailbox.len() > 200 || mailbox.chars().any(|c| c.is_control()) {
            errors.insert("mailbox".into(), "at most 200 characters, no control characters".into());
        }
        if !errors.is_empty() {
            return Err(IngestError::Validation(errors));
        }
        Ok(ImapConfig {
            settings: ImapSettings { host, port: self.port, tls: self.tls, username, mailbox },
            password: self.password,
        })
    }
}

/// Connects an IMAP mailbox. The credentials are checked by a real login (and the mailbox must
/// exist) before anything is saved; the password is stored encrypted.
#[utoipa::path(
    post, path = "/v1/accounts/imap", tag = "accounts", security(("bearer" = [])),
    request_body = ImapAccountInput,
    responses(
        (status = 201, description = "Connected", body = AccountView),
        (status = 400, description = "Invalid fields, each named", body = crate::routes::ErrorBody),
        (status = 409, description = "This mailbox is already connected", body = crate::routes::ErrorBody),
        (status = 422, description = "The server refused the login, or could not be reached", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "connect imap account", skip_all, fields(user.id = %user.id, account.id))]
pub async fn create_imap(
    state: web::Data<IngestState>,
    user: AuthUser,
    body: JsonObject<ImapAccountInput>,
) -> Result<HttpResponse, ApiError> {
    let config = body.into_inner().validate()?;
    imap::verify(&config).await.map_err(IngestError::from)?;
    let id = AccountId::new();
    tracing::Span::current().record("account.id", tracing::field::display(id));
    let sealed = state
        .secrets
        .seal(config.password.expose_secret().as_bytes(), &imap::secret_aad(id))
        .map_err(IngestError::from)?;
    let settings = &config.settings;
    let email = if settings.username.contains('@') {
        settings.username.clone()
    } else {
        format!("{}@{}", settings.username, settings.host)
    };
    let mut conn = state.pool.get().await.map_err(IngestError::from)?;
    let account = store::accounts::insert(
        &mut conn,
        &NewAccount {
            id,
            user_id: user.id,
            provider: Provider::Imap,
            email: &email,
            settings: serde_json::to_value(settings).map_err(IngestError::from)?,
            secret_key_id: Some(&sealed.key_id),
            secret: Some(&sealed.bytes),
        },
    )
    .await?;
    tracing::info!(user.id = %user.id, account.id = %id, "connected IMAP account {id}");
    Ok(HttpResponse::Created().json(AccountView::from(account)))
}
