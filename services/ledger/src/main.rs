//! The `penny-ledger` binary: `serve` (default), `api`, `work` or `migrate`.

use penny_platform::service::{self, NoExtraCommands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_ledger::LedgerSettings, NoExtraCommands, _, _>(
        penny_ledger::INFO,
        &penny_ledger::MIGRATIONS,
        |settings, command| async move {
            let service::Command::Mode(mode) = command;
            penny_ledger::Application::build(settings, mode).await?.run_until_stopped().await
        },
    )
    .await
}
