//! `penny reprocess`: `POST /v1/reprocess` (202 `{job_id}`), optionally followed.

use serde_json::json;

use super::Context;
use crate::args::{ReprocessArgs, ScopeArg};
use crate::error::CliError;
use crate::models::JobCreated;

/// Starts an EMAIL_REPROCESS job.
pub async fn reprocess(ctx: &mut Context, args: &ReprocessArgs) -> Result<(), CliError> {
    if matches!(args.scope, ScopeArg::Range) && args.from.is_none() && args.to.is_none() {
        return Err(CliError::Usage("--scope range needs --from and/or --to".into()));
    }
    let mut body = json!({"scope": args.scope.as_str()});
    if let Some(from) = &args.from {
        body["from"] = json!(from);
    }
    if let Some(to) = &args.to {
        body["to"] = json!(to);
    }
    if let Some(account) = &args.account {
        body["account_id"] = json!(super::id("account", account)?);
    }
    let created: JobCreated = ctx.client.post_json("/v1/reprocess", &body).await?;
    println!("reprocess job {}", created.job_id);
    if args.wait {
        ctx.follower().follow(&created.job_id).await?;
    }
    Ok(())
}
