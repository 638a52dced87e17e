//! The shapes of the API answers the CLI reads (API.md). Only the fields the CLI uses are typed;
//! where a command prints an answer as JSON it prints what the server sent, not these.

use chrono::{DateTime, Utc};
use penny_contract::{JobStatus, JobType};
use serde::Deserialize;
use serde_json::Value;

/// `POST /v1/auth/login` and `/v1/auth/refresh`.
#[derive(Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token is valid for.
    pub expires_in: i64,
}

/// Every list endpoint's page.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `{job_id}` answers (202).
#[derive(Debug, Deserialize)]
pub struct JobCreated {
    pub job_id: String,
}

/// A job of the registry.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    pub id: String,
    pub job_type: JobType,
    pub status: JobStatus,
    pub triggered_by: String,
    pub parent_job_id: Option<String>,
    #[serde(default)]
    pub output_payload: Value,
    #[serde(default)]
    pub error_payload: Option<Value>,
    #[serde(default)]
    pub retry_count: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Job {
    /// The counts this job's type records, in their documented order (DESIGN.md).
    pub fn count_names(&self) -> &'static [&'static str] {
        match self.job_type {
            JobType::EmailFetch => &["total", "stored", "duplicates", "malformed"],
            JobType::EmailExtraction | JobType::EmailReprocess => {
                &["total", "extracted", "skipped", "failed", "booked"]
            }
        }
    }

    /// A count from `output_payload`, if present.
    pub fn count(&self, name: &str) -> Option<u64> {
        self.output_payload.get(name).and_then(Value::as_u64)
    }

    /// `total 3, stored 2, duplicates 1` for the counts present.
    pub fn counts_text(&self) -> String {
        self.count_names()
            .iter()
            .filter_map(|name| self.count(name).map(|n| format!("{name} {n}")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How many of `total` are done: stored, duplicate or malformed messages of a fetch;
    /// extracted, skipped or failed emails of an extraction.
    pub fn done(&self) -> u64 {
        let names: &[&str] = match self.job_type {
            JobType::EmailFetch => &["stored", "duplicates", "malformed"],
            JobType::EmailExtraction | JobType::EmailReprocess => &["extracted", "skipped", "failed"],
        };
        names.iter().filter_map(|name| self.count(name)).sum()
    }

    /// The error's message, when the job has one.
    pub fn error_text(&self) -> Option<String> {
        let error = self.error_payload.as_ref()?;
        if error.is_null() {
            return None;
        }
        Some(match error.get("message").and_then(Value::as_str) {
            Some(message) => message.to_owned(),
            None => error.to_string(),
        })
    }
}

/// A ledger transaction, as listed.
#[derive(Debug, Deserialize)]
pub struct Transaction {
    pub id: String,
    pub amount: String,
    pub currency: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub category_id: Option<String>,
    pub merchant: Option<String>,
    pub source: String,
    #[serde(default)]
    pub needs_review: bool,
}

/// A category, to show names instead of ids.
#[derive(Debug, Deserialize)]
pub struct Category {
    pub id: String,
    pub name: String,
}

/// `GET /v1/reports/summary`.
#[derive(Debug, Deserialize)]
pub struct Summary {
    pub groups: Vec<SummaryGroup>,
}

/// One key in one currency.
#[derive(Debug, Deserialize)]
pub struct SummaryGroup {
    pub key: String,
    /// The category's name or the month (an extension of the contract; the key otherwise).
    #[serde(default)]
    pub label: Option<String>,
    pub currency: String,
    pub income: String,
    pub expense: String,
    pub net: String,
    pub count: i64,
}

/// A connected mailbox.
#[derive(Debug, Deserialize)]
pub struct Account {
    pub id: String,
    pub provider: String,
    pub email: String,
    pub status: String,
    pub last_fetched_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &str, output: Value) -> Job {
        serde_json::from_value(serde_json::json!({
            "id": "j", "job_type": kind, "status": "RUNNING", "triggered_by": "API",
            "parent_job_id": null, "input_payload": {}, "output_payload": output,
            "error_payload": null, "retry_count": 0, "started_at": null, "finished_at": null,
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn counts_follow_the_job_type() {
        let fetch = job("EMAIL_FETCH", serde_json::json!({"total": 4, "stored": 3, "duplicates": 1}));
        assert_eq!(fetch.counts_text(), "total 4, stored 3, duplicates 1");
        assert_eq!(fetch.done(), 4);
        let extraction = job(
            "EMAIL_EXTRACTION",
            serde_json::json!({"total": 4, "extracted": 2, "skipped": 1, "failed": 0, "booked": 2}),
        );
        assert_eq!(extraction.counts_text(), "total 4, extracted 2, skipped 1, failed 0, booked 2");
        assert_eq!(extraction.done(), 3);
        assert_eq!(extraction.error_text(), None);
    }
}
