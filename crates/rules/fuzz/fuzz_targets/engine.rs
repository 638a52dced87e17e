//! Any subject, sender and body must give an answer without panicking, whether they reach the
//! engine directly or through the MIME parser.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use penny_rules::{Email, extract};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut parts = text.splitn(3, '\n');
        let subject = parts.next().unwrap_or_default();
        let from = parts.next().unwrap_or_default();
        let body = parts.next().unwrap_or_default();
        let received_at = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default().fixed_offset();
        let _ = extract(&Email { subject, from, received_at, body });
    }
    if let Ok(message) = penny_mailtext::parse_message(data) {
        let received_at = message.date_local.unwrap_or(DateTime::UNIX_EPOCH.fixed_offset());
        let _ = extract(&Email {
            subject: &message.subject,
            from: &message.from,
            received_at,
            body: &message.text,
        });
    }
});
