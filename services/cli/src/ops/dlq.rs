//! `penny ops dlq list | show | replay`.

use serde_json::json;

use super::management::Management;
use super::parked::{self, ParkedView};
use super::rabbit::RabbitTarget;
use super::replay;
use crate::args::{DlqArgs, DlqCommand, DlqReplayArgs, DlqShowArgs};
use crate::error::CliError;
use crate::output;

/// Runs one `dlq` subcommand.
pub async fn run(args: &DlqArgs, json: bool) -> Result<(), CliError> {
    let target = RabbitTarget::from_args(&args.rabbit)?;
    match &args.command {
        DlqCommand::List => list(&target, json).await,
        DlqCommand::Show(show_args) => show(&target, show_args, json).await,
        DlqCommand::Replay(replay_args) => replay(&target, replay_args, json).await,
    }
}

async fn list(target: &RabbitTarget, json: bool) -> Result<(), CliError> {
    let mut queues: Vec<_> = Management::new(target)?
        .queues()
        .await?
        .into_iter()
        .filter(|q| parked::is_parking_queue(&q.name))
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    if json {
        let items: Vec<_> = queues
            .iter()
            .map(|q| json!({"queue": q.name, "consumer": parked::consumer_of(&q.name), "messages": q.messages}))
            .collect();
        return output::print_json(&items);
    }
    if queues.is_empty() {
        println!("no parking queues in vhost `{}`", target.vhost);
        return Ok(());
    }
    let mut table = output::table(&["queue", "consumer", "messages"]);
    for queue in &queues {
        let messages = queue.messages.map_or_else(|| "?".to_owned(), |n| n.to_string());
        table.add_row(vec![queue.name.clone(), parked::consumer_of(&queue.name).to_owned(), messages]);
    }
    println!("{table}");
    Ok(())
}

async fn show(target: &RabbitTarget, args: &DlqShowArgs, json: bool) -> Result<(), CliError> {
    let queue = parked::parking_queue(&args.queue);
    let messages = Management::new(target)?.peek(&queue, args.count).await?;
    let views: Vec<ParkedView> = messages.iter().map(|m| ParkedView::from_peeked(m, args.body)).collect();
    if json {
        return output::print_json(&views);
    }
    if views.is_empty() {
        println!("{queue} is empty");
        return Ok(());
    }
    let mut table = output::table(&["#", "message id", "type", "routing key", "reason", "error"]);
    for (index, view) in views.iter().enumerate() {
        table.add_row(vec![
            (index + 1).to_string(),
            view.message_id.clone(),
            view.message_type.clone(),
            view.routing_key.clone(),
            view.reason.clone(),
            output::or_dash(view.error.as_deref()),
        ]);
    }
    println!("{table}");
    if args.body {
        for (index, view) in views.iter().enumerate() {
            let encoding = view.body_encoding.as_deref().unwrap_or("string");
            println!("--- message {} ({}, {encoding})", index + 1, view.message_id);
            println!("{}", view.body.as_deref().unwrap_or(""));
        }
    }
    Ok(())
}

async fn replay(target: &RabbitTarget, args: &DlqReplayArgs, json: bool) -> Result<(), CliError> {
    let queue = parked::parking_queue(&args.queue);
    let report = replay::replay(target, &queue, args.count).await?;
    if json {
        output::print_json(&report)?;
    } else {
        for message in &report.replayed {
            println!(
                "replayed {} to {} with routing key {}",
                message.message_id,
                penny_contract::routing::EVENTS_EXCHANGE,
                message.routing_key
            );
        }
        for message in &report.left {
            println!("left {} in {queue}: {}", message.message_id, message.reason);
        }
        println!("replayed {} of {} parked message(s) from {queue}", report.replayed.len(), report.parked);
    }
    if report.left.is_empty() {
        Ok(())
    } else {
        Err(CliError::Broker(format!(
            "{} message(s) could not be replayed and stay in {queue}",
            report.left.len()
        )))
    }
}
