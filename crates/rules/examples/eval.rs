//! Scores the rules on a labelled corpus and prints per-field accuracy and every miss.
//!
//! `cargo run -q --release -p penny-rules --example eval -- <corpus dir>`

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: eval <corpus dir>   (a folder with emails/ and expected.jsonl)");
        return ExitCode::from(2);
    };
    match penny_rules::eval::run(&dir) {
        Ok(report) => {
            println!("{} ({})", penny_rules::VERSION, dir.display());
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("eval failed: {e}");
            ExitCode::FAILURE
        }
    }
}
