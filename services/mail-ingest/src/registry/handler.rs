//! The registry's consumer (queue `ingest.registry`): each batch is folded in the consumer's
//! transaction, which also records the messages as processed.

use diesel_async::AsyncPgConnection;
use penny_contract::events::EventError;
use penny_contract::{Envelope, routing};
use penny_platform::broker::{Decode, Delivered, Handler, HandlerError};

use super::fold::{self, RegistryEvent};

impl Decode for RegistryEvent {
    fn decode(routing_key: &str, body: &[u8]) -> Result<Self, EventError> {
        match routing_key {
            routing::EMAIL_EXTRACTED => Envelope::from_slice(body).map(RegistryEvent::Extracted),
            routing::EMAIL_BOOKED => Envelope::from_slice(body).map(RegistryEvent::Booked),
            routing::JOB_STATUS => Envelope::from_slice(body).map(RegistryEvent::Status),
            routing::EXTRACTION_STARTED => Envelope::from_slice(body).map(RegistryEvent::Started),
            other => Err(EventError::WrongType {
                expected: "email.extracted, email.booked, job.status or extraction.started",
                found: other.to_owned(),
            }),
        }
    }
}

/// Folds outcome and status events into the registry.
#[derive(Debug, Default)]
pub struct RegistryHandler;

impl Handler for RegistryHandler {
    type Message = RegistryEvent;

    /// Folding is idempotent by `job_emails` (an outcome and a booking are each set once per
    /// job and email), forward-only statuses and growing counts, so no inbox row is needed.
    const IDEMPOTENT: bool = true;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<RegistryEvent>],
    ) -> Result<(), HandlerError> {
        let events: Vec<&RegistryEvent> = batch.iter().map(|d| &d.message).collect();
        let folded = fold::fold(conn, &events).await.map_err(HandlerError::new)?;
        tracing::debug!(
            events = batch.len(),
            outcomes = folded.outcomes,
            bookings = folded.bookings,
            jobs.moved = folded.moved.len(),
            "folded {} registry events",
            batch.len()
        );
        Ok(())
    }
}
