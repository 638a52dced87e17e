//! `penny ops rotate-secrets`: runs `penny-mail-ingest rotate-secrets`, which re-encrypts every
//! stored mailbox secret under the active key. It needs mail-ingest's settings (database URL,
//! `PENNY_SECRET_KEYS`, `PENNY_SECRET_KEY_ACTIVE`), so this process's environment is passed on
//! whole; the CLI itself never reads the keys.

use std::path::PathBuf;

use crate::args::RotateSecretsArgs;
use crate::error::CliError;

/// The program run when `--bin` is not given (looked up in PATH).
pub const DEFAULT_PROGRAM: &str = "penny-mail-ingest";

/// Runs the rotation and waits for it.
pub async fn run(args: &RotateSecretsArgs) -> Result<(), CliError> {
    let program = args.bin.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_PROGRAM));
    let shown = program.display().to_string();
    let status = tokio::process::Command::new(&program)
        .arg("rotate-secrets")
        .args(&args.args)
        .status()
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                CliError::Usage(format!("{shown} not found: give its path with --bin or put it in PATH"))
            } else {
                CliError::io(format!("cannot run {shown}"), e)
            }
        })?;
    if status.success() {
        return Ok(());
    }
    let outcome = match status.code() {
        Some(code) => format!("rotate-secrets exited with status {code}"),
        None => "rotate-secrets was killed by a signal".to_owned(),
    };
    Err(CliError::Subprocess { program: shown, outcome })
}
