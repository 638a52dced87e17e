//! `penny import FILE`: streams an mbox export (or one .eml) to `POST /v1/mailbox/import` and
//! follows the fetch job and its extraction job to the end.

use std::path::Path;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use secrecy::ExposeSecret as _;
use tokio_util::io::ReaderStream;

use super::Context;
use crate::args::ImportArgs;
use crate::client::{check, read_json};
use crate::error::CliError;
use crate::models::JobCreated;

/// The content type the import endpoint expects for `file`: one message for `.eml`, an mbox
/// export otherwise.
pub fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("eml") => "message/rfc822",
        _ => "application/mbox",
    }
}

/// Uploads the file, then follows its jobs unless `--no-wait`.
pub async fn import(ctx: &mut Context, args: &ImportArgs) -> Result<(), CliError> {
    let context = || format!("cannot read {}", args.file.display());
    let file = tokio::fs::File::open(&args.file).await.map_err(|e| CliError::io(context(), e))?;
    let metadata = file.metadata().await.map_err(|e| CliError::io(context(), e))?;
    if !metadata.is_file() {
        return Err(CliError::Usage(format!("{} is not a file", args.file.display())));
    }
    let size = metadata.len();

    // The body is a stream and cannot be sent twice, so the token is made fresh first.
    let token = ctx.client.access_token().await?;
    let request = ctx
        .client
        .http()
        .post(ctx.client.url("/v1/mailbox/import"))
        .bearer_auth(token.expose_secret())
        .header(CONTENT_TYPE, content_type(&args.file))
        .header(CONTENT_LENGTH, size)
        .body(reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, 64 * 1024)));
    let response =
        request.send().await.map_err(|e| CliError::from_http("the Penny gateway", ctx.client.base(), e))?;
    let created: JobCreated = read_json(check(response).await?).await?;

    if args.no_wait {
        println!("{}", created.job_id);
        return Ok(());
    }
    println!("uploaded {} ({size} bytes): job {}", args.file.display(), created.job_id);
    ctx.follower().follow(&created.job_id).await?;
    println!("import finished");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eml_files_are_one_message_and_everything_else_an_mbox() {
        assert_eq!(content_type(Path::new("a/receipt.EML")), "message/rfc822");
        assert_eq!(content_type(Path::new("export.mbox")), "application/mbox");
        assert_eq!(content_type(Path::new("Inbox")), "application/mbox");
    }
}
