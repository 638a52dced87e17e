//! Categorisation rules: CRUD, loading a user's compiled rule set, and applying it to stored
//! transactions.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use penny_contract::{CategoryId, CategoryType, RuleId, TransactionId, TransactionType, UserId};
use rust_decimal::Decimal;

use crate::categorise::{Candidate, CompiledRule, RuleSet};
use crate::error::LedgerError;
use crate::models::{NewRule, Rule};
use crate::schema::{categories, rules, transactions};

/// How many transactions `apply` reads per round trip.
const APPLY_BATCH: i64 = 2_000;

/// The user's rules in the order they are tried.
pub async fn list(conn: &mut AsyncPgConnection, user: UserId) -> Result<Vec<Rule>, LedgerError> {
    Ok(rules::table
        .filter(rules::user_id.eq(user))
        .order((rules::priority.asc(), rules::created_at.asc(), rules::id.asc()))
        .select(Rule::as_select())
        .load(conn)
        .await?)
}

/// One of the user's rules.
pub async fn get(conn: &mut AsyncPgConnection, user: UserId, id: RuleId) -> Result<Rule, LedgerError> {
    rules::table
        .filter(rules::id.eq(id).and(rules::user_id.eq(user)))
        .select(Rule::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// Stores a new rule.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewRule) -> Result<Rule, LedgerError> {
    Ok(diesel::insert_into(rules::table).values(new).returning(Rule::as_returning()).get_result(conn).await?)
}

/// The editable columns of a rule, all written.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = rules, treat_none_as_null = true)]
pub struct RuleEdit {
    pub name: String,
    pub match_field: penny_contract::MatchField,
    pub match_kind: penny_contract::MatchKind,
    pub pattern: String,
    pub min_amount: Option<Decimal>,
    pub max_amount: Option<Decimal>,
    pub kind: Option<TransactionType>,
    pub category_id: CategoryId,
    pub priority: i32,
    pub updated_at: chrono::DateTime<Utc>,
}

/// Writes an edit of one of the user's rules.
pub async fn update(
    conn: &mut AsyncPgConnection,
    user: UserId,
    id: RuleId,
    edit: &RuleEdit,
) -> Result<Rule, LedgerError> {
    diesel::update(rules::table.filter(rules::id.eq(id).and(rules::user_id.eq(user))))
        .set(edit)
        .returning(Rule::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or(LedgerError::NotFound)
}

/// Deletes one of the user's rules.
pub async fn delete(conn: &mut AsyncPgConnection, user: UserId, id: RuleId) -> Result<(), LedgerError> {
    let deleted = diesel::delete(rules::table.filter(rules::id.eq(id).and(rules::user_id.eq(user))))
        .execute(conn)
        .await?;
    if deleted == 0 { Err(LedgerError::NotFound) } else { Ok(()) }
}

/// The user's rules (or just `only`), compiled once, in the order they are tried.
pub async fn load_set(
    conn: &mut AsyncPgConnection,
    user: UserId,
    only: Option<RuleId>,
) -> Result<RuleSet, LedgerError> {
    let mut query = rules::table
        .inner_join(categories::table)
        .filter(rules::user_id.eq(user))
        .order((rules::priority.asc(), rules::created_at.asc(), rules::id.asc()))
        .select((Rule::as_select(), categories::kind))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(rules::id.eq(id));
    }
    let rows: Vec<(Rule, CategoryType)> = query.load(conn).await?;
    let compiled = rows
        .iter()
        .filter_map(|(rule, category_type)| match CompiledRule::new(rule, *category_type) {
            Ok(compiled) => Some(compiled),
            Err(reason) => {
                // Patterns are checked when saved, so this only happens if the limits shrank.
                tracing::warn!(rule.id = %rule.id, user.id = %user, %reason, "skipping an unusable rule");
                None
            }
        })
        .collect();
    Ok(RuleSet::new(compiled))
}

/// Applies `set` to the user's stored transactions whose category was not chosen by hand;
/// returns how many changed category. A transaction no rule matches keeps its category.
pub async fn apply(conn: &mut AsyncPgConnection, user: UserId, set: &RuleSet) -> Result<u64, LedgerError> {
    if set.is_empty() {
        return Ok(0);
    }
    type Row = (TransactionId, Option<String>, Option<String>, Decimal, TransactionType, Option<CategoryId>);
    let mut after: Option<TransactionId> = None;
    let mut updated = 0_u64;
    loop {
        let mut query = transactions::table
            .filter(transactions::user_id.eq(user).and(transactions::category_by_user.eq(false)))
            .order(transactions::id.asc())
            .limit(APPLY_BATCH)
            .select((
                transactions::id,
                transactions::merchant,
                transactions::notes,
                transactions::amount,
                transactions::kind,
                transactions::category_id,
            ))
            .into_boxed();
        if let Some(after) = after {
            query = query.filter(transactions::id.gt(after));
        }
        let rows: Vec<Row> = query.load(conn).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let (ids, categories): (Vec<uuid::Uuid>, Vec<uuid::Uuid>) = rows
            .iter()
            .filter_map(|(id, merchant, notes, amount, kind, current)| {
                let candidate = Candidate {
                    merchant: merchant.as_deref(),
                    notes: notes.as_deref(),
                    amount: *amount,
                    kind: *kind,
                };
                let chosen = set.categorise(&candidate)?;
                (Some(chosen) != *current).then_some((id.as_uuid(), chosen.as_uuid()))
            })
            .unzip();
        if !ids.is_empty() {
            updated += diesel::sql_query(
                "UPDATE transactions AS t SET category_id = v.category_id, updated_at = now() \
                 FROM unnest($1::uuid[], $2::uuid[]) AS v(id, category_id) \
                 WHERE t.id = v.id AND t.user_id = $3 AND NOT t.category_by_user",
            )
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(categories)
            .bind::<diesel::sql_types::Uuid, _>(user)
            .execute(conn)
            .await? as u64;
        }
        if (rows.len() as i64) < APPLY_BATCH {
            break;
        }
    }
    Ok(updated)
}
