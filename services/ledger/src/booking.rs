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

use std::collections::HashMap;

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
#[tracing::instrument(skip_all, fields(events = events.len()))]
pub async fn book_email_extracted(
    conn: &mut AsyncPgConnection,
    policy: &BookingPolicy,
    events: &[EmailExtracted],
) -> Result<Vec<EmailBooked>, LedgerError> {
    let policy = *policy;
    conn.transaction(async move |conn| {
        let mut users: HashMap<UserId, UserContext> = HashMap::new();
        let mut booked = Vec::with_capacity(events.len());
        for event in events {
            let user = event.user_id;
            if let std::collections::hash_map::Entry::Vacant(entry) = users.entry(user) {
                entry.insert(load_context(conn, user).await?);
            }
            let Some(context) = users.get(&user) else { continue };
            if context.deleted {
                tracing::info!(user.id = %user, email.id = %event.email_id, "ignoring email.extracted of deleted user {user}");
                continue;
            }
            let outcome = reconcile(conn, &policy, context, event).await?;
            outbox::enqueue(conn, &Envelope::new(outcome.clone(), Some(event.job_id.as_uuid()))).await?;
            tracing::debug!(
                user.id = %user,
                email.id = %event.email_id,
                booked = outcome.booked,
                updated = outcome.updated,
                removed = outcome.removed,
                "booked email {}", event.email_id
            );
            booked.push(outcome);
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

/// Reconciles one email's rows with its extraction.
async fn reconcile(
    conn: &mut AsyncPgConnection,
    policy: &BookingPolicy,
    context: &UserContext,
    event: &EmailExtracted,
) -> Result<EmailBooked, LedgerError> {
    let mut outcome = EmailBooked {
        job_id: event.job_id,
        email_id: event.email_id,
        user_id: event.user_id,
        booked: 0,
        updated: 0,
        removed: 0,
    };
    let keep: Vec<String> = match event.status {
        ExtractionOutcome::Failed => return Ok(outcome),
        ExtractionOutcome::Skipped => Vec::new(),
        ExtractionOutcome::Success => {
            let source = TransactionSource::from(event.provider);
            let rows = Rows::build(policy, context, event);
            let keep = rows.external_id.clone();
            let (booked, updated) = upsert(conn, event, source, rows).await?;
            outcome.booked = booked;
            outcome.updated = updated;
            keep
        }
    };
    let removed = diesel::sql_query(
        "DELETE FROM transactions \
         WHERE user_id = $1 AND email_id = $2 AND NOT user_edited AND external_id <> ALL($3)",
    )
    .bind::<Uuid, _>(event.user_id)
    .bind::<Uuid, _>(event.email_id)
    .bind::<Array<Text>, _>(keep)
    .execute(conn)
    .await?;
    outcome.removed = u32::try_from(removed).unwrap_or(u32::MAX);
    Ok(outcome)
}

/// One email's transactions as columns, for one `unnest` upsert.
#[derive(Default)]
struct Rows {
    id: Vec<uuid::Uuid>,
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
    fn build(policy: &BookingPolicy, context: &UserContext, event: &EmailExtracted) -> Self {
        let mut rows = Rows::default();
        for (n, tx) in event.transactions.iter().enumerate() {
            let merchant = clean(tx.merchant.as_deref(), MAX_MERCHANT_CHARS);
            let confidence = tx.confidence.clamp(Decimal::ZERO, Decimal::ONE).round_dp(4);
            let category = categorise(context, tx, merchant.as_deref());
            rows.id.push(TransactionId::new().as_uuid());
            rows.amount.push(tx.money.amount());
            rows.currency.push(tx.money.currency().code().to_owned());
            rows.kind.push(tx.kind.as_ref().to_owned());
            rows.occurred_at.push(tx.occurred_at);
            rows.category_id.push(category.map(|c| c.as_uuid()));
            rows.merchant.push(merchant);
            rows.account_hint.push(clean(tx.account_hint.as_deref(), MAX_ACCOUNT_HINT_CHARS));
            rows.external_id.push(format!("{}#{n}", event.email_id));
            rows.confidence.push(confidence);
            rows.needs_review.push(confidence < policy.review_threshold);
        }
        rows
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
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Inserts new rows and updates unedited rows that differ; returns (inserted, updated).
async fn upsert(
    conn: &mut AsyncPgConnection,
    event: &EmailExtracted,
    source: TransactionSource,
    rows: Rows,
) -> Result<(u32, u32), LedgerError> {
    if rows.id.is_empty() {
        return Ok((0, 0));
    }
    let results: Vec<Upserted> = diesel::sql_query(
        "INSERT INTO transactions AS t \
             (id, user_id, source, amount, currency, type, occurred_at, category_id, merchant, \
              account_hint, external_id, email_id, confidence, needs_review) \
         SELECT v.id, $1, $2, v.amount, v.currency, v.type, v.occurred_at, v.category_id, v.merchant, \
                v.account_hint, v.external_id, $3, v.confidence, v.needs_review \
         FROM unnest($4::uuid[], $5::numeric[], $6::text[], $7::text[], $8::timestamptz[], $9::uuid[], \
                     $10::text[], $11::text[], $12::text[], $13::numeric[], $14::bool[]) \
              AS v(id, amount, currency, type, occurred_at, category_id, merchant, account_hint, \
                   external_id, confidence, needs_review) \
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
         RETURNING (xmax = 0) AS inserted",
    )
    .bind::<Uuid, _>(event.user_id)
    .bind::<Text, _>(source)
    .bind::<Uuid, _>(event.email_id)
    .bind::<Array<Uuid>, _>(rows.id)
    .bind::<Array<Numeric>, _>(rows.amount)
    .bind::<Array<Text>, _>(rows.currency)
    .bind::<Array<Text>, _>(rows.kind)
    .bind::<Array<Timestamptz>, _>(rows.occurred_at)
    .bind::<Array<Nullable<Uuid>>, _>(rows.category_id)
    .bind::<Array<Nullable<Text>>, _>(rows.merchant)
    .bind::<Array<Nullable<Text>>, _>(rows.account_hint)
    .bind::<Array<Text>, _>(rows.external_id)
    .bind::<Array<Numeric>, _>(rows.confidence)
    .bind::<Array<Bool>, _>(rows.needs_review)
    .load(conn)
    .await?;
    let inserted = results.iter().filter(|r| r.inserted).count();
    let updated = results.len() - inserted;
    Ok((u32::try_from(inserted).unwrap_or(u32::MAX), u32::try_from(updated).unwrap_or(u32::MAX)))
}
