//! Runs the rule engine over a corpus's decoded texts, for a profiler to watch; the criterion
//! bench measures, this one is for looking inside.
//!
//! `cargo build --profile bench -p penny-rules --example profile`, then for instance
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='profile::measure'
//! target/release/examples/profile <corpus dir> 10` (instructions of 10 passes, compilation of
//! the rules excluded) or `perf record -g target/release/examples/profile <corpus dir> 300`.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;

use penny_rules::eval::{CorpusEmail, load};

/// Every email of the corpus through the engine, `passes` times; its own function so a profiler
/// can count it alone.
#[inline(never)]
fn measure(emails: &[CorpusEmail], passes: usize) {
    for _ in 0..passes {
        for email in emails {
            black_box(penny_rules::extract(black_box(&email.email())));
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: profile <corpus dir> [passes]");
        return ExitCode::from(2);
    };
    let passes = args.next().and_then(|p| p.to_str()?.parse().ok()).unwrap_or(1);
    let emails: Vec<CorpusEmail> = match load(&dir) {
        Ok(rows) => rows.into_iter().map(|(_, email)| email).collect(),
        Err(e) => {
            eprintln!("cannot load the corpus: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Compile the lazily built rules before anything is measured.
    for email in &emails {
        black_box(penny_rules::extract(&email.email()));
    }
    let started = std::time::Instant::now();
    measure(&emails, passes);
    let seconds = started.elapsed().as_secs_f64();
    let count = emails.len() * passes;
    println!("{count} emails in {seconds:.3} s: {:.0} emails/s", count as f64 / seconds);
    ExitCode::SUCCESS
}
