//! The `penny` binary: parses the command line, runs it, and turns a failure into
//! `error: <message>` on standard error and its exit code (see `penny_cli::error`).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = penny_cli::args::Cli::parse();
    // reqwest and lapin both bring rustls; with more than one crypto provider compiled in, rustls
    // needs the process default chosen before the first TLS connection.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(penny_cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
