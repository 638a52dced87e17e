//! `penny jobs list | show | follow | cancel | retry`.

use penny_contract::{JobStatus, JobType};
use serde_json::{Value, json};

use super::Context;
use crate::args::{JobIdArgs, JobsListArgs, RetryArgs};
use crate::error::CliError;
use crate::models::{Job, JobCreated};
use crate::output::{self, or_dash, time};

fn parse_job(value: Value, what: &'static str) -> Result<Job, CliError> {
    serde_json::from_value(value).map_err(|e| CliError::Protocol { what, detail: e.to_string() })
}

/// Lists jobs with the given filters.
pub async fn list(ctx: &mut Context, args: &JobsListArgs) -> Result<(), CliError> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(status) = &args.status {
        let status: JobStatus = status.trim().to_ascii_uppercase().parse().map_err(|_| {
            CliError::Usage(format!(
                "--status `{status}`: one of QUEUED, RUNNING, SUCCESS, FAILED, CANCELLED"
            ))
        })?;
        query.push(("status", status.to_string()));
    }
    if let Some(kind) = &args.job_type {
        let kind: JobType = kind.trim().to_ascii_uppercase().parse().map_err(|_| {
            CliError::Usage(format!("--type `{kind}`: one of EMAIL_FETCH, EMAIL_EXTRACTION, EMAIL_REPROCESS"))
        })?;
        query.push(("job_type", kind.to_string()));
    }
    if let Some(parent) = &args.parent {
        query.push(("parent_job_id", super::id("job", parent)?));
    }
    if args.all_users {
        query.push(("all_users", "true".into()));
    }
    let items: Vec<Value> = ctx.client.list_all("/v1/jobs", &query, Some(args.limit)).await?;
    if ctx.json {
        return output::print_json(&items);
    }
    let mut table = output::table(&["id", "type", "status", "triggered by", "parent", "created", "counts"]);
    for item in items {
        let job = parse_job(item, "GET /v1/jobs")?;
        table.add_row(vec![
            job.id.clone(),
            job.job_type.to_string(),
            job.status.to_string(),
            job.triggered_by.clone(),
            or_dash(job.parent_job_id.as_deref()),
            time(Some(job.created_at)),
            job.counts_text(),
        ]);
    }
    println!("{table}");
    Ok(())
}

/// Shows one job.
pub async fn show(ctx: &mut Context, args: &JobIdArgs) -> Result<(), CliError> {
    let id = super::id("job", &args.id)?;
    let value: Value = ctx.client.get_json(&format!("/v1/jobs/{id}"), &[]).await?;
    if ctx.json {
        return output::print_json(&value);
    }
    let job = parse_job(value.clone(), "GET /v1/jobs/{id}")?;
    let rows = [
        ("id", job.id.clone()),
        ("type", job.job_type.to_string()),
        ("status", job.status.to_string()),
        ("triggered by", job.triggered_by.clone()),
        ("parent", or_dash(job.parent_job_id.as_deref())),
        ("retries", job.retry_count.to_string()),
        ("created", time(Some(job.created_at))),
        ("started", time(job.started_at)),
        ("finished", time(job.finished_at)),
        ("counts", or_dash(Some(&job.counts_text()))),
    ];
    for (name, text) in rows {
        println!("{name:<13} {text}");
    }
    for field in ["input_payload", "output_payload", "error_payload"] {
        match value.get(field) {
            Some(Value::Null) | None => {}
            Some(payload) => println!("{field:<13} {payload}"),
        }
    }
    Ok(())
}

/// Follows a job and its children.
pub async fn follow(ctx: &mut Context, args: &JobIdArgs) -> Result<(), CliError> {
    let id = super::id("job", &args.id)?;
    ctx.follower().follow(&id).await?;
    Ok(())
}

/// Asks for a job to be cancelled.
pub async fn cancel(ctx: &mut Context, args: &JobIdArgs) -> Result<(), CliError> {
    let id = super::id("job", &args.id)?;
    ctx.client
        .request(reqwest::Method::POST, &format!("/v1/jobs/{id}/cancel"), &[], Some(&json!({})))
        .await?;
    println!("cancellation of job {id} requested");
    Ok(())
}

/// Retries a failed job as a new one; with `--wait`, follows it.
pub async fn retry(ctx: &mut Context, args: &RetryArgs) -> Result<(), CliError> {
    let id = super::id("job", &args.id)?;
    let created: JobCreated = ctx.client.post_json(&format!("/v1/jobs/{id}/retry"), &json!({})).await?;
    println!("retry job {}", created.job_id);
    if args.wait {
        ctx.follower().follow(&created.job_id).await?;
    }
    Ok(())
}
