//! Publishing with confirms: a batch is published back to back and its confirms are awaited
//! together, so the broker's round trip is paid once per batch, not once per message.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection};

use super::BrokerError;

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub exchange: &'a str,
    pub routing_key: &'a str,
    pub message_id: String,
    pub body: &'a [u8],
    pub headers: FieldTable,
}

/// What happened to a confirmed batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishReport {
    /// For each message, in order: `true` when a queue took it, `false` when the broker
    /// confirmed it but no queue was bound for its routing key (returned as `mandatory`).
    pub routed: Vec<bool>,
}

impl PublishReport {
    /// How many messages no queue took.
    pub fn unroutable(&self) -> usize {
        self.routed.iter().filter(|routed| !**routed).count()
    }
}

/// A channel in confirm mode.
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("channel", &self.channel.id()).finish()
    }
}

impl Publisher {
    /// Opens a channel on `connection` and turns on publisher confirms.
    pub async fn open(connection: &Connection) -> Result<Self, BrokerError> {
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        Ok(Self { channel })
    }

    /// The underlying channel (for declaring topology).
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publishes every message persistent and `mandatory`, then waits for all the confirms.
    /// Fails if the broker nacks any of them; the caller then publishes the batch again (the
    /// consumers' inbox absorbs the duplicates of the messages that did get through).
    pub async fn publish(&self, messages: &[Outgoing<'_>]) -> Result<PublishReport, BrokerError> {
        let mut pending = Vec::with_capacity(messages.len());
        for message in messages {
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/json".into())
                .with_message_id(message.message_id.as_str().into())
                .with_headers(message.headers.clone());
            let confirm = self
                .channel
                .basic_publish(
                    message.exchange.into(),
                    message.routing_key.into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    message.body,
                    properties,
                )
                .await?;
            pending.push(confirm);
        }
        let mut report = PublishReport { routed: Vec::with_capacity(pending.len()) };
        for confirm in pending {
            match confirm.await? {
                Confirmation::Ack(None) | Confirmation::NotRequested => report.routed.push(true),
                Confirmation::Ack(Some(_)) => report.routed.push(false),
                Confirmation::Nack(_) => return Err(BrokerError::Nacked),
            }
        }
        Ok(report)
    }
}
