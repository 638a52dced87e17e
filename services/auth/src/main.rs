//! The `penny-auth` binary: `serve` (default), `api`, `work`, `migrate` or `create-admin`.

use penny_auth::cli::AuthCommand;
use penny_platform::service;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_auth::AuthSettings, AuthCommand, _, _>(
        penny_auth::INFO,
        &penny_auth::MIGRATIONS,
        |settings, command| async move {
            match command {
                service::Command::Mode(mode) => {
                    penny_auth::Application::build(settings, mode).await?.run_until_stopped().await
                }
                service::Command::Extra(command) => command.run(settings).await,
            }
        },
    )
    .await
}
