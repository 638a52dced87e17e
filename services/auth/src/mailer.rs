//! Outgoing mail: SMTP in production, a folder of `.eml` files in development.
//!
//! The development mailer writes each message to its own file and logs where, never what: the
//! log must not carry reset codes, and the file is on the developer's own machine.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// A message to send.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message could not be built (a bad address).
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached. Only the reply code is kept: a server's
    /// reply text often quotes the recipient's address, which must not reach the logs.
    #[error("SMTP delivery failed ({0})")]
    Smtp(String),
    /// The mail folder could not be written.
    #[error("cannot write the mail file: {0}")]
    Io(#[from] std::io::Error),
}

/// Something that delivers mail.
pub trait Mailer: Send + Sync {
    /// Delivers one message.
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>>;
}

fn build(from: &Mailbox, mail: Mail) -> Result<Message, MailError> {
    let to = Mailbox::from_str(&mail.to).map_err(|e| MailError::Build(e.to_string()))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Delivers through an SMTP server.
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp://`, `smtps://`, `?tls=required` for STARTTLS).
    pub fn new(url: &SecretString, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("invalid smtp_url: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .build();
        let from = Mailbox::from_str(from).map_err(|e| anyhow::anyhow!("invalid mail_from: {e}"))?;
        Ok(Self { from, transport })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async move {
            let message = build(&self.from, mail)?;
            self.transport.send(message).await.map_err(|error| {
                let kind = if error.is_permanent() {
                    "permanent"
                } else if error.is_transient() {
                    "transient"
                } else if error.is_timeout() {
                    "timeout"
                } else {
                    "connection or protocol"
                };
                let code = error.status().map(|code| code.to_string()).unwrap_or_else(|| "none".into());
                MailError::Smtp(format!("{kind} error, reply code {code}"))
            })?;
            tracing::debug!("mail handed to the SMTP server");
            Ok(())
        })
    }
}

/// Writes every message to a folder (development and tests).
pub struct DirMailer {
    from: Mailbox,
    dir: PathBuf,
}

impl DirMailer {
    /// A mailer writing into `dir`, created if missing.
    pub fn new(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create the mail folder {}: {e}", dir.display()))?;
        let from = Mailbox::from_str(from).map_err(|e| anyhow::anyhow!("invalid mail_from: {e}"))?;
        Ok(Self { from, dir })
    }
}

impl Mailer for DirMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'_, Result<(), MailError>> {
        Box::pin(async move {
            let message = build(&self.from, mail)?;
            let name =
                format!("{}-{}.eml", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"), uuid::Uuid::now_v7());
            let path = self.dir.join(name);
            // Write then rename, so a reader never sees half a message.
            let partial = path.with_extension("part");
            tokio::fs::write(&partial, message.formatted()).await?;
            tokio::fs::rename(&partial, &path).await?;
            tracing::info!(mail.file = %path.display(), "wrote a mail to the development mail folder");
            Ok(())
        })
    }
}

/// The reset code mail.
pub fn reset_code_mail(to: &str, code: &SecretString, ttl_minutes: u64) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: "Your Penny password reset code".to_owned(),
        body: format!(
            "Someone asked to reset the password of your Penny account.\r\n\r\n\
             Your code is: {}\r\n\r\n\
             It works once and expires in {ttl_minutes} minutes. If you did not ask for it, \
             ignore this mail: your password stays as it is.\r\n",
            code.expose_secret()
        ),
    }
}
