//! The transactional outbox: a state change and the events announcing it are committed together.
//!
//! Handlers call [`enqueue`] with the connection of their open transaction; the relay of the
//! messaging layer publishes pending rows in order and deletes them once the broker has confirmed
//! them, so every row in the table is pending.
//! Each row carries the trace context it was enqueued in (`traceparent`), so the consumer of the
//! event continues the trace.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{Envelope, Event, MessageId};

use crate::db::DbError;
use crate::telemetry;

diesel::table! {
    /// Events waiting to be published (defined once, created in every service's schema).
    outbox (id) {
        id -> Int8,
        message_id -> Uuid,
        routing_key -> Text,
        body -> Text,
        headers -> Jsonb,
        created_at -> Timestamptz,
        attempts -> Int4,
        not_before -> Nullable<Timestamptz>,
    }
}

/// A row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxRow<'a> {
    message_id: MessageId,
    routing_key: &'a str,
    body: String,
    headers: serde_json::Value,
}

/// A stored outbox row.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: MessageId,
    pub routing_key: String,
    /// The message as published (JSON text).
    pub body: String,
    pub headers: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// How many times the broker had no queue for it.
    pub attempts: i32,
    /// Not offered again before this time (set after an unroutable attempt).
    pub not_before: Option<DateTime<Utc>>,
}

/// Records `envelope` for publishing when the surrounding transaction commits. The current trace
/// context travels along as `traceparent`, so the consumer's span continues this one.
pub async fn enqueue<E: Event>(conn: &mut AsyncPgConnection, envelope: &Envelope<E>) -> Result<(), DbError> {
    enqueue_many(conn, std::slice::from_ref(envelope)).await
}

/// Records several envelopes with one multi-row insert (bulk paths such as an mbox import).
pub async fn enqueue_many<E: Event>(
    conn: &mut AsyncPgConnection,
    envelopes: &[Envelope<E>],
) -> Result<(), DbError> {
    if envelopes.is_empty() {
        return Ok(());
    }
    let headers = serde_json::to_value(telemetry::trace_headers()).unwrap_or_default();
    insert(conn, envelopes.iter().map(|envelope| (envelope, headers.clone()))).await
}

/// Like [`enqueue_many`], but each envelope carries the trace of its own span. A batch handler
/// enqueues the follow-up of each message in that message's span ([`Delivered::span`]), so
/// every message of a batch keeps its own trace downstream (the current span, which
/// [`enqueue_many`] uses, continues only the batch's first message).
///
/// [`Delivered::span`]: crate::broker::Delivered::span
pub async fn enqueue_each_in<E: Event>(
    conn: &mut AsyncPgConnection,
    envelopes: &[(&Envelope<E>, &tracing::Span)],
) -> Result<(), DbError> {
    insert(
        conn,
        envelopes.iter().map(|(envelope, span)| {
            (*envelope, serde_json::to_value(telemetry::span_headers(span)).unwrap_or_default())
        }),
    )
    .await
}

async fn insert<'a, E: Event + 'a>(
    conn: &mut AsyncPgConnection,
    envelopes: impl Iterator<Item = (&'a Envelope<E>, serde_json::Value)>,
) -> Result<(), DbError> {
    let rows = envelopes
        .map(|(envelope, headers)| {
            Ok(NewOutboxRow {
                message_id: envelope.message_id,
                routing_key: envelope.routing_key(),
                body: serde_json::to_string(envelope)?,
                headers,
            })
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    // PostgreSQL takes at most 65,535 bind parameters per statement; four per row.
    for chunk in rows.chunks(10_000) {
        diesel::insert_into(outbox::table).values(chunk).execute(conn).await?;
    }
    Ok(())
}

/// Rows not yet published, oldest first.
pub async fn pending(conn: &mut AsyncPgConnection, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
    Ok(outbox::table.order(outbox::id).limit(limit).select(OutboxRow::as_select()).load(conn).await?)
}
