//! The `penny-mail-ingest` binary: `serve` (default), `api`, `work`, `migrate` or
//! `rotate-secrets`.

use penny_mail_ingest::IngestCommand;
use penny_platform::service;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service::run::<penny_mail_ingest::MailIngestSettings, IngestCommand, _, _>(
        penny_mail_ingest::INFO,
        &penny_mail_ingest::MIGRATIONS,
        |settings, command| async move {
            match command {
                service::Command::Mode(mode) => {
                    penny_mail_ingest::Application::build(settings, mode).await?.run_until_stopped().await
                }
                service::Command::Extra(IngestCommand::RotateSecrets) => {
                    penny_mail_ingest::rotate_secrets(settings).await.map(|_| ())
                }
            }
        },
    )
    .await
}
