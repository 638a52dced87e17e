//! OAuth2 (authorization code with PKCE) for Gmail and Outlook.
//!
//! [`OAuth`] holds the operator's client registrations ([`OAuthConfig`], from settings) and one
//! HTTP client, and does the provider-facing steps: the authorization URL, the code exchange, the
//! refresh, Google's revocation and the mailbox address. The flow's bookkeeping lives elsewhere:
//! the signed state in [`state`], its rows in [`crate::store::oauth_states`], the handlers in
//! `routes::accounts::oauth`, and the fetchers in [`crate::fetch::gmail`] / [`crate::fetch::graph`].
//!
//! Token exchanges go through `oauth2`'s `AsyncHttpClient` over the service's own reqwest 0.13
//! client (see [`send`]) rather than `oauth2`'s reqwest 0.12 feature: one HTTP stack, one rustls
//! crypto provider (aws-lc-rs), so no process-wide provider has to be installed.
//!
//! Tokens are kept as one [`TokenSet`] sealed with the account's [`crate::crypto::SecretBox`]
//! binding (AES-GCM, key id, account id as associated data), exactly like an IMAP password.

pub mod state;

use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use penny_contract::{AccountId, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::crypto::{CryptoError, Sealed, SecretBox};
use crate::models::Account;

/// Refresh an access token this long before it expires.
pub const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

/// How long one request to a provider may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Gmail: read-only mail access; `users/me/profile` (the address) needs nothing more.
const GMAIL_SCOPES: &[&str] = &["https://www.googleapis.com/auth/gmail.readonly"];
/// Outlook: a refresh token, mail read access, and `/me` for the address.
const OUTLOOK_SCOPES: &[&str] = &["offline_access", "User.Read", "Mail.Read"];

/// A mailbox provider connected by OAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthProvider {
    Gmail,
    Outlook,
}

impl OAuthProvider {
    /// The provider named in a path (`gmail`, `outlook`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "gmail" => Some(OAuthProvider::Gmail),
            "outlook" => Some(OAuthProvider::Outlook),
            _ => None,
        }
    }

    /// The provider of a stored account, if it is an OAuth one.
    pub fn from_provider(provider: Provider) -> Option<Self> {
        match provider {
            Provider::Gmail => Some(OAuthProvider::Gmail),
            Provider::Outlook => Some(OAuthProvider::Outlook),
            _ => None,
        }
    }

    /// Its wire name.
    pub fn name(self) -> &'static str {
        match self {
            OAuthProvider::Gmail => "gmail",
            OAuthProvider::Outlook => "outlook",
        }
    }

    /// The account provider it stores.
    pub fn provider(self) -> Provider {
        match self {
            OAuthProvider::Gmail => Provider::Gmail,
            OAuthProvider::Outlook => Provider::Outlook,
        }
    }

    fn scopes(self) -> &'static [&'static str] {
        match self {
            OAuthProvider::Gmail => GMAIL_SCOPES,
            OAuthProvider::Outlook => OUTLOOK_SCOPES,
        }
    }
}

/// One provider's client registration and endpoints.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The authorization endpoint the browser is sent to.
    pub auth_url: String,
    /// The token endpoint (code exchange and refresh).
    pub token_url: String,
    /// The mail API's base (`https://gmail.googleapis.com`, `https://graph.microsoft.com/v1.0`).
    pub api_url: String,
}

/// The OAuth configuration of the service.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `None`: Gmail is not offered.
    pub gmail: Option<ProviderConfig>,
    /// `None`: Outlook is not offered.
    pub outlook: Option<ProviderConfig>,
    /// Google's token revocation endpoint.
    pub gmail_revoke_url: String,
    /// The Gmail search that selects mail worth fetching on a full sync.
    pub gmail_query: String,
    /// Where the provider sends the browser back: `{redirect_base}/v1/accounts/oauth/{provider}/callback`.
    pub redirect_base: String,
    /// Where the browser lands afterwards: `{public_url}/accounts?connected=...`.
    pub public_url: String,
}

impl OAuthConfig {
    /// The configuration of `provider`, or 409 `provider_not_configured`.
    pub fn provider(&self, provider: OAuthProvider) -> Result<&ProviderConfig, OAuthError> {
        match provider {
            OAuthProvider::Gmail => self.gmail.as_ref(),
            OAuthProvider::Outlook => self.outlook.as_ref(),
        }
        .ok_or(OAuthError::NotConfigured(provider.name()))
    }

    /// The redirect URI registered with the provider.
    pub fn redirect_uri(&self, provider: OAuthProvider) -> String {
        format!("{}/v1/accounts/oauth/{}/callback", self.redirect_base.trim_end_matches('/'), provider.name())
    }

    /// The page the browser is sent to after the callback: `connected=<provider>` or
    /// `error=<code>&provider=<provider>`.
    pub fn result_url(&self, provider: OAuthProvider, outcome: Result<(), &str>) -> String {
        let base = format!("{}/accounts", self.public_url.trim_end_matches('/'));
        let mut url = match url::Url::parse(&base) {
            Ok(url) => url,
            // A public URL that does not parse still gets the outcome appended.
            Err(_) => return format!("{base}?provider={}", provider.name()),
        };
        {
            let mut query = url.query_pairs_mut();
            match outcome {
                Ok(()) => query.append_pair("connected", provider.name()),
                Err(code) => query.append_pair("error", code).append_pair("provider", provider.name()),
            };
        }
        url.into()
    }
}

/// What can go wrong talking OAuth or a mail API to a provider.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// 409: the operator configured no client for this provider.
    #[error("{0} is not configured on this server")]
    NotConfigured(&'static str),
    /// 400: the callback's state was refused.
    #[error(transparent)]
    InvalidState(#[from] state::StateError),
    /// The provider no longer accepts the grant (revoked, expired, password changed).
    #[error("the provider refused the grant (invalid_grant): the mailbox must be connected again")]
    InvalidGrant,
    /// The token endpoint refused or failed otherwise.
    #[error("the token endpoint failed: {0}")]
    TokenEndpoint(String),
    /// The mail API answered an error.
    #[error("the provider answered HTTP {status}: {message}")]
    Provider { status: u16, message: String },
    /// Still rate limited after every retry.
    #[error("the provider kept rate limiting after {attempts} attempts")]
    RateLimited { attempts: u32 },
    /// The provider could not be reached.
    #[error("could not reach the provider: {0}")]
    Unreachable(String),
    /// The provider's answer is not what its API documents.
    #[error("the provider's answer could not be read: {0}")]
    BadResponse(String),
    /// A configured URL is unusable.
    #[error("invalid OAuth configuration: {0}")]
    Config(String),
}

impl OAuthError {
    /// The short code put in the result page's `error=` when the callback fails after the state.
    pub fn redirect_code(&self) -> &'static str {
        match self {
            OAuthError::InvalidGrant | OAuthError::TokenEndpoint(_) => "token_exchange_failed",
            OAuthError::NotConfigured(_) => "provider_not_configured",
            _ => "provider_error",
        }
    }
}

/// A transport failure of a token request (for `oauth2`'s `AsyncHttpClient`).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request failed: {0}")]
    Send(#[from] reqwest::Error),
    #[error("unusable response: {0}")]
    Response(#[from] oauth2::http::Error),
}

/// `oauth2`'s HTTP client over the service's reqwest 0.13 client. A named type with a boxed
/// `Send` future rather than a closure, so the futures that use it stay `Send` for the worker.
struct OAuthHttp<'a>(&'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}

/// Sends an `oauth2` request with reqwest 0.13 (both speak `http` 1.x).
async fn send(
    client: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(reqwest::Error::without_url)?;
    let mut builder = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body)?)
}

/// An access token, the refresh token and the access token's expiry: what is sealed per account.
#[derive(Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The sealed form of a [`TokenSet`].
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// Whether the access token expires within [`REFRESH_MARGIN`] of `now`.
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at - now <= REFRESH_MARGIN)
    }

    /// Seals the tokens for `account` (same binding as an IMAP password).
    pub fn seal(&self, secrets: &SecretBox, account: AccountId) -> Result<Sealed, CryptoError> {
        let stored = StoredTokens {
            access_token: self.access_token.expose_secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            expires_at: self.expires_at,
        };
        let plain = serde_json::to_vec(&stored).map_err(|_| CryptoError::Malformed)?;
        secrets.seal(&plain, &crate::fetch::imap::secret_aad(account))
    }

    /// Opens the tokens of a stored OAuth account.
    pub fn open(account: &Account, secrets: &SecretBox) -> Result<Self, CryptoError> {
        let (Some(key_id), Some(secret)) = (&account.secret_key_id, &account.secret) else {
            return Err(CryptoError::Malformed);
        };
        let plain = secrets.open(key_id, secret, &crate::fetch::imap::secret_aad(account.id))?;
        let stored: StoredTokens = serde_json::from_slice(&plain).map_err(|_| CryptoError::Malformed)?;
        Ok(Self {
            access_token: SecretString::from(stored.access_token),
            refresh_token: stored.refresh_token.map(SecretString::from),
            expires_at: stored.expires_at,
        })
    }
}

type ConfiguredClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The provider-facing OAuth steps; shared by the handlers and the fetch worker.
#[derive(Debug)]
pub struct OAuth {
    config: OAuthConfig,
    http: reqwest::Client,
}

impl OAuth {
    /// Checks the configured URLs and builds the HTTP client (no redirects followed: a token
    /// endpoint that redirects is misconfigured, and following would resend credentials).
    pub fn new(config: OAuthConfig) -> Result<Self, OAuthError> {
        for provider in [config.gmail.as_ref(), config.outlook.as_ref()].into_iter().flatten() {
            for url in [&provider.auth_url, &provider.token_url, &provider.api_url] {
                url::Url::parse(url).map_err(|e| OAuthError::Config(format!("`{url}`: {e}")))?;
            }
        }
        url::Url::parse(&config.gmail_revoke_url)
            .map_err(|e| OAuthError::Config(format!("`{}`: {e}", config.gmail_revoke_url)))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| OAuthError::Config(e.to_string()))?;
        Ok(Self { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// The HTTP client the mail APIs are called with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn client(&self, provider: OAuthProvider) -> Result<ConfiguredClient, OAuthError> {
        let config = self.config.provider(provider)?;
        let bad = |e: oauth2::url::ParseError| OAuthError::Config(e.to_string());
        Ok(BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose_secret().to_owned()))
            .set_auth_uri(AuthUrl::new(config.auth_url.clone()).map_err(bad)?)
            .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(self.config.redirect_uri(provider)).map_err(bad)?)
            // Both Google and Microsoft accept the secret in the body (client_secret_post).
            .set_auth_type(AuthType::RequestBody))
    }

    /// The authorization URL for `state` with the PKCE S256 `challenge`.
    pub fn authorize_url(
        &self,
        provider: OAuthProvider,
        state: &str,
        challenge: PkceCodeChallenge,
    ) -> Result<String, OAuthError> {
        let client = self.client(provider)?;
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(provider.scopes().iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(challenge);
        if provider == OAuthProvider::Gmail {
            // Google issues a refresh token only for offline access, and again only on consent.
            request = request.add_extra_param("access_type", "offline").add_extra_param("prompt", "consent");
        }
        Ok(request.url().0.into())
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens.
    pub async fn exchange_code(
        &self,
        provider: OAuthProvider,
        code: String,
        verifier: String,
    ) -> Result<TokenSet, OAuthError> {
        let client = self.client(provider)?;
        let http = OAuthHttp(&self.http);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&http)
            .await
            .map_err(token_error)?;
        Ok(token_set(&response, None))
    }

    /// Gets a new access token with the refresh token; a provider that rotates refresh tokens
    /// (Microsoft) returns a new one, which replaces the old; one that does not (Google) keeps it.
    pub async fn refresh(&self, provider: OAuthProvider, tokens: &TokenSet) -> Result<TokenSet, OAuthError> {
        let refresh = tokens.refresh_token.as_ref().ok_or(OAuthError::InvalidGrant)?;
        let client = self.client(provider)?;
        let http = OAuthHttp(&self.http);
        let refresh = RefreshToken::new(refresh.expose_secret().to_owned());
        let response =
            client.exchange_refresh_token(&refresh).request_async(&http).await.map_err(token_error)?;
        Ok(token_set(&response, tokens.refresh_token.clone()))
    }

    /// Revokes a Gmail grant at Google (the refresh token, which revokes its access tokens too).
    /// Microsoft has no revocation endpoint for delegated tokens, so Outlook tokens are only dropped.
    pub async fn revoke(&self, provider: OAuthProvider, tokens: &TokenSet) -> Result<(), OAuthError> {
        if provider != OAuthProvider::Gmail {
            return Ok(());
        }
        let token = tokens.refresh_token.as_ref().unwrap_or(&tokens.access_token);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.expose_secret())
            .finish();
        let response = self
            .http
            .post(&self.config.gmail_revoke_url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let message = response.text().await.unwrap_or_default();
        Err(OAuthError::Provider { status: status.as_u16(), message: truncate(&message) })
    }

    /// The address of the mailbox the tokens open (Gmail's profile, Graph's `/me`).
    pub async fn mailbox_address(
        &self,
        provider: OAuthProvider,
        tokens: &TokenSet,
    ) -> Result<String, OAuthError> {
        let config = self.config.provider(provider)?;
        let api = crate::fetch::remote::ApiClient::new(&self.http, &tokens.access_token, &config.api_url);
        match provider {
            OAuthProvider::Gmail => crate::fetch::gmail::profile(&api).await.map(|p| p.email_address),
            OAuthProvider::Outlook => crate::fetch::graph::address(&api).await,
        }
    }
}

fn token_set(
    response: &oauth2::basic::BasicTokenResponse,
    previous_refresh: Option<SecretString>,
) -> TokenSet {
    let expires_at =
        response.expires_in().and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| Utc::now() + d);
    TokenSet {
        access_token: SecretString::from(response.access_token().secret().to_owned()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().to_owned()))
            .or(previous_refresh),
        expires_at,
    }
}

fn token_error(error: RequestTokenError<HttpError, oauth2::basic::BasicErrorResponse>) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response)
            if *response.error() == BasicErrorResponseType::InvalidGrant =>
        {
            OAuthError::InvalidGrant
        }
        // The error code and description are the provider's words about our request, not secrets.
        RequestTokenError::ServerResponse(response) => OAuthError::TokenEndpoint(format!(
            "{}{}",
            response.error(),
            response.error_description().map(|d| format!(": {}", truncate(d))).unwrap_or_default()
        )),
        RequestTokenError::Request(error) => OAuthError::Unreachable(error.to_string()),
        RequestTokenError::Parse(error, _) => {
            OAuthError::TokenEndpoint(format!("unreadable answer: {error}"))
        }
        RequestTokenError::Other(message) => OAuthError::TokenEndpoint(message),
    }
}

/// At most 300 characters of a provider's error text.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_refresh_within_the_margin_only() {
        let now = Utc::now();
        let tokens = |at: Option<DateTime<Utc>>| TokenSet {
            access_token: SecretString::from("a"),
            refresh_token: None,
            expires_at: at,
        };
        assert!(tokens(Some(now + chrono::Duration::seconds(30))).needs_refresh(now));
        assert!(tokens(Some(now - chrono::Duration::seconds(1))).needs_refresh(now));
        assert!(!tokens(Some(now + chrono::Duration::seconds(600))).needs_refresh(now));
        assert!(!tokens(None).needs_refresh(now));
    }

    #[test]
    fn result_urls_name_the_outcome() {
        let config = OAuthConfig {
            gmail: None,
            outlook: None,
            gmail_revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            gmail_query: String::new(),
            redirect_base: "http://p.test/".into(),
            public_url: "http://p.test/".into(),
        };
        assert_eq!(
            config.redirect_uri(OAuthProvider::Gmail),
            "http://p.test/v1/accounts/oauth/gmail/callback"
        );
        assert_eq!(
            config.result_url(OAuthProvider::Outlook, Ok(())),
            "http://p.test/accounts?connected=outlook"
        );
        assert_eq!(
            config.result_url(OAuthProvider::Gmail, Err("access_denied")),
            "http://p.test/accounts?error=access_denied&provider=gmail"
        );
        assert!(matches!(config.provider(OAuthProvider::Gmail), Err(OAuthError::NotConfigured("gmail"))));
    }
}
