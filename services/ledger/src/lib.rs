//! Categories, transactions, rules, reports and CSV; books transactions extracted from mail.
//!
//! [`Application::build`] assembles the service from its settings, so `main.rs` and the tests
//! start the same thing (the tests on port 0 with a database of their own).
//!
//! How the parts fit:
//! - [`routes`]: one module per resource, one file per action; handlers parse and validate
//!   input, then call [`store`] query functions, each over `&mut AsyncPgConnection`;
//! - [`booking`] and [`users`]: the reactions to `email.extracted`, `user.registered` and
//!   `user.deleted`, plain functions that [`workers`] runs inside the consumer's transaction;
//! - [`categorise`]: the rule engine (pure); [`csv_import`] and [`csv_export`]: streaming CSV;
//! - [`error::LedgerError`]: the one error type, mapped once into the platform's `ApiError`.

#![recursion_limit = "256"]
// Unit tests may unwrap: a panic is how they fail.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod booking;
pub mod categorise;
pub mod csv_export;
pub mod csv_import;
pub mod cursor;
pub mod error;
pub mod input;
pub mod models;
pub mod money;
pub mod routes;
pub mod schema;
pub mod store;
pub mod time;
pub mod users;
pub mod workers;

use std::str::FromStr;
use std::sync::Arc;

use actix_web::web;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use penny_platform::broker::{ConsumerConfig, topology};
use penny_platform::cli::RunMode;
use penny_platform::db::DbPool;
use penny_platform::service::{Foundation, HttpHandle};
use penny_platform::{ServiceInfo, Settings};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use utoipa::OpenApi as _;

use crate::booking::BookingPolicy;

/// Who this service is.
pub const INFO: ServiceInfo =
    ServiceInfo { name: "ledger", env_prefix: "LEDGER", schema: "ledger", default_port: 8082 };

/// `email.extracted` events booked per transaction (three batches are prefetched).
const BOOKING_BATCH: usize = 300;

/// The service's own migrations (`migrations/ledger/`), run after the platform's.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/ledger");

/// Settings of this service beyond the shared ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LedgerSettings {
    /// Transactions extracted from mail with a confidence below this (0 to 1) are flagged
    /// `needs_review` (`PENNY_REVIEW_THRESHOLD`, default 0.6).
    #[serde(deserialize_with = "decimal_from_text_or_number")]
    pub review_threshold: Decimal,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self { review_threshold: Decimal::new(6, 1) }
    }
}

impl LedgerSettings {
    /// The booking policy these settings describe.
    pub fn booking_policy(&self) -> BookingPolicy {
        BookingPolicy { review_threshold: self.review_threshold }
    }
}

/// Environment values arrive as text or as numbers; money-like settings stay exact.
fn decimal_from_text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(f64),
    }
    let text = match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Number(number) => number.to_string(),
    };
    let value = Decimal::from_str(text.trim()).map_err(serde::de::Error::custom)?;
    if value < Decimal::ZERO || value > Decimal::ONE {
        return Err(serde::de::Error::custom("review_threshold must be between 0 and 1"));
    }
    Ok(value)
}

/// What handlers share: their worker's pool, the uploads' pool and the booking policy.
#[derive(Clone)]
pub struct LedgerState {
    pub pool: DbPool,
    /// For the CSV import, which holds a connection while the client sends its file.
    pub uploads: DbPool,
    pub booking: BookingPolicy,
}

/// A built, not yet running, service.
pub struct Application {
    foundation: Foundation,
    http: HttpHandle,
}

impl Application {
    /// Builds the service: migrations, pool, token verification and the HTTP server.
    pub async fn build(settings: Settings<LedgerSettings>, mode: RunMode) -> anyhow::Result<Self> {
        let mut foundation = Foundation::start(INFO, settings.common, &MIGRATIONS, None).await?;
        if mode.runs_workers() {
            let booking = workers::BookingWorker { policy: settings.service.booking_policy() };
            // Booking is set-based: a larger batch means fewer statements and commits per email.
            let config = ConsumerConfig::new(topology::LEDGER_BOOKING).with_batch(BOOKING_BATCH);
            foundation.spawn_consumer_with(booking, config);
            let users = workers::UsersWorker { tombstones: Arc::clone(&foundation.tombstones) };
            foundation.spawn_consumer(users, topology::LEDGER_USERS);
        }
        let booking = settings.service.booking_policy();
        let uploads = foundation.uploads.clone();
        let http = foundation.http(
            mode,
            &routes::ApiDoc::openapi(),
            move |cfg: &mut web::ServiceConfig, pool: &DbPool| {
                cfg.app_data(web::Data::new(LedgerState {
                    pool: pool.clone(),
                    uploads: uploads.clone(),
                    booking,
                }));
                routes::configure(cfg);
            },
        )?;
        Ok(Self { foundation, http })
    }

    /// The HTTP port (useful when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.http.port
    }

    /// The service's foundation (pool, token verifier, tombstones), for the messaging layer and
    /// the benchmark's bare handler.
    pub fn foundation(&self) -> &Foundation {
        &self.foundation
    }

    /// Runs until the server is stopped (Ctrl-C or SIGTERM).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Self { foundation, http } = self;
        http.server.await?;
        drop(foundation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_threshold_reads_text_or_numbers_and_stays_within_0_and_1() {
        let text: LedgerSettings =
            serde_json::from_value(serde_json::json!({"review_threshold": "0.75"})).unwrap();
        assert_eq!(text.review_threshold, Decimal::new(75, 2));
        let number: LedgerSettings =
            serde_json::from_value(serde_json::json!({"review_threshold": 0.7})).unwrap();
        assert_eq!(number.review_threshold, Decimal::new(7, 1));
        let default: LedgerSettings = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(default.review_threshold, Decimal::new(6, 1));
        assert!(
            serde_json::from_value::<LedgerSettings>(serde_json::json!({"review_threshold": "1.5"})).is_err()
        );
    }
}
