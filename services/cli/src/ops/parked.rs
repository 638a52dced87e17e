//! What a parked message says about itself, read the way the platform's consumers write it
//! (`crates/platform/src/broker/consumer.rs` and `topology.rs`):
//!
//! - parking queues are named `<consumer queue>.parked`;
//! - the routing key the message was first published with is in `x-original-routing-key` (the
//!   relay sets it on every message; a consumer that parks one keeps it);
//! - why it was parked is in `x-penny-park-reason` (`malformed`, `retries_exhausted`) with the
//!   error in `x-penny-error`, or in RabbitMQ's `x-death` when the broker parked it after its
//!   delivery limit (`delivery_limit`).

use std::collections::BTreeMap;

use penny_platform::broker::{headers, topology};
use serde::Serialize;
use serde_json::Value;

use super::management::PeekedMessage;

const PARKED_SUFFIX: &str = ".parked";

/// The parking queue meant by `name`: itself if it is one, else the consumer queue's.
pub fn parking_queue(name: &str) -> String {
    let name = name.trim();
    if name.ends_with(PARKED_SUFFIX) { name.to_owned() } else { topology::parking_queue(name) }
}

/// Whether `name` is a parking queue.
pub fn is_parking_queue(name: &str) -> bool {
    name.ends_with(PARKED_SUFFIX)
}

/// The consumer queue a parking queue belongs to.
pub fn consumer_of(parking_queue: &str) -> &str {
    parking_queue.strip_suffix(PARKED_SUFFIX).unwrap_or(parking_queue)
}

/// Headers that record a message's death and parking: dropped when it is replayed, so it starts
/// again with a full retry budget and no stale reason.
pub fn is_parking_header(name: &str) -> bool {
    name == headers::PARK_REASON
        || name == headers::ERROR
        || name == headers::CONSUMER
        || name == headers::ATTEMPT
        || name == "x-death"
        || name.starts_with("x-first-death-")
        || name.starts_with("x-last-death-")
}

/// A parked message as `penny ops dlq show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct ParkedView {
    pub message_id: String,
    #[serde(rename = "type")]
    pub message_type: String,
    /// The routing key a replay publishes it with.
    pub routing_key: String,
    pub reason: String,
    /// The error text, when the consumer recorded one.
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_encoding: Option<String>,
}

impl ParkedView {
    /// Reads a message from the management API; the body is kept only if `with_body`.
    pub fn from_peeked(message: &PeekedMessage, with_body: bool) -> Self {
        let headers = &message.properties.headers;
        let envelope: Option<Value> = if message.payload_encoding == "string" {
            serde_json::from_str(&message.payload).ok()
        } else {
            None
        };
        let from_envelope = |field: &str| {
            envelope.as_ref().and_then(|e| e.get(field)).and_then(Value::as_str).map(str::to_owned)
        };
        let first_death = headers.get("x-death").and_then(Value::as_array).and_then(|deaths| deaths.first());
        Self {
            message_id: message
                .properties
                .message_id
                .clone()
                .filter(|id| !id.is_empty())
                .or_else(|| from_envelope("message_id"))
                .unwrap_or_else(|| "-".into()),
            message_type: message
                .properties
                .kind
                .clone()
                .or_else(|| from_envelope("type"))
                .unwrap_or_else(|| "-".into()),
            routing_key: original_routing_key(headers).unwrap_or_else(|| message.routing_key.clone()),
            reason: text(headers, headers::PARK_REASON)
                .or_else(|| {
                    first_death.and_then(|d| d.get("reason")).and_then(Value::as_str).map(str::to_owned)
                })
                .unwrap_or_else(|| "-".into()),
            error: text(headers, headers::ERROR),
            body: with_body.then(|| message.payload.clone()),
            body_encoding: with_body.then(|| message.payload_encoding.clone()),
        }
    }
}

fn text(headers: &BTreeMap<String, Value>, name: &str) -> Option<String> {
    match headers.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The original routing key: the header, else the first routing key `x-death` recorded.
fn original_routing_key(headers: &BTreeMap<String, Value>) -> Option<String> {
    text(headers, headers::ORIGINAL_ROUTING_KEY).or_else(|| {
        headers
            .get("x-death")?
            .as_array()?
            .first()?
            .get("routing-keys")?
            .as_array()?
            .first()?
            .as_str()
            .map(str::to_owned)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queue_names_mean_their_parking_queue() {
        assert_eq!(parking_queue("ledger.booking"), "ledger.booking.parked");
        assert_eq!(parking_queue("ledger.booking.parked"), "ledger.booking.parked");
        assert_eq!(consumer_of("ledger.booking.parked"), "ledger.booking");
    }

    #[test]
    fn parking_headers_are_recognised() {
        for name in [
            "x-death",
            "x-first-death-reason",
            "x-last-death-queue",
            "x-penny-park-reason",
            "x-penny-error",
            "x-penny-attempt",
            "x-penny-consumer",
        ] {
            assert!(is_parking_header(name), "{name}");
        }
        for name in ["x-original-routing-key", "traceparent"] {
            assert!(!is_parking_header(name), "{name}");
        }
    }

    fn peeked(value: Value) -> PeekedMessage {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_message_parked_by_its_consumer_shows_key_reason_id_and_type() {
        let message = peeked(json!({
            "routing_key": "ledger.booking", "payload": r#"{"message_id":"m-1","type":"email.extracted"}"#,
            "payload_encoding": "string",
            "properties": {"message_id": "m-1", "headers": {
                "x-original-routing-key": "email.extracted", "x-penny-park-reason": "retries_exhausted",
                "x-penny-error": "boom"}}
        }));
        let view = ParkedView::from_peeked(&message, false);
        assert_eq!(
            (
                view.message_id.as_str(),
                view.message_type.as_str(),
                view.routing_key.as_str(),
                view.reason.as_str()
            ),
            ("m-1", "email.extracted", "email.extracted", "retries_exhausted")
        );
        assert_eq!(view.error.as_deref(), Some("boom"));
        assert!(view.body.is_none());
    }

    #[test]
    fn a_message_parked_by_the_broker_reads_x_death() {
        let message = peeked(json!({
            "routing_key": "ledger.booking", "payload": "not json", "payload_encoding": "string",
            "properties": {"headers": {"x-death": [{"reason": "delivery_limit", "routing-keys": ["email.extracted"]}]}}
        }));
        let view = ParkedView::from_peeked(&message, true);
        assert_eq!((view.routing_key.as_str(), view.reason.as_str()), ("email.extracted", "delivery_limit"));
        assert_eq!((view.message_id.as_str(), view.message_type.as_str()), ("-", "-"));
        assert_eq!(view.body.as_deref(), Some("not json"));
    }
}
