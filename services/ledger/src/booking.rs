//! Booking transactions extracted from mail (`email.extracted` → rows → `email.booked`).
//!
//! Each email is reconciled as a whole, idempotently: its transactions are the rows
//! `(user, provider source, "<email_id>#<n>")`.
//!
//! - **SUCCESS** upserts `#0..#n-1` and removes the email's other rows;
//! - **SKIPPED** (not a transaction after all) removes the email's rows;
//! - **FAILED** changes nothing.
//!
//! A row the user edited is never overwritten or removed. Booked rows are categorised by the
//! user's rules, else by the extractor's category hint matched to the user's category names, and
//! flagged `needs_review` when the extractor's confidence is below the configured threshold.
//! Every handled email (whatever its status) yields one `email.booked`, enqueued in the outbox
//! in the same transaction. Events about deleted users are ignored and yield nothing.

use std::collections::{HashMap, HashSet};

use diesel::sql_types::{Array, Bool, Nullable, Numeric, Text, Timestamptz, Uuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use penny_contract::events::{EmailBooked, EmailExtracted, ExtractedTransaction};
use penny_contract::{Envelope, ExtractionOutcome, TransactionId, TransactionSource, UserId};
use penny_platform::{outbox, tombstones};
use rust_decimal::Decimal;

use crate::categorise::{Candidate, CategoryNames, RuleSet};
use crate::error::LedgerError;
use crate::store;

/// Longest merchant kept from an extraction, in characters.
const MAX_MERCHANT_CHARS: usize = 200;
/// Longest account hint kept from an extraction, in characters.
const MAX_ACCOUNT_HINT_CHARS: usize = 50;

/// How extracted transactions are booked.
#[derive(Debug, Clone, Copy)]
pub struct BookingPolicy {
    /// Transactions extracted with a confidence below this are flagged `needs_review`.
    pub review_threshold: Decimal,
}

/// What categorises one user's transactions, loaded once per call.
struct UserContext {
    deleted: bool,
    rules: RuleSet,
    names: CategoryNames,
}

/// Books a batch of `email.extracted` events and enqueues one `email.booked` per email handled,
/// all in one transaction (a savepoint inside the caller's transaction, so a consumer can also
/// record its inbox rows and commit once). Returns the `email.booked` payloads enqueued.
///
/// The batch is booked set-wise: one upsert for every transaction of every email, one delete of
/// the rows the emails no longer hold, one multi-row outbox insert, whatever the batch's size.
/// An email that appears twice in a batch (an extraction and its reprocessing) is reconciled in
/// order, in a second round.
///
/// Each event comes with the span its `email.booked` is enqueued in: the span of the message
/// that carried it ([`penny_platform::broker::Delivered::span`]), so every email's trace runs on
/// to the registry, not only the batch's first.
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn book_email_extracted(
    conn: &mut AsyncPgConnection,
    policy: &BookingPolicy,
    events: &[(&EmailExtracted, &tracing::Span)],
) -> Result<Vec<EmailBooked>, LedgerError> {
    let policy = *policy;
    conn.transaction(async move |conn| {
        let mut users: HashMap<UserId, UserContext> = HashMap::new();
        for (event, _) in events {
            if let std::collections::hash_map::Entry::Vacant(entry) = users.entry(event.user_id) {
                entry.insert(load_context(conn, event.user_id).await?);
            }
        }
        // Positions in `events`, so each answer goes out in its own event's span.
        let mut pending: Vec<usize> = (0..events.len())
            .filter(|&i| {
                let event = events[i].0;
                let deleted = users.get(&event.user_id).is_none_or(|context| context.deleted);
                if deleted {
                    let user = event.user_id;
                    tracing::info!(user.id = %user, email.id = %event.email_id, "ignoring email.extracted of deleted user {user}");
                }
                !deleted
            })
            .collect();
        let mut booked: Vec<(usize, EmailBooked)> = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let mut seen = HashSet::new();
            let (round, rest): (Vec<usize>, Vec<usize>) =
                pending.into_iter().partition(|&i| seen.insert(events[i].0.email_id));
            let round_events: Vec<&EmailExtracted> = round.iter().map(|&i| events[i].0).collect();
            let outcomes = reconcile(conn, &policy, &users, &round_events).await?;
            booked.extend(round.into_iter().zip(outcomes));
            pending = rest;
        }
        let envelopes: Vec<(Envelope<EmailBooked>, &tracing::Span)> = booked
            .iter()
            .map(|(i, outcome)| (Envelope::new(outcome.clone(), Some(outcome.job_id.as_uuid())), events[*i].1))
            .collect();
        let each: Vec<(&Envelope<EmailBooked>, &tracing::Span)> =
            envelopes.iter().map(|(envelope, span)| (envelope, *span)).collect();
        outbox::enqueue_each_in(conn, &each).await?;
        let booked: Vec<EmailBooked> = booked.into_iter().map(|(_, outcome)| outcome).collect();
        for outcome in &booked {
            tracing::debug!(
                user.id = %outcome.user_id,
                email.id = %outcome.email_id,
                booked = outcome.booked,
                updated = outcome.updated,
                removed = outcome.removed,
                "booked email {}", outcome.email_id
            );
        }
        Ok::<_, LedgerError>(booked)
    })
    .await
}

async fn load_context(conn: &mut AsyncPgConnection, user: UserId) -> Result<UserContext, LedgerError> {
    if tombstones::is_deleted(conn, user).await? {
        return Ok(UserContext { deleted: true, rules: RuleSet::default(), names: CategoryNames::default() });
    }
    Ok(UserContext {
        deleted: false,
        rules: store::rules::load_set(conn, user, None).await?,
        names: store::categories::names(conn, user).await?,
    })
}

#[derive(diesel::QueryableByName)]
struct Removed {
    #[diesel(sql_type = Uuid)]
    email_id: uuid::Uuid,
}

/// Reconciles emails (each at most once) with their extractions, set-wise.
async fn reconcile(
    conn: &mut AsyncPgConnection,
    policy: &BookingPolicy,
    users: &HashMap<UserId, UserContext>,
    events: &[&EmailExtracted],
) -> Result<Vec<EmailBooked>, LedgerError> {
    let mut outcomes: Vec<EmailBooked> = events
        .iter()
        .map(|event| EmailBooked {
            job_id: event.job_id,
            email_id: event.email_id,
            user_id: event.user_id,
            booked: 0,
            updated: 0,
            removed: 0,
        })
        .collect();
    let position: HashMap<uuid::Uuid, usize> =
        events.iter().enumerate().map(|(i, event)| (event.email_id.as_uuid(), i)).collect();
    let mut rows = Rows::default();
    // The emails reconciled (SUCCESS and SKIPPED; FAILED changes nothing) and the rows they keep.
    let (mut users_of, mut emails_of) = (Vec::new(), Vec::new());
    for event in events {
        let Some(context) = users.get(&event.user_id) else { continue };
        match event.status {
            ExtractionOutcome::Failed => continue,
            ExtractionOutcome::Skipped => {}
            ExtractionOutcome::Success => rows.add(policy, context, event),
        }
        users_of.push(event.user_id.as_uuid());
        emails_of.push(event.email_id.as_uuid());
    }
    for (email, inserted) in upsert(conn, &rows).await? {
        if let Some(outcome) = position.get(&email).and_then(|i| outcomes.get_mut(*i)) {
            if inserted {
                outcome.booked += 1;
            } else {
                outcome.updated += 1;
            }
        }
    }
    if !emails_of.is_empty() {
        let removed: Vec<Removed> = diesel::sql_query(
            "DELETE FROM transactions AS t \
             USING unnest($1::uuid[], $2::uuid[]) AS e(user_id, email_id) \
             WHERE t.user_id = e.user_id AND t.email_id = e.email_id AND NOT t.user_edited \
               AND (t.email_id, t.external_id) NOT IN \
                   (SELECT k.email_id, k.external_id FROM unnest($3::uuid[], $4::text[]) AS k(email_id, external_id)) \
             RETURNING t.email_id",
        )
        .bind::<Array<Uuid>, _>(users_of)
        .bind::<Array<Uuid>, _>(emails_of)
        .bind::<Array<Uuid>, _>(&rows.email_id)
        .bind::<Array<Text>, _>(&rows.external_id)
        .load(conn)
        .await?;
        for row in removed {
            if let Some(outcome) = position.get(&row.email_id).and_then(|i| outcomes.get_mut(*i)) {
                outcome.removed += 1;
            }
        }
    }
    Ok(outcomes)
}

/// The transactions of a batch's emails as columns, for one `unnest` upsert.
#[derive(Default)]
struct Rows {
    id: Vec<uuid::Uuid>,
    user_id: Vec<uuid::Uuid>,
    source: Vec<String>,
    email_id: Vec<uuid::Uuid>,
    amount: Vec<Decimal>,
    currency: Vec<String>,
    kind: Vec<String>,
    occurred_at: Vec<chrono::DateTime<chrono::Utc>>,
    category_id: Vec<Option<uuid::Uuid>>,
    merchant: Vec<Option<String>>,
    account_hint: Vec<Option<String>>,
    external_id: Vec<String>,
    confidence: Vec<Decimal>,
    needs_review: Vec<bool>,
}

impl Rows {
    /// Adds one email's transactions, `#0..#n-1`.
    fn add(&mut self, policy: &BookingPolicy, context: &UserContext, event: &EmailExtracted) {
        let source = TransactionSource::from(event.provider).to_string();
        for (n, tx) in event.transactions.iter().enumerate() {
            let merchant = clean(tx.merchant.as_deref(), MAX_MERCHANT_CHARS);
            let confidence = tx.confidence.clamp(Decimal::ZERO, Decimal::ONE).round_dp(4);
            let category = categorise(context, tx, merchant.as_deref());
            self.id.push(TransactionId::new().as_uuid());
            self.user_id.push(event.user_id.as_uuid());
            self.source.push(source.clone());
            self.email_id.push(event.email_id.as_uuid());
            self.amount.push(tx.money.amount());
            self.currency.push(tx.money.currency().code().to_owned());
            self.kind.push(tx.kind.as_ref().to_owned());
            self.occurred_at.push(tx.occurred_at);
            self.category_id.push(category.map(|c| c.as_uuid()));
            self.merchant.push(merchant);
            self.account_hint.push(clean(tx.account_hint.as_deref(), MAX_ACCOUNT_HINT_CHARS));
            self.external_id.push(format!("{}#{n}", event.email_id));
            self.confidence.push(confidence);
            self.needs_review.push(confidence < policy.review_threshold);
        }
    }
}

/// The user's rules first, then the extractor's hint matched to the user's category names.
fn categorise(
    context: &UserContext,
    tx: &ExtractedTransaction,
    merchant: Option<&str>,
) -> Option<penny_contract::CategoryId> {
    let candidate = Candidate { merchant, notes: None, amount: tx.money.amount(), kind: tx.kind };
    context
        .rules
        .categorise(&candidate)
        .or_else(|| tx.category_hint.as_deref().and_then(|hint| context.names.find(hint, tx.kind)))
}

fn clean(text: Option<&str>, max_chars: usize) -> Option<String> {
    let text = text?.trim();
    (!text.is_empty()).then(|| text.chars().take(max_chars).collect())
}

#[derive(diesel::QueryableByName)]
struct Upserted {
    #[diesel(sql_type = Uuid)]
    email_id: uuid::Uuid,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Inserts new rows and updates unedited rows that differ; returns `(email, inserted)` per row
/// written (an unchanged row is not returned).
async fn upsert(conn: &mut AsyncPgConnection, rows: &Rows) -> Result<Vec<(uuid::Uuid, bool)>, LedgerError> {
    if rows.id.is_empty() {
        return Ok(Vec::new());
    }
    let results: Vec<Upserted> = diesel::sql_query(
        "INSERT INTO transactions AS t \
             (id, user_id, source, amount, currency, type, occurred_at, category_id, merchant, \
              account_hint, external_id, email_id, confidence, needs_review) \
         SELECT v.id, v.user_id, v.source, v.amount, v.currency, v.type, v.occurred_at, v.category_id, \
                v.merchant, v.account_hint, v.external_id, v.email_id, v.confidence, v.needs_review \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::numeric[], $6::text[], $7::text[], \
                     $8::timestamptz[], $9::uuid[], $10::text[], $11::text[], $12::text[], $13::numeric[], \
                     $14::bool[]) \
              AS v(id, user_id, source, email_id, amount, currency, type, occurred_at, category_id, merchant, \
                   account_hint, external_id, confidence, needs_review) \
         ON CONFLICT (user_id, source, external_id) DO UPDATE SET \
             amount = EXCLUDED.amount, currency = EXCLUDED.currency, type = EXCLUDED.type, \
             occurred_at = EXCLUDED.occurred_at, category_id = EXCLUDED.category_id, \
             merchant = EXCLUDED.merchant, account_hint = EXCLUDED.account_hint, \
             email_id = EXCLUDED.email_id, confidence = EXCLUDED.confidence, \
             needs_review = EXCLUDED.needs_review, updated_at = now() \
         WHERE NOT t.user_edited AND \
             (t.amount, t.currency, t.type, t.occurred_at, t.category_id, t.merchant, t.account_hint, \
              t.email_id, t.confidence, t.needs_review) IS DISTINCT FROM \
             (EXCLUDED.amount, EXCLUDED.currency, EXCLUDED.type, EXCLUDED.occurred_at, \
              EXCLUDED.category_id, EXCLUDED.merchant, EXCLUDED.account_hint, EXCLUDED.email_id, \
              EXCLUDED.confidence, EXCLUDED.needs_review) \
         RETURNING t.email_id, (xmax = 0) AS inserted",
    )
    .bind::<Array<Uuid>, _>(&rows.id)
    .bind::<Array<Uuid>, _>(&rows.user_id)
    .bind::<Array<Text>, _>(&rows.source)
    .bind::<Array<Uuid>, _>(&rows.email_id)
    .bind::<Array<Numeric>, _>(&rows.amount)
    .bind::<Array<Text>, _>(&rows.currency)
    .bind::<Array<Text>, _>(&rows.kind)
    .bind::<Array<Timestamptz>, _>(&rows.occurred_at)
    .bind::<Array<Nullable<Uuid>>, _>(&rows.category_id)
    .bind::<Array<Nullable<Text>>, _>(&rows.merchant)
    .bind::<Array<Nullable<Text>>, _>(&rows.account_hint)
    .bind::<Array<Text>, _>(&rows.external_id)
    .bind::<Array<Numeric>, _>(&rows.confidence)
    .bind::<Array<Bool>, _>(&rows.needs_review)
    .load(conn)
    .await?;
    Ok(results.into_iter().map(|row| (row.email_id, row.inserted)).collect())
}
