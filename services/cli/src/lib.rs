//! `penny`, Penny's operator command line.
//!
//! Most commands are clients of the public API through the gateway (API.md): `client` sends
//! requests with the session kept by `credentials` (refreshing it when the access token has
//! expired), `commands/` holds one module per resource, `progress` follows jobs to their end
//! with a bar or plain lines, and `output` prints tables and JSON. `ops/` talks to the
//! infrastructure instead: RabbitMQ's parking queues and the secret rotation of mail-ingest.
//! Every failure is a [`CliError`], whose kind decides the exit code.

pub mod args;
pub mod client;
pub mod commands;
pub mod credentials;
pub mod error;
pub mod models;
pub mod ops;
pub mod output;
pub mod progress;
pub mod prompt;

use args::{AccountsCommand, Cli, Command, JobsCommand, OpsCommand, TransactionsCommand};
use commands::Context;
pub use error::CliError;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Ops(ops) = &cli.command {
        return match ops {
            OpsCommand::Dlq(dlq) => ops::dlq::run(dlq, cli.json).await,
            OpsCommand::RotateSecrets(rotate) => ops::rotate_secrets::run(rotate).await,
        };
    }
    let store = credentials::CredentialStore::locate()?;
    let mut ctx = Context {
        client: client::ApiClient::new(&cli.url, store)?,
        json: cli.json,
        wait_timeout: cli.wait_timeout.map(std::time::Duration::from_secs),
    };
    match &cli.command {
        Command::Login(args) => commands::session::login(&mut ctx, args).await,
        Command::Logout => commands::session::logout(&mut ctx).await,
        Command::Register(args) => commands::session::register(&mut ctx, args).await,
        Command::Accounts(AccountsCommand::List) => commands::accounts::list(&mut ctx).await,
        Command::Accounts(AccountsCommand::AddImap(args)) => {
            commands::accounts::add_imap(&mut ctx, args).await
        }
        Command::Accounts(AccountsCommand::Fetch(args)) => commands::accounts::fetch(&mut ctx, args).await,
        Command::Import(args) => commands::import::import(&mut ctx, args).await,
        Command::Jobs(JobsCommand::List(args)) => commands::jobs::list(&mut ctx, args).await,
        Command::Jobs(JobsCommand::Show(args)) => commands::jobs::show(&mut ctx, args).await,
        Command::Jobs(JobsCommand::Follow(args)) => commands::jobs::follow(&mut ctx, args).await,
        Command::Jobs(JobsCommand::Cancel(args)) => commands::jobs::cancel(&mut ctx, args).await,
        Command::Jobs(JobsCommand::Retry(args)) => commands::jobs::retry(&mut ctx, args).await,
        Command::Reprocess(args) => commands::reprocess::reprocess(&mut ctx, args).await,
        Command::Transactions(TransactionsCommand::List(args)) => {
            commands::transactions::list(&mut ctx, args).await
        }
        Command::Summary(args) => commands::summary::summary(&mut ctx, args).await,
        Command::Export(args) => commands::transactions::export(&mut ctx, args).await,
        Command::Ops(_) => Ok(()),
    }
}
