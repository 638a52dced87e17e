//! A small client of RabbitMQ's management HTTP API: the queues of a vhost and a
//! non-destructive look at the head of a queue (`ackmode: ack_requeue_true`).

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::rabbit::RabbitTarget;
use crate::error::CliError;

const WHAT: &str = "RabbitMQ's management API";

/// One queue, as listed.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueInfo {
    pub name: String,
    /// Ready plus unacknowledged; absent until the broker has collected statistics.
    #[serde(default)]
    pub messages: Option<u64>,
}

/// A message read by `POST /api/queues/{vhost}/{queue}/get`.
#[derive(Debug, Clone, Deserialize)]
pub struct PeekedMessage {
    /// The routing key it was last published (dead-lettered) with.
    pub routing_key: String,
    pub payload: String,
    /// `string`, or `base64` when the body is not UTF-8.
    pub payload_encoding: String,
    #[serde(default)]
    pub properties: MessageProperties,
}

/// The AMQP properties the management API shows.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessageProperties {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, Value>,
}

/// The management API of one broker, for one vhost.
#[derive(Debug)]
pub struct Management<'a> {
    target: &'a RabbitTarget,
    http: reqwest::Client,
}

impl<'a> Management<'a> {
    /// A client of `target`'s management API.
    pub fn new(target: &'a RabbitTarget) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Protocol { what: WHAT, detail: e.to_string() })?;
        Ok(Self { target, http })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        let response = request
            .basic_auth(&self.target.user, Some(self.target.password.expose_secret()))
            .send()
            .await
            .map_err(|e| match CliError::from_http(WHAT, self.target.api.as_str(), e) {
                CliError::Connection { what, url, detail } => CliError::Connection {
                    what,
                    url,
                    detail: format!(
                        "{detail} (is the management plugin on? `rabbitmq-plugins enable rabbitmq_management`)"
                    ),
                },
                other => other,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // The API answers `{"error": "...", "reason": "..."}`.
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let reason = body.get("reason").and_then(Value::as_str).unwrap_or("");
        let message = match status.as_u16() {
            401 => "RabbitMQ refused the credentials of --rabbitmq-url".to_owned(),
            404 => format!(
                "not found in vhost `{}`{}",
                self.target.vhost,
                if reason.is_empty() { String::new() } else { format!(": {reason}") }
            ),
            _ => format!("{} {reason}", status.canonical_reason().unwrap_or("error")).trim().to_owned(),
        };
        Err(CliError::Api { status: status.as_u16(), code: format!("rabbitmq_{}", status.as_u16()), message })
    }

    /// Every queue of the vhost.
    pub async fn queues(&self) -> Result<Vec<QueueInfo>, CliError> {
        let url = self.target.endpoint(&["queues", &self.target.vhost]);
        let response = self.send(self.http.get(url).query(&[("columns", "name,messages")])).await?;
        response.json().await.map_err(|e| CliError::Protocol { what: WHAT, detail: e.to_string() })
    }

    /// Up to `count` messages from the head of `queue`, put back where they were.
    pub async fn peek(&self, queue: &str, count: usize) -> Result<Vec<PeekedMessage>, CliError> {
        let url = self.target.endpoint(&["queues", &self.target.vhost, queue, "get"]);
        let body = json!({"count": count, "ackmode": "ack_requeue_true", "encoding": "auto"});
        let response = self.send(self.http.post(url).json(&body)).await?;
        response.json().await.map_err(|e| CliError::Protocol { what: WHAT, detail: e.to_string() })
    }
}
