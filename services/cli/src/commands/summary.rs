//! `penny summary`: `GET /v1/reports/summary` as a table.

use serde_json::Value;

use super::Context;
use crate::args::SummaryArgs;
use crate::error::CliError;
use crate::models::Summary;
use crate::output;

/// Prints income, expense and net per group and currency.
pub async fn summary(ctx: &mut Context, args: &SummaryArgs) -> Result<(), CliError> {
    let mut query: Vec<(&str, String)> = vec![("group_by", args.group_by.as_str().to_owned())];
    for (name, value) in [("from", &args.from), ("to", &args.to), ("tz", &args.tz)] {
        if let Some(value) = value {
            query.push((name, value.clone()));
        }
    }
    let value: Value = ctx.client.get_json("/v1/reports/summary", &query).await?;
    if ctx.json {
        return output::print_json(&value);
    }
    let summary: Summary = serde_json::from_value(value)
        .map_err(|e| CliError::Protocol { what: "GET /v1/reports/summary", detail: e.to_string() })?;
    let mut table = output::table(&[args.group_by.as_str(), "currency", "income", "expense", "net", "count"]);
    for group in summary.groups {
        table.add_row(vec![
            group.label.unwrap_or(group.key),
            group.currency,
            group.income,
            group.expense,
            group.net,
            group.count.to_string(),
        ]);
    }
    println!("{table}");
    Ok(())
}
