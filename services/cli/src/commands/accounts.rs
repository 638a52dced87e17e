//! `penny accounts list | add-imap | fetch`.

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::Context;
use crate::args::{AddImapArgs, FetchArgs};
use crate::error::CliError;
use crate::models::{Account, JobCreated};
use crate::output::{self, time};
use crate::prompt;

/// Lists the connected mailboxes.
pub async fn list(ctx: &mut Context) -> Result<(), CliError> {
    let items: Vec<Value> = ctx.client.list_all("/v1/accounts", &[], None).await?;
    if ctx.json {
        return output::print_json(&items);
    }
    let mut table = output::table(&["id", "provider", "email", "status", "last fetched"]);
    for item in items {
        let account: Account = serde_json::from_value(item)
            .map_err(|e| CliError::Protocol { what: "GET /v1/accounts", detail: e.to_string() })?;
        table.add_row(vec![
            account.id,
            account.provider,
            account.email,
            account.status,
            time(account.last_fetched_at),
        ]);
    }
    println!("{table}");
    Ok(())
}

/// Connects an IMAP mailbox.
pub async fn add_imap(ctx: &mut Context, args: &AddImapArgs) -> Result<(), CliError> {
    let password = prompt::password(args.password_stdin, "IMAP password: ")?;
    let mut body = json!({
        "host": args.host,
        "port": args.port,
        "tls": args.tls.as_str(),
        "username": args.username,
        "password": password.expose_secret(),
    });
    if let Some(mailbox) = &args.mailbox {
        body["mailbox"] = json!(mailbox);
    }
    let account: Value = ctx.client.post_json("/v1/accounts/imap", &body).await?;
    if ctx.json {
        return output::print_json(&account);
    }
    let id = account.get("id").and_then(Value::as_str).unwrap_or("-");
    println!("connected {} ({id})", args.username);
    Ok(())
}

/// Starts a fetch of one account; with `--wait`, follows it.
pub async fn fetch(ctx: &mut Context, args: &FetchArgs) -> Result<(), CliError> {
    let id = super::id("account", &args.id)?;
    let created: JobCreated = ctx.client.post_json(&format!("/v1/accounts/{id}/fetch"), &json!({})).await?;
    println!("fetch job {}", created.job_id);
    if args.wait {
        ctx.follower().follow(&created.job_id).await?;
    }
    Ok(())
}
