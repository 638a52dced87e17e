//! The fetch worker: consumes `ingest.fetch.requested` (queue `ingest.fetch`) and runs each job
//! with [`runner::run_job`].
//!
//! A fetch commits batch by batch, so it runs on a connection of its own rather than inside the
//! consumer's transaction (which only records the message as processed): a worker killed
//! mid-fetch leaves the committed batches and their cursor, the message is redelivered, and the
//! RUNNING job resumes from the cursor.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use penny_contract::Envelope;
use penny_contract::events::FetchRequested;
use penny_platform::broker::{Delivered, Handler, HandlerError};
use penny_platform::db::DbPool;

use crate::crypto::SecretBox;
use crate::fetch::imap::FetchOptions;
use crate::fetch::runner;
use crate::oauth::OAuth;

/// Runs fetch jobs.
pub struct FetchHandler {
    pool: DbPool,
    secrets: Arc<SecretBox>,
    oauth: Arc<OAuth>,
    options: FetchOptions,
}

impl FetchHandler {
    /// A handler fetching with its own connections from `pool`.
    pub fn new(pool: DbPool, secrets: Arc<SecretBox>, oauth: Arc<OAuth>, options: FetchOptions) -> Self {
        Self { pool, secrets, oauth, options }
    }
}

impl Handler for FetchHandler {
    type Message = Envelope<FetchRequested>;

    async fn handle(
        &self,
        _conn: &mut AsyncPgConnection,
        batch: &[Delivered<Envelope<FetchRequested>>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            let job = delivered.message.payload.job_id;
            let mut conn = self.pool.get().await.map_err(HandlerError::new)?;
            runner::run_job(&mut conn, &self.secrets, &self.oauth, job, self.options)
                .await
                .map_err(HandlerError::new)?;
        }
        Ok(())
    }
}
