//! The `penny-extraction` binary: `serve` (default), `api`, `work` or `migrate`.

use penny_platform::service::{self, NoExtraCommands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_extraction::ExtractionSettings, NoExtraCommands, _, _>(
        penny_extraction::INFO,
        &penny_extraction::MIGRATIONS,
        |settings, command| async move {
            let service::Command::Mode(mode) = command;
            penny_extraction::Application::build(settings, mode).await?.run_until_stopped().await
        },
    )
    .await
}
