//! The HTTP client of Penny's public API (through the gateway): sends requests with the stored
//! session's access token, refreshes the token pair when the access token has expired (or the
//! server says it has), and turns error answers into [`CliError`]s.

use std::time::Duration;

use chrono::Utc;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::credentials::{CredentialStore, Session};
use crate::error::{CliError, ErrorBody};
use crate::models::TokenPair;

/// Refresh the access token when it has less than this many seconds left.
const EXPIRY_MARGIN_SECS: i64 = 30;

const WHAT: &str = "the Penny gateway";

/// A client of one gateway, with the credentials store it logs in to.
#[derive(Debug)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
    store: CredentialStore,
    session: Option<Session>,
}

impl ApiClient {
    /// A client of the gateway at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, store: CredentialStore) -> Result<Self, CliError> {
        let parsed = url::Url::parse(base)
            .map_err(|e| CliError::Usage(format!("--url `{base}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::Usage(format!("--url `{base}` must be http:// or https://")));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(CliError::Usage("--url must not carry credentials: use `penny login`".into()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("penny-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Protocol { what: "the HTTP client", detail: e.to_string() })?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), http, store, session: None })
    }

    /// The gateway's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The credentials store.
    pub fn store(&self) -> &CredentialStore {
        &self.store
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The underlying HTTP client, for requests without a session (login, register).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request and returns the answer if its status is a success, the API error if not.
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, CliError> {
        let response = request.send().await.map_err(|e| CliError::from_http(WHAT, &self.base, e))?;
        check(response).await
    }

    /// Logs in: stores the new session and returns it.
    pub async fn login(&mut self, login: &str, password: &SecretString) -> Result<(), CliError> {
        let request = self
            .http
            .post(self.url("/v1/auth/login"))
            .json(&json!({"login": login, "password": password.expose_secret()}));
        let pair: TokenPair = read_json(self.send(request).await?).await?;
        let session = session_from(pair, Some(login.to_owned()));
        self.store.save(&self.base, &session)?;
        self.session = Some(session);
        Ok(())
    }

    /// The stored session, loaded once.
    pub fn session(&mut self) -> Result<&Session, CliError> {
        if self.session.is_none() {
            self.session = self.store.load(&self.base)?;
        }
        self.session.as_ref().ok_or_else(|| CliError::NotLoggedIn { url: self.base.clone() })
    }

    /// A valid access token, refreshing the pair first when it has expired.
    pub async fn access_token(&mut self) -> Result<SecretString, CliError> {
        let expired = self.session()?.access_expired(Utc::now(), EXPIRY_MARGIN_SECS);
        if expired {
            self.refresh().await?;
        }
        Ok(self.session()?.access_token.clone())
    }

    /// Trades the refresh token for a new pair and stores it. A refused refresh token means the
    /// session is over: it is forgotten and the user is told to log in again.
    pub async fn refresh(&mut self) -> Result<(), CliError> {
        let current = self.session()?.clone();
        let request = self
            .http
            .post(self.url("/v1/auth/refresh"))
            .json(&json!({"refresh_token": current.refresh_token.expose_secret()}));
        match self.send(request).await {
            Ok(response) => {
                let pair: TokenPair = read_json(response).await?;
                let session = session_from(pair, current.login);
                self.store.save(&self.base, &session)?;
                self.session = Some(session);
                Ok(())
            }
            Err(CliError::Api { status: 401, .. }) => {
                self.store.remove(&self.base)?;
                self.session = None;
                Err(CliError::SessionExpired { url: self.base.clone() })
            }
            Err(other) => Err(other),
        }
    }

    /// Sends an authenticated request built by `build` (called again, with a fresh token, if the
    /// server answers 401 to a token the client thought valid).
    pub async fn execute(
        &mut self,
        build: impl Fn(&reqwest::Client, &str) -> RequestBuilder,
    ) -> Result<Response, CliError> {
        let token = self.access_token().await?;
        let first = build(&self.http, token.expose_secret())
            .send()
            .await
            .map_err(|e| CliError::from_http(WHAT, &self.base, e))?;
        if first.status() != StatusCode::UNAUTHORIZED {
            return check(first).await;
        }
        self.refresh().await?;
        let token = self.access_token().await?;
        let second = build(&self.http, token.expose_secret())
            .send()
            .await
            .map_err(|e| CliError::from_http(WHAT, &self.base, e))?;
        check(second).await
    }

    /// An authenticated request without a body; the answer if it succeeded.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response, CliError> {
        let url = self.url(path);
        self.execute(|http, token| {
            let mut request = http.request(method.clone(), &url).bearer_auth(token).query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            request
        })
        .await
    }

    /// `GET path?query` as JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, CliError> {
        read_json(self.request(Method::GET, path, query, None).await?).await
    }

    /// `POST path` with a JSON body, answer as JSON.
    pub async fn post_json<T: DeserializeOwned>(&mut self, path: &str, body: &Value) -> Result<T, CliError> {
        read_json(self.request(Method::POST, path, &[], Some(body)).await?).await
    }

    /// Every item of a list endpoint, following cursors, up to `limit` items (all when `None`).
    pub async fn list_all<T: DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, String)],
        limit: Option<usize>,
    ) -> Result<Vec<T>, CliError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let want = limit.map_or(500, |l| l.saturating_sub(items.len()).clamp(1, 500));
            let mut page_query = query.to_vec();
            page_query.push(("limit", want.to_string()));
            if let Some(cursor) = &cursor {
                page_query.push(("cursor", cursor.clone()));
            }
            let page: crate::models::Page<T> = self.get_json(path, &page_query).await?;
            items.extend(page.items);
            if limit.is_some_and(|l| items.len() >= l) {
                items.truncate(limit.unwrap_or(usize::MAX));
                return Ok(items);
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}

fn session_from(pair: TokenPair, login: Option<String>) -> Session {
    Session {
        login,
        access_token: SecretString::from(pair.access_token),
        refresh_token: SecretString::from(pair.refresh_token),
        expires_at: Utc::now() + chrono::Duration::seconds(pair.expires_in),
    }
}

/// The answer if its status is a success, else the error its body describes.
pub async fn check(response: Response) -> Result<Response, CliError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.bytes().await.unwrap_or_default();
    Err(ErrorBody::into_error(&body, status))
}

/// The answer's body as JSON of type `T`.
pub async fn read_json<T: DeserializeOwned>(response: Response) -> Result<T, CliError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CliError::Protocol { what: WHAT, detail: crate::error::chain(&e.without_url()) })?;
    serde_json::from_slice(&bytes).map_err(|e| CliError::Protocol { what: WHAT, detail: e.to_string() })
}
