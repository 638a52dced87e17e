//! The ledger's message workers: booking `email.extracted` and keeping users' slices in step
//! with `user.registered` / `user.deleted`. Both run inside the consumer's transaction, which
//! also records the inbox, so a redelivered event changes nothing.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use penny_contract::Envelope;
use penny_contract::events::{EmailExtracted, UserEvent};
use penny_platform::broker::{Delivered, Handler, HandlerError};
use penny_platform::tombstones::Tombstones;

use crate::booking::{BookingPolicy, book_email_extracted};
use crate::users::{on_user_deleted, on_user_registered};

/// Books each batch of `email.extracted` and enqueues the `email.booked` answers.
pub struct BookingWorker {
    pub policy: BookingPolicy,
}

impl Handler for BookingWorker {
    type Message = Envelope<EmailExtracted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        let spans: Vec<tracing::Span> = batch.iter().map(|d| d.span()).collect();
        let events: Vec<(&EmailExtracted, &tracing::Span)> =
            batch.iter().zip(&spans).map(|(d, span)| (&d.message.payload, span)).collect();
        book_email_extracted(conn, &self.policy, &events).await.map_err(HandlerError::new)?;
        Ok(())
    }
}

/// Creates system categories for new users and deletes deleted users' ledgers.
pub struct UsersWorker {
    /// Updated after the commit so the deleted user's tokens stop working at once here.
    pub tombstones: Arc<Tombstones>,
}

impl Handler for UsersWorker {
    type Message = UserEvent;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            match &delivered.message {
                UserEvent::Registered(event) => {
                    on_user_registered(conn, &event.payload).await.map_err(HandlerError::new)?;
                }
                UserEvent::Deleted(event) => {
                    on_user_deleted(conn, &event.payload).await.map_err(HandlerError::new)?;
                }
            }
        }
        Ok(())
    }

    fn after_commit(&self, batch: &[Delivered<Self::Message>]) {
        self.tombstones.insert_deleted(batch.iter().map(|d| &d.message));
    }
}
