//! Replaying parked messages over AMQP, losing none.
//!
//! Each message is taken with `basic.get` *without* auto-ack, so it stays on the broker, held by
//! this channel and invisible to anyone else, until this replay decides. A copy is published to
//! `penny.events` with the original routing key, the same properties and body, and the headers
//! minus the death and parking ones, `mandatory` and with publisher confirms. Only when the
//! broker has confirmed the copy and routed it to at least one queue is the parked message acked
//! (removed). If the copy is refused or unroutable, the parked message is put back (nack with
//! requeue); if the CLI or the connection dies at any point, the broker puts every held message
//! back by itself. The worst case is a crash between the confirm and the ack: the message is
//! then both replayed and still parked, and consumers drop the duplicate by its message id
//! (their inbox). The management API's `get` cannot give this guarantee: its destructive mode
//! removes whatever is at the head of the queue when the second request arrives, with no way to
//! say "the message I read".

use std::time::Duration;

use lapin::Confirmation;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Connection, ConnectionProperties, message::Delivery};
use penny_contract::routing;
use penny_platform::broker::headers;
use serde::Serialize;

use super::parked::is_parking_header;
use super::rabbit::RabbitTarget;
use crate::error::CliError;

/// The longest wait for one broker operation.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// One replayed message.
#[derive(Debug, Clone, Serialize)]
pub struct Replayed {
    pub message_id: String,
    pub routing_key: String,
}

/// One message left in the parking queue, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Left {
    pub message_id: String,
    pub reason: String,
}

/// What a replay did.
#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    /// Messages parked when the replay started.
    pub parked: u32,
    pub replayed: Vec<Replayed>,
    pub left: Vec<Left>,
}

async fn bounded<T>(
    what: &str,
    operation: impl Future<Output = Result<T, lapin::Error>>,
) -> Result<T, CliError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(result) => result.map_err(|e| CliError::Broker(format!("{what}: {e}"))),
        Err(_) => Err(CliError::Broker(format!("{what}: no answer within {}s", OPERATION_TIMEOUT.as_secs()))),
    }
}

/// The headers a replayed copy carries.
pub fn replay_headers(original: Option<&FieldTable>) -> FieldTable {
    let mut table = FieldTable::default();
    if let Some(original) = original {
        for (name, value) in original.inner() {
            if !is_parking_header(name.as_str()) {
                table.insert(name.clone(), value.clone());
            }
        }
    }
    table
}

fn string(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// The routing key to replay with: `x-original-routing-key`, else the first of `x-death`.
pub fn original_routing_key(table: Option<&FieldTable>) -> Option<String> {
    let inner = table?.inner();
    if let Some(key) = inner.get(headers::ORIGINAL_ROUTING_KEY).and_then(string) {
        return Some(key);
    }
    let AMQPValue::FieldArray(deaths) = inner.get("x-death")? else { return None };
    let AMQPValue::FieldTable(first) = deaths.as_slice().first()? else { return None };
    let AMQPValue::FieldArray(keys) = first.inner().get("routing-keys")? else { return None };
    keys.as_slice().first().and_then(string)
}

fn message_id(delivery: &Delivery) -> String {
    delivery.properties.message_id().as_ref().map_or_else(|| "-".to_owned(), |id| id.as_str().to_owned())
}

/// Replays up to `limit` messages (default: all parked now) of `queue` in `target`'s vhost.
pub async fn replay(
    target: &RabbitTarget,
    queue: &str,
    limit: Option<usize>,
) -> Result<ReplayReport, CliError> {
    let uri = target.amqp_uri()?;
    let properties = ConnectionProperties::default().with_connection_name("penny-cli dlq replay".into());
    let connection =
        match tokio::time::timeout(OPERATION_TIMEOUT, Connection::connect_uri(uri, properties)).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => {
                return Err(CliError::Connection {
                    what: "RabbitMQ (AMQP)",
                    url: target.amqp_shown.clone(),
                    detail: e.to_string(),
                });
            }
            Err(_) => {
                return Err(CliError::Connection {
                    what: "RabbitMQ (AMQP)",
                    url: target.amqp_shown.clone(),
                    detail: "timed out".into(),
                });
            }
        };
    let result = replay_on(&connection, target, queue, limit).await;
    let _ = tokio::time::timeout(OPERATION_TIMEOUT, connection.close(200, "replay done".into())).await;
    result
}

async fn replay_on(
    connection: &Connection,
    target: &RabbitTarget,
    queue: &str,
    limit: Option<usize>,
) -> Result<ReplayReport, CliError> {
    let channel = bounded("opening a channel", connection.create_channel()).await?;
    let passive = QueueDeclareOptions { passive: true, ..Default::default() };
    let declared = tokio::time::timeout(
        OPERATION_TIMEOUT,
        channel.queue_declare(ShortString::from(queue), passive, FieldTable::default()),
    )
    .await;
    let parked = match declared {
        Ok(Ok(q)) => q.message_count(),
        Ok(Err(e)) => {
            return Err(CliError::Api {
                status: 404,
                code: "rabbitmq_404".into(),
                message: format!("no queue `{queue}` in vhost `{}` ({e})", target.vhost),
            });
        }
        Err(_) => return Err(CliError::Broker("checking the queue: no answer".into())),
    };
    bounded("enabling publisher confirms", channel.confirm_select(ConfirmSelectOptions::default())).await?;

    let mut report = ReplayReport { parked, ..ReplayReport::default() };
    let wanted = limit.unwrap_or(usize::MAX).min(parked as usize);
    // Messages that could not be replayed stay held until the end, so the loop never gets them
    // again; then they go back to the queue.
    let mut held: Vec<Delivery> = Vec::new();
    for _ in 0..wanted {
        let got = bounded(
            "reading the parking queue",
            channel.basic_get(ShortString::from(queue), BasicGetOptions { no_ack: false }),
        )
        .await?;
        let Some(message) = got else { break };
        let delivery = message.delivery;
        let id = message_id(&delivery);
        let table = delivery.properties.headers().as_ref();
        let Some(routing_key) = original_routing_key(table) else {
            report.left.push(Left { message_id: id, reason: "it has no original routing key".into() });
            held.push(delivery);
            continue;
        };
        let copy = delivery.properties.clone().with_headers(replay_headers(table));
        let publish = BasicPublishOptions { mandatory: true, immediate: false };
        let confirm = bounded(
            "publishing the copy",
            channel.basic_publish(
                routing::EVENTS_EXCHANGE.into(),
                ShortString::from(routing_key.as_str()),
                publish,
                &delivery.data,
                copy,
            ),
        )
        .await?;
        let confirmation = bounded("awaiting the broker's confirm", confirm).await?;
        let refused = match confirmation {
            Confirmation::Ack(None) => None,
            Confirmation::Ack(Some(_)) => Some(format!("no queue is bound to `{routing_key}`")),
            Confirmation::Nack(_) => Some("the broker refused the copy (nack)".to_owned()),
            Confirmation::NotRequested => Some("the broker did not confirm the copy".to_owned()),
        };
        if let Some(reason) = refused {
            report.left.push(Left { message_id: id, reason });
            held.push(delivery);
            continue;
        }
        let removed =
            bounded("removing the parked message", delivery.acker.ack(BasicAckOptions::default())).await?;
        if !removed {
            return Err(CliError::Broker(format!(
                "message {id} was replayed but the channel closed before it could be removed from `{queue}`: \
                 it stays parked (consumers drop a second copy by its message id)"
            )));
        }
        report.replayed.push(Replayed { message_id: id, routing_key });
    }
    for delivery in held {
        let requeue = BasicNackOptions { requeue: true, multiple: false };
        bounded("putting a message back", delivery.acker.nack(requeue)).await?;
    }
    let _ = tokio::time::timeout(OPERATION_TIMEOUT, channel.close(200, "replay done".into())).await;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::{FieldArray, LongString};

    fn long(text: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(text))
    }

    #[test]
    fn a_replayed_copy_keeps_its_routing_key_and_trace_but_not_its_death() {
        let mut table = FieldTable::default();
        table.insert("x-original-routing-key".into(), long("email.extracted"));
        table.insert("traceparent".into(), long("00-abc-def-01"));
        table.insert("x-penny-park-reason".into(), long("malformed"));
        table.insert("x-penny-error".into(), long("bad json"));
        table.insert("x-penny-attempt".into(), long("3"));
        table.insert("x-first-death-reason".into(), long("delivery_limit"));
        table.insert("x-death".into(), AMQPValue::FieldArray(FieldArray::from(vec![])));
        let copy = replay_headers(Some(&table));
        let names: Vec<&str> = copy.inner().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["traceparent", "x-original-routing-key"]);
        assert_eq!(original_routing_key(Some(&table)).as_deref(), Some("email.extracted"));
    }

    #[test]
    fn the_routing_key_falls_back_to_x_death() {
        let mut death = FieldTable::default();
        death.insert(
            "routing-keys".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![long("user.deleted")])),
        );
        let mut table = FieldTable::default();
        table.insert(
            "x-death".into(),
            AMQPValue::FieldArray(FieldArray::from(vec![AMQPValue::FieldTable(death)])),
        );
        assert_eq!(original_routing_key(Some(&table)).as_deref(), Some("user.deleted"));
        assert_eq!(original_routing_key(None), None);
    }
}
