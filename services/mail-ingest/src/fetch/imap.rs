//! IMAP: connecting (implicit TLS, STARTTLS or plain), logging in, and fetching incrementally.
//!
//! [`ImapClient`] is the thin protocol layer over `async-imap`; [`fetch_account`] is the fetch
//! of one account: it selects the mailbox, compares its UIDVALIDITY with the stored cursor (a
//! change means every UID may have been reassigned, so the mailbox is read again from the
//! start; messages already stored are recognised by their `Message-ID` and counted as
//! duplicates), then fetches the UIDs above the cursor in batches, committing each batch's
//! emails together with the cursor that covers them. A fetch killed mid-way resumes after the
//! last committed batch: no gap, no duplicate.
//!
//! TLS uses rustls with the aws-lc-rs provider passed explicitly (so no process-wide provider is
//! needed) and the Mozilla roots from `webpki-roots`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures::TryStreamExt;
use penny_contract::TlsMode;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::error::IngestError;
use crate::ingest::{FetchCounts, Incoming, Ingestor, Target};
use crate::models::{Account, ImapSettings};
use crate::store;
use crate::store::cursors::ImapCursor;

/// How long connecting (TCP, TLS, greeting and login) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What can go wrong talking to a mail server.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The server refused the username or password.
    #[error("the mail server refused the credentials")]
    LoginFailed,
    /// The server could not be reached or the TLS handshake failed.
    #[error("could not connect to the mail server: {0}")]
    Connect(String),
    /// The mailbox does not exist.
    #[error("the mailbox `{0}` does not exist")]
    NoMailbox(String),
    /// The server answered something unexpected.
    #[error("IMAP protocol error: {0}")]
    Protocol(String),
    /// The server does not report UIDVALIDITY, so no incremental fetch is possible.
    #[error("the mail server reports no UIDVALIDITY")]
    NoUidValidity,
    /// A command took too long.
    #[error("the mail server did not answer in time")]
    Timeout,
}

impl From<async_imap::error::Error> for ImapError {
    fn from(error: async_imap::error::Error) -> Self {
        ImapError::Protocol(error.to_string())
    }
}

/// How to reach and log in to a mailbox.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub settings: ImapSettings,
    pub password: SecretString,
}

/// A plain or TLS connection.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

fn tls_connector() -> Result<TlsConnector, ImapError> {
    let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ImapError::Connect(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn tls(stream: TcpStream, host: &str) -> Result<ImapStream, ImapError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| ImapError::Connect(format!("`{host}` is not a valid server name")))?;
    let stream = tls_connector()?
        .connect(name, stream)
        .await
        .map_err(|e| ImapError::Connect(format!("TLS handshake failed: {e}")))?;
    Ok(ImapStream::Tls(Box::new(stream)))
}

/// The state of the selected mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxState {
    pub uid_validity: u32,
    pub exists: u32,
}

/// A logged-in IMAP session.
pub struct ImapClient {
    session: async_imap::Session<ImapStream>,
}

impl std::fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImapClient")
    }
}

async fn timed<T>(
    future: impl Future<Output = Result<T, ImapError>>,
    limit: Duration,
) -> Result<T, ImapError> {
    tokio::time::timeout(limit, future).await.map_err(|_| ImapError::Timeout)?
}

impl ImapClient {
    /// Connects, secures the connection as configured and logs in.
    pub async fn connect(config: &ImapConfig) -> Result<Self, ImapError> {
        timed(Self::connect_inner(config), CONNECT_TIMEOUT).await
    }

    async fn connect_inner(config: &ImapConfig) -> Result<Self, ImapError> {
        let settings = &config.settings;
        let tcp = TcpStream::connect((settings.host.as_str(), settings.port))
            .await
            .map_err(|e| ImapError::Connect(format!("{}:{}: {e}", settings.host, settings.port)))?;
        let stream = match settings.tls {
            TlsMode::Implicit => tls(tcp, &settings.host).await?,
            TlsMode::Starttls | TlsMode::None => ImapStream::Plain(tcp),
        };
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| ImapError::Connect(format!("no greeting: {e}")))?
            .ok_or_else(|| ImapError::Connect("the server closed the connection".into()))?;
        if settings.tls == TlsMode::Starttls {
            client.run_command_and_check_ok("STARTTLS", None).await?;
            let ImapStream::Plain(tcp) = client.into_inner() else {
                return Err(ImapError::Protocol("STARTTLS on a TLS connection".into()));
            };
            client = async_imap::Client::new(tls(tcp, &settings.host).await?);
        }
        match client.login(&settings.username, config.password.expose_secret()).await {
            Ok(session) => Ok(Self { session }),
            Err((async_imap::error::Error::No(_), _)) => Err(ImapError::LoginFailed),
            Err((error, _)) => Err(error.into()),
        }
    }

    /// Selects `mailbox`.
    pub async fn select(&mut self, mailbox: &str) -> Result<MailboxState, ImapError> {
        let selected = timed(
            async {
                self.session.select(mailbox).await.map_err(|e| match e {
                    async_imap::error::Error::No(_) => ImapError::NoMailbox(mailbox.to_owned()),
                    other => other.into(),
                })
            },
            COMMAND_TIMEOUT,
        )
        .await?;
        Ok(MailboxState {
            uid_validity: selected.uid_validity.ok_or(ImapError::NoUidValidity)?,
            exists: selected.exists,
        })
    }

    /// The UIDs of the selected mailbox above `last_uid`, ascending.
    pub async fn uids_after(&mut self, last_uid: u32) -> Result<Vec<u32>, ImapError> {
        let from = last_uid.saturating_add(1);
        let found =
            timed(async { Ok(self.session.uid_search(format!("UID {from}:*")).await?) }, COMMAND_TIMEOUT)
                .await?;
        // `n:*` always matches the highest UID, even below n: filter.
        let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > last_uid).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Fetches the raw messages with these UIDs.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<(u32, Incoming)>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let fetched = timed(
            async {
                let stream = self.session.uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])").await?;
                let fetches: Vec<async_imap::types::Fetch> = stream.try_collect().await?;
                Ok(fetches)
            },
            COMMAND_TIMEOUT,
        )
        .await?;
        let mut messages: Vec<(u32, Incoming)> = fetched
            .iter()
            .filter_map(|fetch| {
                let uid = fetch.uid?;
                let raw = fetch.body()?.to_vec();
                let received_at = fetch.internal_date().map(|d| d.with_timezone(&Utc));
                Some((uid, Incoming { raw, provider_message_id: None, received_at }))
            })
            .collect();
        messages.sort_by_key(|(uid, _)| *uid);
        Ok(messages)
    }

    /// Logs out (best effort).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Checks that `config` logs in and its mailbox exists (before an account is saved).
pub async fn verify(config: &ImapConfig) -> Result<(), ImapError> {
    let mut client = ImapClient::connect(config).await?;
    let selected = client.select(&config.settings.mailbox).await;
    client.logout().await;
    selected.map(|_| ())
}

/// Fetch tuning.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// Messages per batch (one transaction each).
    pub batch_size: usize,
    /// Automatic retries of a fetch that failed for a passing reason.
    pub retry: crate::fetch::runner::RetryPolicy,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self { batch_size: 100, retry: crate::fetch::runner::RetryPolicy::default() }
    }
}

/// Runs one fetch of an IMAP account for the (RUNNING) fetch job in `target`; see the module
/// documentation. Returns the counts; the caller finishes the job.
pub async fn fetch_account(
    conn: &mut AsyncPgConnection,
    account: &Account,
    config: &ImapConfig,
    target: Target,
    options: FetchOptions,
) -> Result<FetchCounts, IngestError> {
    let mailbox = config.settings.mailbox.clone();
    let mut client = ImapClient::connect(config).await?;
    let state = client.select(&mailbox).await?;
    let stored = store::cursors::imap(conn, account.id, &mailbox).await?;
    let mut cursor = match stored {
        Some(cursor) if cursor.uid_validity == state.uid_validity => cursor,
        Some(old) => {
            tracing::info!(
                account.id = %account.id,
                job.id = %target.fetch_job,
                uid_validity.old = old.uid_validity,
                uid_validity.new = state.uid_validity,
                "UIDVALIDITY of account {} changed; reading the mailbox again",
                account.id
            );
            ImapCursor { uid_validity: state.uid_validity, last_uid: 0 }
        }
        None => ImapCursor { uid_validity: state.uid_validity, last_uid: 0 },
    };
    let uids = client.uids_after(cursor.last_uid).await?;
    let mut ingestor = Ingestor::resume(conn, target).await?;
    if uids.is_empty() {
        store::cursors::set_imap(conn, account.id, &mailbox, cursor).await?;
    }
    for chunk in uids.chunks(options.batch_size.max(1)) {
        if is_cancelled(conn, target).await? {
            tracing::info!(job.id = %target.fetch_job, "fetch job {} cancelled; stopping", target.fetch_job);
            return Err(IngestError::Cancelled);
        }
        let messages = client.fetch(chunk).await?;
        // The cursor covers the whole chunk, including UIDs that vanished meanwhile.
        let last_uid = chunk.last().copied().unwrap_or(cursor.last_uid);
        let batch: Vec<Incoming> = messages.into_iter().map(|(_, m)| m).collect();
        let ingestor_ref = &mut ingestor;
        let next = ImapCursor { uid_validity: cursor.uid_validity, last_uid };
        let mailbox_ref = mailbox.as_str();
        conn.transaction(async |conn| {
            let delta = ingestor_ref.store(conn, batch).await?;
            store::cursors::set_imap(conn, account.id, mailbox_ref, next).await?;
            store::jobs::add_counts(conn, target.fetch_job, &delta.as_deltas()).await?;
            Ok::<_, IngestError>(())
        })
        .await?;
        cursor = next;
    }
    client.logout().await;
    store::accounts::touch_fetched(conn, account.id).await?;
    Ok(ingestor.counts())
}

/// Whether the fetch job was cancelled or asked to stop (checked at each batch boundary, before
/// the batch is downloaded).
pub(crate) async fn is_cancelled(conn: &mut AsyncPgConnection, target: Target) -> Result<bool, IngestError> {
    store::jobs::cancel_requested(conn, target.fetch_job).await
}

/// The associated data that binds an account's sealed secret to the account.
pub fn secret_aad(account: penny_contract::AccountId) -> Vec<u8> {
    let mut aad = b"penny:connected_accounts.secret:".to_vec();
    aad.extend_from_slice(account.as_uuid().as_bytes());
    aad
}

impl ImapConfig {
    /// The configuration of a stored IMAP account, its password opened with `secrets`.
    pub fn from_account(account: &Account, secrets: &crate::crypto::SecretBox) -> Result<Self, IngestError> {
        let settings: ImapSettings = serde_json::from_value(account.settings.clone())?;
        let (Some(key_id), Some(secret)) = (&account.secret_key_id, &account.secret) else {
            return Err(IngestError::Internal(anyhow::anyhow!(
                "IMAP account {} has no password",
                account.id
            )));
        };
        let password = secrets.open_text(key_id, secret, &secret_aad(account.id))?;
        Ok(Self { settings, password })
    }
}
