//! How results reach the terminal: tables (boxed on a terminal, plain ASCII in a pipe), JSON for
//! `--json`, and short times.

use std::io::IsTerminal as _;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;

use crate::error::CliError;

/// Narrower terminals get long lines instead of wrapped cells.
const MIN_WRAP_WIDTH: u16 = 60;

/// Whether standard output is a terminal (bars and boxes) or a pipe or file (plain lines).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// A table with `header`, styled for where standard output goes.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    if stdout_is_terminal() {
        table.load_style(presets::UTF8_FULL_CONDENSED);
        // Wrap cells to the terminal's width, unless it reports none (or a silly one, as a
        // pseudo-terminal nobody sized does): then lines are left long rather than shredded.
        if table.width().is_some_and(|width| width >= MIN_WRAP_WIDTH) {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
    } else {
        table.load_style(presets::ASCII_BORDERS_ONLY_CONDENSED);
    }
    table.set_header(header.iter().copied());
    table
}

/// Prints a value as indented JSON.
pub fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::Protocol { what: "the answer", detail: e.to_string() })?;
    println!("{text}");
    Ok(())
}

/// A time as `2026-03-02T12:00:00Z`, or `-`.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// An optional text, or `-`.
pub fn or_dash(text: Option<&str>) -> String {
    text.filter(|t| !t.is_empty()).unwrap_or("-").to_owned()
}
