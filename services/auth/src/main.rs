//! The `penny-auth` binary: `serve` (default), `api`, `work` or `migrate`.

use penny_platform::service::{self, NoExtraCommands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_auth::AuthSettings, NoExtraCommands, _, _>(
        penny_auth::INFO,
        &penny_auth::MIGRATIONS,
        |settings, command| async move {
            let service::Command::Mode(mode) = command;
            penny_auth::Application::build(settings, mode).await?.run_until_stopped().await
        },
    )
    .await
}
