//! The `penny-mail-ingest` binary: `serve` (default), `api`, `work` or `migrate`.

use penny_platform::service::{self, NoExtraCommands};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_mail_ingest::MailIngestSettings, NoExtraCommands, _, _>(
        penny_mail_ingest::INFO,
        &penny_mail_ingest::MIGRATIONS,
        |settings, command| async move {
            let service::Command::Mode(mode) = command;
            penny_mail_ingest::Application::build(settings, mode).await?.run_until_stopped().await
        },
    )
    .await
}
