//! The message envelope and every event and command of the catalogue in `DESIGN.md`.
//!
//! Each payload type implements [`Event`], which ties it to its routing key and schema version.
//! A consumer parses with [`Envelope::from_slice`], which refuses a message of another type or of
//! a schema version this build does not understand, so such a message is parked with a reason
//! instead of being half-understood.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{ExtractionOutcome, JobStatus, Provider, TransactionType};
use crate::ids::{AccountId, EmailId, JobId, MessageId, RequestId, UserId};
use crate::money::Money;
use crate::routing;

/// The largest text body carried by `extraction.requested`, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A payload that travels on the bus.
pub trait Event: Serialize + DeserializeOwned {
    /// The routing key, which is also the envelope's `type`.
    const ROUTING_KEY: &'static str;
    /// Bumped when the payload changes incompatibly.
    const SCHEMA_VERSION: u32 = 1;
}

/// Why a message could not be read as the expected event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the message is not a valid envelope: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("expected a `{expected}` message, got `{found}`")]
    WrongType { expected: &'static str, found: String },
    #[error("`{kind}` schema version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion { kind: &'static str, found: u32, supported: u32 },
}

/// Every message: `{message_id, type, schema_version, occurred_at, correlation_id, payload}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<P> {
    /// Unique per message; redeliveries and outbox duplicates share it.
    pub message_id: MessageId,
    /// The routing key of the payload.
    #[serde(rename = "type")]
    pub kind: String,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// The job id where there is one, so one job's messages can be followed.
    pub correlation_id: Option<Uuid>,
    pub payload: P,
}

impl<P: Event> Envelope<P> {
    /// Wraps a payload in a new envelope.
    pub fn new(payload: P, correlation_id: Option<Uuid>) -> Self {
        Self {
            message_id: MessageId::new(),
            kind: P::ROUTING_KEY.to_owned(),
            schema_version: P::SCHEMA_VERSION,
            occurred_at: Utc::now(),
            correlation_id,
            payload,
        }
    }

    /// Parses and checks a message body.
    pub fn from_slice(body: &[u8]) -> Result<Self, EventError> {
        // The head is checked before the payload so that a message of another type or version is
        // reported as such, not as a confusing missing field.
        let envelope: Envelope<serde_json::Value> = serde_json::from_slice(body)?;
        if envelope.kind != P::ROUTING_KEY {
            return Err(EventError::WrongType { expected: P::ROUTING_KEY, found: envelope.kind });
        }
        if envelope.schema_version != P::SCHEMA_VERSION {
            return Err(EventError::UnsupportedVersion {
                kind: P::ROUTING_KEY,
                found: envelope.schema_version,
                supported: P::SCHEMA_VERSION,
            });
        }
        Ok(Envelope {
            message_id: envelope.message_id,
            kind: envelope.kind,
            schema_version: envelope.schema_version,
            occurred_at: envelope.occurred_at,
            correlation_id: envelope.correlation_id,
            payload: serde_json::from_value(envelope.payload)?,
        })
    }

    /// The routing key to publish under.
    pub fn routing_key(&self) -> &'static str {
        P::ROUTING_KEY
    }
}

macro_rules! event {
    ($name:ident, $key:expr) => {
        impl Event for $name {
            const ROUTING_KEY: &'static str = $key;
        }
    };
}

/// A user signed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRegistered {
    pub user_id: UserId,
    pub name: String,
    pub username: String,
    pub email: String,
}
event!(UserRegistered, routing::USER_REGISTERED);

/// A user deleted their account or was deleted by an admin; every service drops their slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDeleted {
    pub user_id: UserId,
}
event!(UserDeleted, routing::USER_DELETED);

/// The extraction service started with this version of its extractors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractionStarted {
    pub extraction_version: String,
}
event!(ExtractionStarted, routing::EXTRACTION_STARTED);

/// A fetch job should run against one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRequested {
    pub job_id: JobId,
    pub account_id: AccountId,
    pub user_id: UserId,
}
event!(FetchRequested, routing::INGEST_FETCH_REQUESTED);

/// One email to classify and extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractionRequested {
    pub request_id: RequestId,
    pub job_id: JobId,
    pub email_id: EmailId,
    pub user_id: UserId,
    pub provider: Provider,
    pub subject: String,
    pub from: String,
    pub received_at: DateTime<Utc>,
    /// The text body (HTML already turned into text), at most [`MAX_BODY_BYTES`].
    pub body_text: String,
    /// The mail had no text part; `body_text` was made from its HTML.
    pub html_only: bool,
    /// A reprocess: make a new attempt even if one is stored for this version.
    pub force: bool,
}
event!(ExtractionRequested, routing::EXTRACTION_REQUESTED);

/// One transaction found in an email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractedTransaction {
    #[serde(flatten)]
    pub money: Money,
    #[serde(rename = "type")]
    pub kind: TransactionType,
    pub merchant: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The last digits of the account or card, when stated.
    pub account_hint: Option<String>,
    /// A system category name suggested by the extractor.
    pub category_hint: Option<String>,
    /// How sure the extractor is, from 0 to 1.
    #[serde(with = "rust_decimal::serde::str")]
    pub confidence: Decimal,
}

/// The outcome of one extraction request, carrying every transaction of the email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailExtracted {
    pub request_id: RequestId,
    pub job_id: JobId,
    pub email_id: EmailId,
    pub user_id: UserId,
    pub provider: Provider,
    pub status: ExtractionOutcome,
    pub extraction_version: String,
    pub transactions: Vec<ExtractedTransaction>,
    pub reason: Option<String>,
}
event!(EmailExtracted, routing::EMAIL_EXTRACTED);

/// The ledger handled an `email.extracted` (whatever its status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailBooked {
    pub job_id: JobId,
    pub email_id: EmailId,
    pub user_id: UserId,
    pub booked: u32,
    pub updated: u32,
    pub removed: u32,
}
event!(EmailBooked, routing::EMAIL_BOOKED);

/// A worker reports a job's state or progress to the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobStatusChanged {
    pub job_id: JobId,
    pub user_id: UserId,
    /// The new status, if it changed.
    pub status: Option<JobStatus>,
    /// Progress counts (for example `{"total": 10, "stored": 4}`); counts never go backwards.
    pub progress: Option<serde_json::Map<String, serde_json::Value>>,
    pub error: Option<serde_json::Value>,
}
event!(JobStatusChanged, routing::JOB_STATUS);

/// `user.registered` or `user.deleted`: every service handles both on one queue.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEvent {
    Registered(Envelope<UserRegistered>),
    Deleted(Envelope<UserDeleted>),
}

impl UserEvent {
    /// Parses a message by its routing key.
    pub fn decode(routing_key: &str, body: &[u8]) -> Result<Self, EventError> {
        match routing_key {
            routing::USER_REGISTERED => Ok(Self::Registered(Envelope::from_slice(body)?)),
            routing::USER_DELETED => Ok(Self::Deleted(Envelope::from_slice(body)?)),
            other => Err(EventError::WrongType {
                expected: "user.registered or user.deleted",
                found: other.to_owned(),
            }),
        }
    }
}

/// Cuts a text body to at most [`MAX_BODY_BYTES`] on a character boundary.
pub fn cap_body(mut text: String) -> String {
    if text.len() > MAX_BODY_BYTES {
        let mut end = MAX_BODY_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::TransactionType;
    use serde_json::json;

    fn extracted() -> EmailExtracted {
        EmailExtracted {
            request_id: RequestId::new(),
            job_id: JobId::new(),
            email_id: EmailId::new(),
            user_id: UserId::new(),
            provider: Provider::Imap,
            status: ExtractionOutcome::Success,
            extraction_version: "rules-1".into(),
            transactions: vec![ExtractedTransaction {
                money: Money::parse("3240", "JPY").unwrap(),
                kind: TransactionType::Expense,
                merchant: Some("Lawson".into()),
                occurred_at: Utc::now(),
                account_hint: Some("1234".into()),
                category_hint: Some("Groceries".into()),
                confidence: Decimal::new(95, 2),
            }],
            reason: None,
        }
    }

    #[test]
    fn envelopes_round_trip() {
        let envelope = Envelope::new(extracted(), Some(Uuid::now_v7()));
        let body = serde_json::to_vec(&envelope).unwrap();
        let back = Envelope::<EmailExtracted>::from_slice(&body).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(back.routing_key(), "email.extracted");
    }

    /// The shape docs/OPERATIONS.md builds in SQL to announce users again after a restore.
    #[test]
    fn a_user_registered_built_by_the_operations_sql_decodes() {
        let body = br#"{"type": "user.registered", "payload": {"name": "N", "email": "n@x.test",
            "user_id": "b63b8277-5df7-43fd-8fd1-4349de43e6df", "username": "n"},
            "message_id": "12ec8033-1d32-43fe-ae9d-4830bd42c132", "occurred_at": "2026-11-26T07:48:12Z",
            "correlation_id": null, "schema_version": 1}"#;
        let envelope = Envelope::<UserRegistered>::from_slice(body).unwrap();
        assert_eq!(envelope.payload.username, "n");
        assert_eq!(envelope.routing_key(), "user.registered");
    }

    #[test]
    fn the_wire_shape_is_the_catalogue_s() {
        let envelope = Envelope::new(extracted(), None);
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(value["type"], "email.extracted");
        assert_eq!(value["schema_version"], 1);
        let tx = &value["payload"]["transactions"][0];
        assert_eq!(tx["amount"], "3240");
        assert_eq!(tx["currency"], "JPY");
        assert_eq!(tx["type"], "expense");
        assert_eq!(tx["confidence"], "0.95");
    }

    #[test]
    fn a_message_of_another_type_is_refused() {
        let envelope = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
        let body = serde_json::to_vec(&envelope).unwrap();
        let err = Envelope::<UserRegistered>::from_slice(&body).unwrap_err();
        assert!(matches!(err, EventError::WrongType { .. }), "{err}");
    }

    #[test]
    fn an_unknown_schema_version_is_refused() {
        let mut value =
            serde_json::to_value(Envelope::new(UserDeleted { user_id: UserId::new() }, None)).unwrap();
        value["schema_version"] = json!(2);
        let err = Envelope::<UserDeleted>::from_slice(&serde_json::to_vec(&value).unwrap()).unwrap_err();
        assert!(matches!(err, EventError::UnsupportedVersion { found: 2, .. }), "{err}");
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let mut value = serde_json::to_value(Envelope::new(extracted(), None)).unwrap();
        value["payload"]["transactions"][0]["amount"] = json!(12.5);
        assert!(Envelope::<EmailExtracted>::from_slice(&serde_json::to_vec(&value).unwrap()).is_err());
        assert!(Envelope::<EmailExtracted>::from_slice(b"not json").is_err());
        assert!(Envelope::<EmailExtracted>::from_slice(b"{}").is_err());
    }

    #[test]
    fn user_events_are_told_apart_by_routing_key() {
        let deleted = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
        let body = serde_json::to_vec(&deleted).unwrap();
        assert_eq!(UserEvent::decode("user.deleted", &body).unwrap(), UserEvent::Deleted(deleted));
        assert!(UserEvent::decode("user.registered", &body).is_err());
        assert!(UserEvent::decode("email.booked", &body).is_err());
    }

    #[test]
    fn bodies_are_capped_on_a_character_boundary() {
        let text = "€".repeat(MAX_BODY_BYTES);
        let capped = cap_body(text);
        assert!(capped.len() <= MAX_BODY_BYTES);
        assert!(capped.len() > MAX_BODY_BYTES - 3);
        assert_eq!(cap_body("short".into()), "short");
    }
}
