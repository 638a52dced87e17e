//! Exchange names and routing keys of the event catalogue.

/// The durable topic exchange every event and command is published to.
pub const EVENTS_EXCHANGE: &str = "penny.events";
/// The dead-letter exchange that parks messages after their retries.
pub const DEAD_LETTER_EXCHANGE: &str = "penny.dlx";

/// auth → ledger, ingest, extraction.
pub const USER_REGISTERED: &str = "user.registered";
/// auth → all.
pub const USER_DELETED: &str = "user.deleted";
/// extraction → ingest, at start-up.
pub const EXTRACTION_STARTED: &str = "extraction.started";
/// ingest → ingest workers.
pub const INGEST_FETCH_REQUESTED: &str = "ingest.fetch.requested";
/// ingest → extraction.
pub const EXTRACTION_REQUESTED: &str = "extraction.requested";
/// extraction → ledger, ingest.
pub const EMAIL_EXTRACTED: &str = "email.extracted";
/// ledger → ingest.
pub const EMAIL_BOOKED: &str = "email.booked";
/// any worker → ingest.
pub const JOB_STATUS: &str = "job.status";

/// Every routing key of the catalogue.
pub const ALL: [&str; 8] = [
    USER_REGISTERED,
    USER_DELETED,
    EXTRACTION_STARTED,
    INGEST_FETCH_REQUESTED,
    EXTRACTION_REQUESTED,
    EMAIL_EXTRACTED,
    EMAIL_BOOKED,
    JOB_STATUS,
];
