//! Queries over the `extraction` schema, each over `&mut AsyncPgConnection`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{EmailId, ExtractionId, ExtractionOutcome, JobId, LlmCallId, RequestId, UserId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::schema::{email_extractions, llm_transactions};

/// One attempt to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = email_extractions)]
pub struct NewExtraction<'a> {
    pub id: ExtractionId,
    pub user_id: UserId,
    pub email_id: EmailId,
    pub request_id: RequestId,
    pub extraction_version: &'a str,
    pub status: ExtractionOutcome,
    pub extracted_json: serde_json::Value,
    pub model_used: Option<&'a str>,
    pub prompt_hash: Option<&'a str>,
}

/// A stored attempt.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = email_extractions, check_for_backend(diesel::pg::Pg))]
pub struct ExtractionRow {
    #[serde(skip)]
    pub id: ExtractionId,
    #[schema(value_type = String)]
    pub status: ExtractionOutcome,
    pub extraction_version: String,
    #[schema(value_type = Object)]
    pub extracted_json: serde_json::Value,
    pub model_used: Option<String>,
    pub prompt_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One LLM call to record.
#[derive(Debug, Insertable)]
#[diesel(table_name = llm_transactions)]
pub struct NewLlmCall<'a> {
    pub id: LlmCallId,
    pub user_id: UserId,
    pub email_id: Option<EmailId>,
    pub job_id: Option<JobId>,
    pub request_id: Option<RequestId>,
    pub model_name: &'a str,
    pub provider: &'a str,
    pub prompt_version: &'a str,
    pub prompt_hash: &'a str,
    pub status: ExtractionOutcome,
    pub error: Option<&'a str>,
    pub input_tokens: i32,
    pub cached_input_tokens: i32,
    pub output_tokens: i32,
    pub total_tokens: i32,
    pub estimated_cost: Decimal,
    pub price_version: &'a str,
    pub latency_ms: i32,
    pub result_json: Option<serde_json::Value>,
}

/// Of `ids`, the requests that already have their attempt (redeliveries).
pub async fn handled_requests(
    conn: &mut AsyncPgConnection,
    ids: &[RequestId],
) -> Result<HashSet<RequestId>, diesel::result::Error> {
    let found: Vec<RequestId> = email_extractions::table
        .filter(email_extractions::request_id.eq_any(ids))
        .select(email_extractions::request_id)
        .load(conn)
        .await?;
    Ok(found.into_iter().collect())
}

/// Stores attempts; a request that already has one keeps it.
pub async fn insert_extractions(
    conn: &mut AsyncPgConnection,
    rows: &[NewExtraction<'_>],
) -> Result<usize, diesel::result::Error> {
    diesel::insert_into(email_extractions::table)
        .values(rows)
        .on_conflict(email_extractions::request_id)
        .do_nothing()
        .execute(conn)
        .await
}

/// Records one LLM call.
pub async fn insert_llm_call(
    conn: &mut AsyncPgConnection,
    row: &NewLlmCall<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(llm_transactions::table).values(row).execute(conn).await?;
    Ok(())
}

/// The newest valid answer the LLM gave for this email with this prompt and model.
pub async fn reusable_answer(
    conn: &mut AsyncPgConnection,
    user: UserId,
    email: EmailId,
    prompt_hash: &str,
    model: &str,
) -> Result<Option<serde_json::Value>, diesel::result::Error> {
    llm_transactions::table
        .filter(llm_transactions::user_id.eq(user))
        .filter(llm_transactions::email_id.eq(email))
        .filter(llm_transactions::prompt_hash.eq(prompt_hash))
        .filter(llm_transactions::model_name.eq(model))
        .filter(llm_transactions::result_json.is_not_null())
        .order(llm_transactions::created_at.desc())
        .select(llm_transactions::result_json.assume_not_null())
        .first(conn)
        .await
        .optional()
}

/// Every attempt for one of the user's emails, oldest first.
pub async fn extractions_of(
    conn: &mut AsyncPgConnection,
    user: UserId,
    email: EmailId,
) -> Result<Vec<ExtractionRow>, diesel::result::Error> {
    email_extractions::table
        .filter(email_extractions::user_id.eq(user))
        .filter(email_extractions::email_id.eq(email))
        .order((email_extractions::created_at, email_extractions::id))
        .select(ExtractionRow::as_select())
        .load(conn)
        .await
}

/// Totals of a group of calls.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct UsageTotals {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub calls: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub input_tokens: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub cached_input_tokens: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub output_tokens: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub total_tokens: i64,
    /// USD, as a decimal string.
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub estimated_cost: Decimal,
}

/// How a user's calls are grouped.
#[derive(Debug, Clone, Copy)]
pub enum UsageGroup {
    Model,
    Month,
}

/// The user's calls, totalled per group.
pub async fn usage(
    conn: &mut AsyncPgConnection,
    user: UserId,
    group: UsageGroup,
) -> Result<Vec<UsageTotals>, diesel::result::Error> {
    let key = match group {
        UsageGroup::Model => "model_name",
        UsageGroup::Month => "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')",
    };
    // `key` is one of the two constant expressions above, never input.
    diesel::sql_query(format!(
        "SELECT {key} AS key, count(*) AS calls, \
         coalesce(sum(input_tokens), 0)::BIGINT AS input_tokens, \
         coalesce(sum(cached_input_tokens), 0)::BIGINT AS cached_input_tokens, \
         coalesce(sum(output_tokens), 0)::BIGINT AS output_tokens, \
         coalesce(sum(total_tokens), 0)::BIGINT AS total_tokens, \
         coalesce(sum(estimated_cost), 0) AS estimated_cost \
         FROM llm_transactions WHERE user_id = $1 GROUP BY 1 ORDER BY 1"
    ))
    .bind::<diesel::sql_types::Uuid, _>(user.as_uuid())
    .load(conn)
    .await
}

/// Deletes everything held about `user`.
pub async fn delete_user(conn: &mut AsyncPgConnection, user: UserId) -> Result<(), diesel::result::Error> {
    diesel::delete(email_extractions::table.filter(email_extractions::user_id.eq(user)))
        .execute(conn)
        .await?;
    diesel::delete(llm_transactions::table.filter(llm_transactions::user_id.eq(user))).execute(conn).await?;
    Ok(())
}
