//! The extraction service's message workers: `extraction.requested` in batches, and users'
//! slices kept in step with `user.deleted`.
//!
//! Each request of a batch is decided in its own span, which continues the trace of the request's
//! publisher, and its `email.extracted` is enqueued in that span: every email keeps its own trace
//! from mail-ingest through extraction to the ledger, not only the batch's first.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use penny_contract::events::{EmailExtracted, ExtractionRequested, UserEvent};
use penny_contract::{Envelope, ExtractionId, ExtractionOutcome};
use penny_platform::broker::{Delivered, Handler, HandlerError};
use penny_platform::db::DbPool;
use penny_platform::outbox;
use penny_platform::tombstones::{self, Tombstones};
use tracing::Instrument as _;

use crate::pipeline::{Decision, EmailInput, Origin, Pipeline, failed};
use crate::store::{self, NewExtraction};

/// Extracts each request of a batch, stores one attempt per request and enqueues its
/// `email.extracted`, all in the consumer's transaction.
pub struct RequestsWorker {
    pub pipeline: Arc<Pipeline>,
    /// For LLM reuse and accounting, which happen outside the batch's transaction.
    pub pool: DbPool,
    pub tombstones: Arc<Tombstones>,
    /// LLM calls in flight at once.
    pub concurrency: usize,
}

impl Handler for RequestsWorker {
    type Message = Envelope<ExtractionRequested>;

    /// A request whose `request_id` already has its attempt is skipped (below), so a redelivery
    /// adds nothing without an inbox row.
    const IDEMPOTENT: bool = true;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        let ids: Vec<_> = batch.iter().map(|d| d.message.payload.request_id).collect();
        let handled = store::handled_requests(conn, &ids).await?;
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<&Delivered<Self::Message>> = batch
            .iter()
            // A redelivered request (a new message id, the same request) already has its attempt.
            .filter(|d| {
                let request = &d.message.payload;
                !handled.contains(&request.request_id) && seen.insert(request.request_id)
            })
            .filter(|d| !self.tombstones.contains(d.message.payload.user_id))
            .collect();
        let requests: Vec<&ExtractionRequested> = todo.iter().map(|d| &d.message.payload).collect();
        let spans: Vec<tracing::Span> = todo.iter().map(|d| d.span()).collect();
        let mut decisions: Vec<Decision> = Vec::with_capacity(todo.len());
        // Rules answers are immediate; LLM calls of a chunk run side by side.
        let chunk = self.concurrency.max(1);
        for (requests, spans) in requests.chunks(chunk).zip(spans.chunks(chunk)) {
            let answers = futures::future::try_join_all(
                requests
                    .iter()
                    .zip(spans)
                    .map(|(request, span)| self.decide(request).instrument(span.clone())),
            )
            .await
            .map_err(HandlerError::new)?;
            decisions.extend(answers);
        }
        store_outcomes(conn, self.pipeline.version(), &requests, &decisions, &spans).await
    }

    /// A request that kept failing still gets an outcome, so its job can finish.
    async fn on_parked(
        &self,
        conn: &mut AsyncPgConnection,
        message: &Delivered<Self::Message>,
        reason: &str,
    ) -> Result<(), HandlerError> {
        let request = &message.message.payload;
        if tombstones::is_deleted(conn, request.user_id).await? {
            return Ok(());
        }
        tracing::warn!(user.id = %request.user_id, job.id = %request.job_id, %reason, "extraction request parked");
        let decision = failed("parked");
        let span = message.span();
        store_outcomes(
            conn,
            self.pipeline.version(),
            &[request],
            std::slice::from_ref(&decision),
            std::slice::from_ref(&span),
        )
        .await
    }
}

impl RequestsWorker {
    async fn decide(
        &self,
        request: &ExtractionRequested,
    ) -> Result<Decision, crate::pipeline::PipelineError> {
        let email = EmailInput {
            subject: &request.subject,
            from: &request.from,
            received_at: request.received_at,
            body: &request.body_text,
        };
        self.pipeline.decide(&self.pool, email, origin(request)).await
    }
}

fn origin(request: &ExtractionRequested) -> Origin {
    Origin {
        user_id: request.user_id,
        email_id: Some(request.email_id),
        job_id: Some(request.job_id),
        request_id: Some(request.request_id),
        force: request.force,
    }
}

/// Stores one attempt per request and enqueues the `email.extracted` of each new one, in the
/// span of its request (so it continues that request's trace).
async fn store_outcomes(
    conn: &mut AsyncPgConnection,
    version: &str,
    requests: &[&ExtractionRequested],
    decisions: &[Decision],
    spans: &[tracing::Span],
) -> Result<(), HandlerError> {
    let rows: Vec<NewExtraction<'_>> = requests
        .iter()
        .zip(decisions)
        .map(|(request, decision)| NewExtraction {
            id: ExtractionId::new(),
            user_id: request.user_id,
            email_id: request.email_id,
            request_id: request.request_id,
            extraction_version: version,
            status: decision.status,
            extracted_json: serde_json::json!({
                "extractor": decision.extractor,
                "transactions": decision.transactions,
                "reason": decision.reason,
            }),
            model_used: decision.model_used.as_deref(),
            prompt_hash: decision.prompt_hash.as_deref(),
        })
        .collect();
    store::insert_extractions(conn, &rows).await?;
    let events: Vec<Envelope<EmailExtracted>> = requests
        .iter()
        .zip(decisions)
        .map(|(request, decision)| {
            tracing::debug!(
                user.id = %request.user_id,
                job.id = %request.job_id,
                email.id = %request.email_id,
                status = %decision.status,
                transactions = decision.transactions.len(),
                "extracted"
            );
            Envelope::new(
                EmailExtracted {
                    request_id: request.request_id,
                    job_id: request.job_id,
                    email_id: request.email_id,
                    user_id: request.user_id,
                    provider: request.provider,
                    status: decision.status,
                    extraction_version: version.to_owned(),
                    transactions: if decision.status == ExtractionOutcome::Success {
                        decision.transactions.clone()
                    } else {
                        Vec::new()
                    },
                    reason: decision.reason.clone(),
                },
                None,
            )
        })
        .collect();
    let traced: Vec<_> = events.iter().zip(spans).collect();
    outbox::enqueue_each_in(conn, &traced).await?;
    Ok(())
}

/// Deletes deleted users' extractions and LLM records.
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
            if let UserEvent::Deleted(event) = &delivered.message {
                let user = event.payload.user_id;
                store::delete_user(conn, user).await?;
                tombstones::record(conn, user).await?;
                tracing::info!(user.id = %user, "deleted the user's extractions");
            }
        }
        Ok(())
    }

    fn after_commit(&self, batch: &[Delivered<Self::Message>]) {
        self.tombstones.insert_deleted(batch.iter().map(|d| &d.message));
    }
}
