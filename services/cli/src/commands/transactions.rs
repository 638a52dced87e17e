//! `penny transactions list` (a table, with category names) and `penny export` (the CSV export,
//! streamed to a file or standard output).

use std::collections::HashMap;
use std::io::Write as _;

use futures::StreamExt as _;
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use super::Context;
use crate::args::{ExportArgs, TransactionsListArgs};
use crate::error::CliError;
use crate::models::{Category, Transaction};
use crate::output::{self, time};

/// Lists transactions, newest first.
pub async fn list(ctx: &mut Context, args: &TransactionsListArgs) -> Result<(), CliError> {
    let items: Vec<Value> =
        ctx.client.list_all("/v1/transactions", &args.filters.query(), Some(args.limit)).await?;
    if ctx.json {
        return output::print_json(&items);
    }
    let categories: Vec<Category> = ctx.client.list_all("/v1/categories", &[], None).await?;
    let names: HashMap<String, String> = categories.into_iter().map(|c| (c.id, c.name)).collect();
    let mut table =
        output::table(&["date", "type", "amount", "currency", "merchant", "category", "source", "id"]);
    let count = items.len();
    for item in items {
        let tx: Transaction = serde_json::from_value(item)
            .map_err(|e| CliError::Protocol { what: "GET /v1/transactions", detail: e.to_string() })?;
        let category = tx.category_id.as_ref().map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()));
        let mut kind = tx.kind.clone();
        if tx.needs_review {
            kind.push_str(" (review)");
        }
        table.add_row(vec![
            time(Some(tx.occurred_at)),
            kind,
            tx.amount,
            tx.currency,
            output::or_dash(tx.merchant.as_deref()),
            output::or_dash(category.as_deref()),
            tx.source,
            tx.id,
        ]);
    }
    println!("{table}");
    println!("{count} transaction(s)");
    Ok(())
}

/// Streams the CSV export. Written to `--output` through a temporary file renamed at the end,
/// so an interrupted export never leaves a partial file under the final name.
pub async fn export(ctx: &mut Context, args: &ExportArgs) -> Result<(), CliError> {
    let mut query = args.filters.query();
    query.push(("format", "csv".into()));
    let response = ctx.client.request(reqwest::Method::GET, "/v1/transactions/export", &query, None).await?;
    let mut body = response.bytes_stream();
    let read_error = |e: reqwest::Error| CliError::Protocol {
        what: "the export",
        detail: crate::error::chain(&e.without_url()),
    };

    match &args.output {
        None => {
            let mut stdout = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                stdout
                    .write_all(&chunk.map_err(read_error)?)
                    .map_err(|e| CliError::io("cannot write the export", e))?;
            }
            stdout.flush().map_err(|e| CliError::io("cannot write the export", e))?;
        }
        Some(path) => {
            let temp = path.with_extension("csv.partial");
            let context = || format!("cannot write {}", temp.display());
            let mut file = tokio::fs::File::create(&temp).await.map_err(|e| CliError::io(context(), e))?;
            let mut bytes = 0usize;
            let copied: Result<(), CliError> = async {
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.map_err(read_error)?;
                    bytes += chunk.len();
                    file.write_all(&chunk).await.map_err(|e| CliError::io(context(), e))?;
                }
                file.sync_all().await.map_err(|e| CliError::io(context(), e))
            }
            .await;
            drop(file);
            if let Err(error) = copied {
                let _ = tokio::fs::remove_file(&temp).await;
                return Err(error);
            }
            tokio::fs::rename(&temp, path)
                .await
                .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?;
            eprintln!("wrote {} ({bytes} bytes)", path.display());
        }
    }
    Ok(())
}
