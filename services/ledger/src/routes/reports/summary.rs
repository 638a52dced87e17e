//! `GET /v1/reports/summary`.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use penny_contract::{CategoryId, TransactionType};
use penny_platform::http::{ApiError, AuthUser};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::LedgerState;
use crate::error::LedgerError;
use crate::money::format_amount;
use crate::store;
use crate::store::reports::Total;
use crate::time::{parse_bound, parse_tz, start_of_day};

/// The most months one summary may span.
const MAX_MONTHS: usize = 1_200;

/// What to summarise.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Earliest `occurred_at` (inclusive): RFC 3339, or a date (start of that day in `tz`).
    pub from: Option<String>,
    /// Latest `occurred_at` (exclusive): RFC 3339, or a date (start of that day in `tz`).
    pub to: Option<String>,
    /// `category` (default) or `month`.
    pub group_by: Option<String>,
    /// IANA time zone for month boundaries and date-only bounds (default UTC).
    pub tz: Option<String>,
}

/// One key in one currency. Currencies are never added together.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryGroup {
    /// The category id (`uncategorized` for none), or the month as `YYYY-MM` in `tz`.
    pub key: String,
    /// The category's name, or the month.
    pub label: String,
    pub currency: String,
    /// Decimal strings with the currency's minor digits.
    #[schema(example = "1200.00")]
    pub income: String,
    #[schema(example = "312.40")]
    pub expense: String,
    /// `income - expense`; may be negative.
    #[schema(example = "887.60")]
    pub net: String,
    pub count: i64,
}

/// `{groups: [...]}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub groups: Vec<SummaryGroup>,
}

#[derive(Default)]
struct Sums {
    income: Decimal,
    expense: Decimal,
    count: i64,
}

/// Income, expense, net and count per category or per month (in `tz`), per currency.
#[utoipa::path(
    get, path = "/v1/reports/summary", tag = "reports", security(("bearer" = [])),
    params(SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = Summary),
        (status = 400, description = "Invalid parameters, each named", body = crate::routes::ErrorBody),
    )
)]
#[tracing::instrument(name = "summary", skip_all, fields(user.id = %user.id))]
pub async fn summary(
    state: web::Data<LedgerState>,
    user: AuthUser,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = BTreeMap::new();
    let tz = parse_tz(query.tz.as_deref()).map_err(|e| errors.insert("tz".to_owned(), e)).unwrap_or(Tz::UTC);
    let mut bound = |field: &str, text: Option<&str>| match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => parse_bound(text, tz).map_err(|e| errors.insert(field.to_owned(), e)).ok(),
    };
    let from = bound("from", query.from.as_deref());
    let to = bound("to", query.to.as_deref());
    let by_month = match query.group_by.as_deref().map(str::trim) {
        None | Some("") | Some("category") => false,
        Some("month") => true,
        Some(_) => {
            errors.insert("group_by".into(), "`category` or `month`".into());
            false
        }
    };
    if !errors.is_empty() {
        return Err(LedgerError::Validation(errors).into());
    }
    let mut conn = state.pool.get().await?;
    let groups = if by_month {
        monthly(&mut conn, &user, tz, from, to).await?
    } else {
        let totals = store::reports::by_category(&mut conn, user.id, from, to).await?;
        let names: HashMap<CategoryId, String> =
            store::categories::list(&mut conn, user.id).await?.into_iter().map(|c| (c.id, c.name)).collect();
        let mut groups = fold(totals, |key| match key {
            Some(id) => (id.to_string(), names.get(id).cloned().unwrap_or_default()),
            None => ("uncategorized".to_owned(), "Uncategorized".to_owned()),
        });
        groups.sort_by(|a, b| (&a.label, &a.currency).cmp(&(&b.label, &b.currency)));
        groups
    };
    Ok(HttpResponse::Ok().json(Summary { groups }))
}

async fn monthly(
    conn: &mut diesel_async::AsyncPgConnection,
    user: &AuthUser,
    tz: Tz,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<SummaryGroup>, LedgerError> {
    let Some((first, last)) = store::reports::span(conn, user.id, from, to).await? else {
        return Ok(Vec::new());
    };
    let month_of = |at: DateTime<Utc>| {
        let local = at.with_timezone(&tz).date_naive();
        NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local)
    };
    let mut months = vec![month_of(first)];
    let end = month_of(last);
    while let Some(&current) = months.last() {
        if current > end {
            break;
        }
        if months.len() > MAX_MONTHS {
            return Err(LedgerError::field("to", format!("a summary spans at most {MAX_MONTHS} months")));
        }
        match current.checked_add_months(Months::new(1)) {
            Some(next) => months.push(next),
            None => break,
        }
    }
    // `months` now ends with the month after the last one: bucket i is [months[i], months[i+1]).
    let bounds: Vec<DateTime<Utc>> = months.iter().map(|m| start_of_day(*m, tz)).collect();
    let (Some(&lower), Some(&upper)) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    let lower = from.map_or(lower, |from| from.max(lower));
    let upper = to.map_or(upper, |to| to.min(upper));
    let totals = store::reports::by_bucket(conn, user.id, &bounds, lower, upper).await?;
    let mut groups = fold(totals, |bucket| {
        let label = months.get(*bucket).map(|m| m.format("%Y-%m").to_string()).unwrap_or_default();
        (label.clone(), label)
    });
    groups.sort_by(|a, b| (&a.key, &a.currency).cmp(&(&b.key, &b.currency)));
    Ok(groups)
}

/// Folds per-direction totals into groups per key and currency.
fn fold<K: std::hash::Hash + Eq + Clone>(
    totals: Vec<Total<K>>,
    describe: impl Fn(&K) -> (String, String),
) -> Vec<SummaryGroup> {
    let mut sums: HashMap<(K, String), Sums> = HashMap::new();
    for total in totals {
        let sums = sums.entry((total.key, total.currency)).or_default();
        match total.kind {
            TransactionType::Income => sums.income += total.total,
            TransactionType::Expense => sums.expense += total.total,
        }
        sums.count += total.count;
    }
    sums.into_iter()
        .map(|((key, currency), sums)| {
            let (key, label) = describe(&key);
            SummaryGroup {
                key,
                label,
                income: format_amount(sums.income, &currency),
                expense: format_amount(sums.expense, &currency),
                net: format_amount(sums.income - sums.expense, &currency),
                count: sums.count,
                currency,
            }
        })
        .collect()
}
