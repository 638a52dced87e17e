//! Storing fetched mail: the step every fetcher (upload, IMAP, …) shares.
//!
//! An [`Ingestor`] takes raw messages for one account and one fetch job. Each is parsed with
//! `penny-mailtext`; a message that cannot be parsed is recorded and skipped; the others are
//! inserted once per `(user_id, provider, provider_message_id)`. For every email new to the store
//! it writes one `extraction.requested` to the outbox, all under one child `EMAIL_EXTRACTION` job
//! of the fetch, created with the first new email and counted as emails are added. Everything
//! happens on the caller's connection, inside the caller's transaction, so a fetcher can advance
//! its cursor in the same commit as the emails it covers.
//!
//! The provider message id is the `Message-ID` header where there is one (so the same message
//! uploaded twice, or seen again after an IMAP resync, is one email), or else `sha256:` and the
//! raw message's checksum; Gmail and Graph pass their own ids.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use penny_contract::events::{ExtractionRequested, cap_body};
use penny_contract::{
    AccountId, EmailId, Envelope, JobId, JobStatus, JobType, Provider, RequestId, TriggeredBy, UserId,
};
use penny_mailtext::parse_message;
use serde::Serialize;

use crate::error::IngestError;
use crate::models::{NewEmail, NewJob};
use crate::store;

/// How many malformed messages are described in a job's output (the count is always exact).
const MAX_MALFORMED_NOTES: usize = 20;

/// One raw message from a fetcher.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The raw RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// The provider's id for the message, if it has a stable one (Gmail, Graph).
    pub provider_message_id: Option<String>,
    /// When the provider received it (IMAP INTERNALDATE), used when the message has no `Date`.
    pub received_at: Option<DateTime<Utc>>,
}

impl Incoming {
    /// A message with nothing known besides its bytes (an upload).
    pub fn raw(raw: Vec<u8>) -> Self {
        Self { raw, provider_message_id: None, received_at: None }
    }
}

/// Where fetched mail goes.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub user: UserId,
    pub account: AccountId,
    pub provider: Provider,
    /// The EMAIL_FETCH job storing it.
    pub fetch_job: JobId,
    /// What started the fetch; its child extraction job says the same.
    pub triggered_by: TriggeredBy,
}

/// A fetch job's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FetchCounts {
    /// Messages seen (stored + duplicates + malformed).
    pub total: u64,
    /// New emails stored.
    pub stored: u64,
    /// Messages already stored.
    pub duplicates: u64,
    /// Messages recorded and skipped because they could not be read.
    pub malformed: u64,
}

impl FetchCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: FetchCounts) {
        self.total += other.total;
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.malformed += other.malformed;
    }

    /// As `(name, delta)` pairs for [`store::jobs::add_counts`].
    pub fn as_deltas(&self) -> [(&'static str, i64); 4] {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        [
            ("total", n(self.total)),
            ("stored", n(self.stored)),
            ("duplicates", n(self.duplicates)),
            ("malformed", n(self.malformed)),
        ]
    }
}

/// Why one message was skipped.
#[derive(Debug, Clone, Serialize)]
pub struct MalformedNote {
    /// The message's position in the fetch (0-based).
    pub index: u64,
    pub reason: String,
}

/// A message parsed and waiting to be inserted.
struct Pending {
    row: NewEmail,
    /// The text body capped for the event.
    event_body: String,
}

/// Stores one fetch's messages; see the module documentation.
#[derive(Debug)]
pub struct Ingestor {
    target: Target,
    extraction_job: JobId,
    extraction_job_created: bool,
    counts: FetchCounts,
    malformed: Vec<MalformedNote>,
    seen: u64,
}

impl Ingestor {
    /// An ingestor for `target`; its child extraction job is created with the first new email.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            extraction_job: JobId::new(),
            extraction_job_created: false,
            counts: FetchCounts::default(),
            malformed: Vec::new(),
            seen: 0,
        }
    }

    /// An ingestor for `target` that carries on the fetch's existing child extraction job, if an
    /// earlier attempt of the same fetch (an automatic retry, or a redelivery after a crash)
    /// created one, so one fetch has one extraction job.
    pub async fn resume(conn: &mut AsyncPgConnection, target: Target) -> Result<Self, IngestError> {
        let mut ingestor = Self::new(target);
        if let Some(child) = store::jobs::extraction_child(conn, target.fetch_job).await? {
            ingestor.extraction_job = child;
            ingestor.extraction_job_created = true;
        }
        Ok(ingestor)
    }

    /// The counts so far.
    pub fn counts(&self) -> FetchCounts {
        self.counts
    }

    /// The malformed messages described so far (at most a few).
    pub fn malformed_notes(&self) -> &[MalformedNote] {
        &self.malformed
    }

    /// The child extraction job, once one was created.
    pub fn extraction_job(&self) -> Option<JobId> {
        self.extraction_job_created.then_some(self.extraction_job)
    }

    /// Records a message that could not even be read (too large) and skips it.
    pub fn skip(&mut self, reason: impl Into<String>) -> FetchCounts {
        let index = self.next_index();
        self.note_malformed(index, reason.into());
        let delta = FetchCounts { total: 1, malformed: 1, ..Default::default() };
        self.counts.add(delta);
        delta
    }

    /// Records `count` messages a fetcher recognised by id as already stored, without
    /// downloading them (Gmail, Graph); returns the delta for the job's counts.
    pub fn count_known_duplicates(&mut self, count: u64) -> FetchCounts {
        self.seen += count;
        let delta = FetchCounts { total: count, duplicates: count, ..Default::default() };
        self.counts.add(delta);
        delta
    }

    fn next_index(&mut self) -> u64 {
        let index = self.seen;
        self.seen += 1;
        index
    }

    fn note_malformed(&mut self, index: u64, reason: String) {
        tracing::info!(
            job.id = %self.target.fetch_job,
            user.id = %self.target.user,
            message.index = index,
            %reason,
            "skipping malformed message {index} of job {}",
            self.target.fetch_job
        );
        if self.malformed.len() < MAX_MALFORMED_NOTES {
            self.malformed.push(MalformedNote { index, reason });
        }
    }

    /// Parses and stores a batch in the caller's transaction; returns this batch's counts.
    pub async fn store(
        &mut self,
        conn: &mut AsyncPgConnection,
        batch: Vec<Incoming>,
    ) -> Result<FetchCounts, IngestError> {
        let mut delta = FetchCounts::default();
        let mut pending = Vec::with_capacity(batch.len());
        for incoming in batch {
            let index = self.next_index();
            delta.total += 1;
            match self.prepare(incoming) {
                Ok(item) => pending.push(item),
                Err(reason) => {
                    delta.malformed += 1;
                    self.note_malformed(index, reason);
                }
            }
        }
        let rows: Vec<NewEmail> = Vec::new();
        let (rows, bodies) = pending.into_iter().fold((rows, Vec::new()), |(mut rows, mut bodies), p| {
            bodies.push(p.event_body);
            rows.push(p.row);
            (rows, bodies)
        });
        let inserted = store::emails::insert_new(conn, &rows).await?;
        delta.stored = inserted.len() as u64;
        delta.duplicates = rows.len() as u64 - delta.stored;
        if !inserted.is_empty() {
            self.ensure_extraction_job(conn).await?;
            store::jobs::add_counts(conn, self.extraction_job, &[("total", inserted.len() as i64)]).await?;
            store::job_emails::insert_sent(conn, self.extraction_job, &inserted).await?;
            let new: std::collections::HashSet<EmailId> = inserted.into_iter().collect();
            let events: Vec<Envelope<ExtractionRequested>> = rows
                .into_iter()
                .zip(bodies)
                .filter(|(row, _)| new.contains(&row.id))
                .map(|(row, body)| {
                    let event = ExtractionRequested {
                        request_id: RequestId::new(),
                        job_id: self.extraction_job,
                        email_id: row.id,
                        user_id: self.target.user,
                        provider: self.target.provider,
                        subject: row.subject,
                        from: row.from_address,
                        received_at: row.received_at,
                        body_text: body,
                        html_only: row.html_only,
                        force: false,
                    };
                    Envelope::new(event, Some(self.extraction_job.as_uuid()))
                })
                .collect();
            // One multi-row insert per batch, in the batch's transaction.
            penny_platform::outbox::enqueue_many(conn, &events).await?;
        }
        self.counts.add(delta);
        Ok(delta)
    }

    fn prepare(&self, incoming: Incoming) -> Result<Pending, String> {
        if !starts_with_header(&incoming.raw) {
            return Err("the message does not start with a header field".into());
        }
        let parsed = parse_message(&incoming.raw).map_err(|e| e.to_string())?;
        let provider_message_id = incoming
            .provider_message_id
            .or_else(|| parsed.message_id.clone().map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()))
            .unwrap_or_else(|| format!("sha256:{}", parsed.checksum));
        let received_at = parsed.date.or(incoming.received_at).unwrap_or_else(Utc::now);
        let event_body = cap_body(parsed.text.clone());
        Ok(Pending {
            row: NewEmail {
                id: EmailId::new(),
                user_id: self.target.user,
                account_id: self.target.account,
                provider: self.target.provider,
                provider_message_id,
                subject: parsed.subject,
                from_address: parsed.from,
                received_at,
                body_text: Some(parsed.text),
                html_only: parsed.html_only,
                checksum: parsed.checksum,
                size_bytes: incoming.raw.len() as i64,
            },
            event_body,
        })
    }

    async fn ensure_extraction_job(&mut self, conn: &mut AsyncPgConnection) -> Result<(), IngestError> {
        if self.extraction_job_created {
            return Ok(());
        }
        store::jobs::insert(
            conn,
            &NewJob {
                id: self.extraction_job,
                user_id: self.target.user,
                account_id: Some(self.target.account),
                job_type: JobType::EmailExtraction,
                status: JobStatus::Queued,
                triggered_by: self.target.triggered_by,
                parent_job_id: Some(self.target.fetch_job),
                input_payload: serde_json::json!({
                    "fetch_job_id": self.target.fetch_job,
                    "account_id": self.target.account,
                }),
                output_payload: serde_json::json!({
                    "total": 0, "extracted": 0, "skipped": 0, "failed": 0, "booked": 0,
                }),
                started_at: None,
            },
        )
        .await?;
        self.extraction_job_created = true;
        Ok(())
    }
}

/// Whether the first line is a header field (`Name: value`), as RFC 5322 requires; binary junk
/// or a body without headers is not a message.
fn starts_with_header(raw: &[u8]) -> bool {
    let name_len = raw.iter().take_while(|&&b| (33..=126).contains(&b) && b != b':').count();
    name_len > 0 && raw.get(name_len) == Some(&b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_starting_with_a_header_field_is_a_message() {
        assert!(starts_with_header(b"Subject: x\n\nbody"));
        assert!(starts_with_header(b"X-Weird-Header:value"));
        assert!(!starts_with_header(b"\n"));
        assert!(!starts_with_header(b"Hello there\nSubject: x"));
        assert!(!starts_with_header(b"\xff\xfe binary"));
        assert!(!starts_with_header(b": no name"));
    }
}
