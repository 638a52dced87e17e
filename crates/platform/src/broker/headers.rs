//! Message headers Penny sets and reads, and conversions to and from AMQP field tables.

use std::collections::HashMap;

use lapin::types::{AMQPValue, FieldTable, ShortString};

/// The routing key a message was first published with; kept when it is retried or parked.
pub const ORIGINAL_ROUTING_KEY: &str = "x-original-routing-key";
/// How many times a handler has failed on the message so far.
pub const ATTEMPT: &str = "x-penny-attempt";
/// The last handler error (retries) or why the message was parked.
pub const ERROR: &str = "x-penny-error";
/// Why a message was parked: `malformed`, `retries_exhausted` (or the broker's `delivery_limit`).
pub const PARK_REASON: &str = "x-penny-park-reason";
/// The consumer whose parking queue holds the message.
pub const CONSUMER: &str = "x-penny-consumer";

/// Builds a field table of string headers.
pub fn table<'a>(entries: impl IntoIterator<Item = (&'a str, String)>) -> FieldTable {
    let mut table = FieldTable::default();
    for (key, value) in entries {
        table.insert(ShortString::from(key), AMQPValue::LongString(value.into()));
    }
    table
}

/// The string-valued headers of a message (numbers are written as text).
pub fn strings(table: Option<&FieldTable>) -> HashMap<String, String> {
    let Some(table) = table else { return HashMap::new() };
    table
        .inner()
        .iter()
        .filter_map(|(key, value)| {
            let text = match value {
                AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                AMQPValue::ShortString(s) => s.as_str().to_owned(),
                AMQPValue::LongInt(n) => n.to_string(),
                AMQPValue::LongLongInt(n) => n.to_string(),
                AMQPValue::LongUInt(n) => n.to_string(),
                AMQPValue::ShortInt(n) => n.to_string(),
                _ => return None,
            };
            Some((key.as_str().to_owned(), text))
        })
        .collect()
}
