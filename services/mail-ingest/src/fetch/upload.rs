//! Uploads: an mbox (`application/mbox`) or one message (`message/rfc822`) streamed in a request
//! body into storage, in constant memory.
//!
//! Messages are split off the body as it arrives ([`crate::mbox::MboxReader`]) and stored in
//! batches, so memory holds at most one batch and one message, whatever the size of the file.
//!
//! The whole upload is one database transaction, run by the caller: a body that breaks off (a
//! client that disconnects, a gateway that cuts a body over its limit) or that goes over the
//! configured limit keeps nothing, not even the messages before the break, because a partial
//! upload cannot be told apart from a complete one by its content. The client sends the file
//! again; since emails are stored once, that is always safe.

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use diesel_async::AsyncPgConnection;
use futures::{Stream, StreamExt};

use crate::error::IngestError;
use crate::ingest::{Incoming, Ingestor};
use crate::mbox::{Item, MboxReader};

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadKind {
    /// An mbox export (mboxrd or mboxo).
    Mbox,
    /// One RFC 5322 message (.eml).
    Eml,
}

impl UploadKind {
    /// The kind for a `Content-Type` essence, if accepted.
    pub fn from_media_type(essence: &str) -> Option<Self> {
        match essence.trim().to_ascii_lowercase().as_str() {
            "application/mbox" => Some(UploadKind::Mbox),
            "message/rfc822" => Some(UploadKind::Eml),
            _ => None,
        }
    }
}

/// Bounds of one upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// The largest single message kept; a larger one is recorded and skipped.
    pub max_message_bytes: usize,
    /// Messages stored per batch.
    pub batch_messages: usize,
    /// Raw bytes held before a batch is stored, whatever its count.
    pub batch_bytes: usize,
}

/// Streams `body` into storage through `ingestor`, on the caller's (open) transaction.
pub async fn import<S>(
    conn: &mut AsyncPgConnection,
    ingestor: &mut Ingestor,
    kind: UploadKind,
    limits: UploadLimits,
    mut body: S,
) -> Result<(), IngestError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    let mut received: u64 = 0;
    match kind {
        UploadKind::Mbox => {
            let mut reader = MboxReader::new(limits.max_message_bytes);
            let mut batch = Batch::default();
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                received += chunk.len() as u64;
                if received > limits.max_bytes {
                    return Err(IngestError::TooLarge { limit: limits.max_bytes });
                }
                for item in reader.feed(&chunk) {
                    batch.add(conn, ingestor, item, &limits).await?;
                }
            }
            for item in reader.finish() {
                batch.add(conn, ingestor, item, &limits).await?;
            }
            batch.flush(conn, ingestor).await?;
        }
        UploadKind::Eml => {
            let mut raw = Vec::new();
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                received += chunk.len() as u64;
                if received > limits.max_bytes || raw.len() + chunk.len() > limits.max_message_bytes {
                    let limit = limits.max_bytes.min(limits.max_message_bytes as u64);
                    return Err(IngestError::TooLarge { limit });
                }
                raw.extend_from_slice(&chunk);
            }
            if raw.iter().all(u8::is_ascii_whitespace) {
                return Err(IngestError::bad_request("empty_upload", "the body holds no message"));
            }
            ingestor.store(conn, vec![Incoming::raw(raw)]).await?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Batch {
    messages: Vec<Incoming>,
    bytes: usize,
}

impl Batch {
    /// Adds one item, storing the batch when it is full (or before a skipped message, so
    /// messages keep their positions in the job's notes).
    async fn add(
        &mut self,
        conn: &mut AsyncPgConnection,
        ingestor: &mut Ingestor,
        item: Item,
        limits: &UploadLimits,
    ) -> Result<(), IngestError> {
        match item {
            Item::Message(raw) => {
                self.bytes += raw.len();
                self.messages.push(Incoming::raw(raw));
                if self.messages.len() >= limits.batch_messages || self.bytes >= limits.batch_bytes {
                    self.flush(conn, ingestor).await?;
                }
            }
            Item::TooLarge(size) => {
                self.flush(conn, ingestor).await?;
                let max = limits.max_message_bytes;
                ingestor.skip(format!("the message is {size} bytes, over the limit of {max}"));
            }
        }
        Ok(())
    }

    async fn flush(
        &mut self,
        conn: &mut AsyncPgConnection,
        ingestor: &mut Ingestor,
    ) -> Result<(), IngestError> {
        if self.messages.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        ingestor.store(conn, std::mem::take(&mut self.messages)).await?;
        Ok(())
    }
}
