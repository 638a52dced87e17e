//! Operator tools that talk to the infrastructure rather than the public API: RabbitMQ's parking
//! queues (`dlq`: list and show through the management HTTP API, replay over AMQP with
//! publisher confirms) and re-encrypting mailbox secrets (`rotate_secrets`).

pub mod dlq;
pub mod management;
pub mod parked;
pub mod rabbit;
pub mod replay;
pub mod rotate_secrets;
