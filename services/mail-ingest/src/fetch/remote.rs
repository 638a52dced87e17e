//! Fetching from mail APIs that name messages by id and track changes with a sync token:
//! Gmail (history id) and Microsoft Graph (delta link).
//!
//! [`RemoteMailbox`] is what a provider implements ([`super::gmail::GmailMailbox`],
//! [`super::graph::GraphMailbox`]): the message ids that changed since a sync token (or all of
//! them on a full sync) with the token to store afterwards, and one message's raw MIME.
//! [`fetch_remote`] is the one fetch loop over any of them. It skips ids already stored (no
//! download, counted as duplicates), downloads the rest in batches, and hands each batch to the
//! same [`Ingestor`] IMAP and uploads use; each batch commits with the job's counts, and the last
//! one also moves the cursor to the new sync token. A fetch that dies mid-way leaves the old token,
//! so the next one lists the same changes again and finds the committed ones already stored: no
//! gap, nothing stored twice.
//!
//! [`fetch_oauth_account`] opens the account's tokens, refreshes them when they are about to
//! expire (saving the new ones before fetching, so a rotated refresh token is never lost) and
//! runs the provider's mailbox. [`ApiClient`] is the bearer-authenticated GET both providers use,
//! retrying rate limits and transient failures with back-off.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::Rng as _;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::crypto::SecretBox;
use crate::error::IngestError;
use crate::fetch::imap::FetchOptions;
use crate::ingest::{FetchCounts, Incoming, Ingestor, Target};
use crate::models::Account;
use crate::oauth::{OAuth, OAuthError, OAuthProvider, TokenSet, truncate};
use crate::store;

/// Attempts per request before a rate limit or transient failure fails the fetch.
const MAX_ATTEMPTS: u32 = 5;
/// The first back-off without `Retry-After`; doubled on each retry.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// The longest single wait, whatever `Retry-After` asks.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What changed in a mailbox since a sync token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Ids of messages to store (possibly already stored), oldest listing order kept.
    pub ids: Vec<String>,
    /// The token to store once they are.
    pub sync_token: String,
}

/// A mailbox read through a provider's API; see the module documentation.
pub trait RemoteMailbox {
    /// The `fetch_cursors.mailbox` key of this source's sync token.
    const CURSOR: &'static str;

    /// Message ids changed since `sync_token`; everything the source selects when `None` or when
    /// the provider no longer knows the token (a full sync).
    fn changes(
        &mut self,
        sync_token: Option<&str>,
    ) -> impl Future<Output = Result<Changes, OAuthError>> + Send;

    /// One message's raw RFC 5322 bytes; `None` if it vanished since it was listed.
    fn raw(&mut self, id: &str) -> impl Future<Output = Result<Option<Vec<u8>>, OAuthError>> + Send;
}

/// A provider's answer to one GET.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The body as JSON of a 2xx answer; an error status becomes [`OAuthError::Provider`].
    pub fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, OAuthError> {
        let body = self.success()?;
        serde_json::from_slice(&body).map_err(|e| OAuthError::BadResponse(e.to_string()))
    }

    /// The body of a 2xx answer.
    pub fn success(self) -> Result<Vec<u8>, OAuthError> {
        if self.status.is_success() {
            Ok(self.body)
        } else {
            Err(OAuthError::Provider {
                status: self.status.as_u16(),
                message: truncate(&String::from_utf8_lossy(&self.body)),
            })
        }
    }
}

/// Bearer-authenticated GETs to one provider's API, with bounded retries.
#[derive(Debug, Clone, Copy)]
pub struct ApiClient<'a> {
    http: &'a reqwest::Client,
    token: &'a SecretString,
    base: &'a str,
}

impl<'a> ApiClient<'a> {
    /// A client for the API at `base` with `token`.
    pub fn new(http: &'a reqwest::Client, token: &'a SecretString, base: &'a str) -> Self {
        Self { http, token, base }
    }

    /// `base` + path `segments` + `query`.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<url::Url, OAuthError> {
        let mut url = url::Url::parse(self.base).map_err(|e| OAuthError::Config(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| OAuthError::Config(format!("`{}` cannot be a base URL", self.base)))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Parses a link the provider handed back (a Graph next or delta link), refusing one that
    /// points anywhere but the configured API: the bearer token must never go elsewhere.
    pub fn link(&self, link: &str) -> Result<url::Url, OAuthError> {
        let url = url::Url::parse(link).map_err(|e| OAuthError::BadResponse(format!("bad link: {e}")))?;
        let base = url::Url::parse(self.base).map_err(|e| OAuthError::Config(e.to_string()))?;
        if url.origin() != base.origin() {
            return Err(OAuthError::BadResponse("a link points outside the configured API".into()));
        }
        Ok(url)
    }

    /// GETs `url`, retrying 429, 5xx, Gmail's rate-limit 403s and transport failures up to
    /// [`MAX_ATTEMPTS`] times, waiting `Retry-After` when given, else exponential back-off with
    /// jitter. Other answers (including 404 and 410) are returned for the caller to read.
    pub async fn get(&self, url: &url::Url) -> Result<ApiResponse, OAuthError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self.http.get(url.as_str()).bearer_auth(self.token.expose_secret()).send().await;
            let (retry_after, failure) = match sent {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(&response);
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| OAuthError::Unreachable(e.without_url().to_string()))?
                        .to_vec();
                    if !is_retryable(status, &body) {
                        return Ok(ApiResponse { status, body });
                    }
                    (retry_after, format!("HTTP {status}"))
                }
                Err(error) => (None, error.without_url().to_string()),
            };
            if attempt >= MAX_ATTEMPTS {
                return Err(if failure.starts_with("HTTP") {
                    OAuthError::RateLimited { attempts: attempt }
                } else {
                    OAuthError::Unreachable(failure)
                });
            }
            let wait = retry_after.unwrap_or_else(|| backoff(attempt)).min(MAX_BACKOFF);
            tracing::info!(
                http.path = url.path(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "provider answered {failure}; retrying in {} ms",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Exponential back-off with up to 50 % jitter, so throttled workers do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(10));
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2);
    base + Duration::from_millis(jitter)
}

/// `Retry-After` in seconds (the form Google and Microsoft send).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// 429 and 5xx always; 403 only when Google says it is a rate limit (a real 403 is final).
fn is_retryable(status: StatusCode, body: &[u8]) -> bool {
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return true;
    }
    if status == StatusCode::FORBIDDEN {
        #[derive(serde::Deserialize)]
        struct Body {
            error: Detail,
        }
        #[derive(serde::Deserialize)]
        struct Detail {
            #[serde(default)]
            errors: Vec<Reason>,
        }
        #[derive(serde::Deserialize)]
        struct Reason {
            #[serde(default)]
            reason: String,
        }
        return serde_json::from_slice::<Body>(body).is_ok_and(|b| {
            b.error
                .errors
                .iter()
                .any(|e| matches!(e.reason.as_str(), "rateLimitExceeded" | "userRateLimitExceeded"))
        });
    }
    false
}

/// Opens an OAuth account's tokens, refreshes them if they expire within a minute (saving them
/// first), and fetches its mailbox. `invalid_grant` comes back as [`OAuthError::InvalidGrant`]
/// for the runner to mark the account.
pub async fn fetch_oauth_account(
    conn: &mut AsyncPgConnection,
    account: &Account,
    secrets: &SecretBox,
    oauth: &OAuth,
    target: Target,
    options: FetchOptions,
) -> Result<FetchCounts, IngestError> {
    let provider = OAuthProvider::from_provider(account.provider).ok_or_else(|| {
        IngestError::Internal(anyhow::anyhow!("account {} is not an OAuth account", account.id))
    })?;
    let config = oauth.config().provider(provider)?;
    let mut tokens = TokenSet::open(account, secrets)?;
    if tokens.needs_refresh(Utc::now()) {
        tokens = oauth.refresh(provider, &tokens).await?;
        let sealed = tokens.seal(secrets, account.id)?;
        store::accounts::set_secret(conn, account.id, &sealed).await?;
        tracing::info!(
            account.id = %account.id,
            job.id = %target.fetch_job,
            "refreshed the access token of account {}",
            account.id
        );
    }
    let api = ApiClient::new(oauth.http(), &tokens.access_token, &config.api_url);
    match provider {
        OAuthProvider::Gmail => {
            let mut mailbox = super::gmail::GmailMailbox::new(api, &oauth.config().gmail_query);
            fetch_remote(conn, account, &mut mailbox, target, options).await
        }
        OAuthProvider::Outlook => {
            let mut mailbox = super::graph::GraphMailbox::new(api);
            fetch_remote(conn, account, &mut mailbox, target, options).await
        }
    }
}

/// Runs one fetch of `mailbox` for the (RUNNING) fetch job in `target`; see the module
/// documentation. Returns the counts; the caller finishes the job.
pub async fn fetch_remote<M: RemoteMailbox>(
    conn: &mut AsyncPgConnection,
    account: &Account,
    mailbox: &mut M,
    target: Target,
    options: FetchOptions,
) -> Result<FetchCounts, IngestError> {
    let stored = store::cursors::sync_token(conn, account.id, M::CURSOR).await?;
    let changes = mailbox.changes(stored.as_deref()).await?;
    let mut seen = HashSet::new();
    let ids: Vec<String> = changes.ids.into_iter().filter(|id| seen.insert(id.clone())).collect();
    let mut ingestor = Ingestor::resume(conn, target).await?;
    let chunks: Vec<&[String]> = ids.chunks(options.batch_size.max(1)).collect();
    if chunks.is_empty() {
        store::cursors::set_sync_token(conn, account.id, M::CURSOR, &changes.sync_token).await?;
    }
    let last = chunks.len().saturating_sub(1);
    for (index, chunk) in chunks.into_iter().enumerate() {
        if crate::fetch::imap::is_cancelled(conn, target).await? {
            tracing::info!(job.id = %target.fetch_job, "fetch job {} cancelled; stopping", target.fetch_job);
            return Err(IngestError::Cancelled);
        }
        let known = store::emails::existing_provider_ids(conn, target.user, target.provider, chunk).await?;
        let mut batch = Vec::new();
        for id in chunk.iter().filter(|id| !known.contains(*id)) {
            if let Some(raw) = mailbox.raw(id).await? {
                batch.push(Incoming { raw, provider_message_id: Some(id.clone()), received_at: None });
            }
        }
        let ingestor_ref = &mut ingestor;
        let token = (index == last).then_some(changes.sync_token.as_str());
        let known = known.len() as u64;
        conn.transaction(async |conn| {
            let mut delta = ingestor_ref.store(conn, batch).await?;
            delta.add(ingestor_ref.count_known_duplicates(known));
            if let Some(token) = token {
                store::cursors::set_sync_token(conn, account.id, M::CURSOR, token).await?;
            }
            store::jobs::add_counts(conn, target.fetch_job, &delta.as_deltas()).await?;
            Ok::<_, IngestError>(())
        })
        .await?;
    }
    store::accounts::touch_fetched(conn, account.id).await?;
    Ok(ingestor.counts())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_transient_failures_are_retried() {
        let limit =
            br#"{"error":{"code":403,"errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded"}]}}"#;
        let denied = br#"{"error":{"code":403,"errors":[{"domain":"global","reason":"forbidden"}]}}"#;
        assert!(is_retryable(StatusCode::FORBIDDEN, limit));
        assert!(!is_retryable(StatusCode::FORBIDDEN, denied));
        assert!(!is_retryable(StatusCode::FORBIDDEN, b"not json"));
        assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS, b""));
        assert!(is_retryable(StatusCode::SERVICE_UNAVAILABLE, b""));
        assert!(!is_retryable(StatusCode::NOT_FOUND, b""));
        assert!(!is_retryable(StatusCode::GONE, b""));
        assert!(backoff(1) >= BASE_BACKOFF && backoff(1) <= BASE_BACKOFF * 3 / 2);
        assert!(backoff(30) <= BASE_BACKOFF * 1024 * 3 / 2);
    }

    #[test]
    fn links_must_stay_on_the_configured_api() {
        let http = reqwest::Client::new();
        let token = SecretString::from("t");
        let api = ApiClient::new(&http, &token, "https://graph.microsoft.com/v1.0");
        let url =
            api.url(&["me", "mailFolders('inbox')", "messages", "delta"], &[("$select", "id")]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.microsoft.com/v1.0/me/mailFolders('inbox')/messages/delta?%24select=id"
        );
        assert!(api.link("https://graph.microsoft.com/v1.0/me/x?$deltatoken=1").is_ok());
        assert!(api.link("https://evil.test/v1.0/me").is_err());
        assert!(api.link("not a url").is_err());
    }
}
