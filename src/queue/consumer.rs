//! Consuming a work queue with manual acks, delayed retries and a dead-letter queue.
//!
//! The handler runs first; the delivery is acked only after it returns (the handler commits its
//! database transaction before returning). A failure is re-published to the next retry queue
//! (with an attempt counter in the `x-attempt` header) or, when the attempts are used up or the
//! handler calls the message poison, to the dead-letter queue — then acked. A message therefore
//! never spins in a hot loop, and one that crashes the process on every delivery is dead-lettered
//! by the broker after [`super::topology::DELIVERY_LIMIT`] deliveries.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::Connection;
use tokio_util::sync::CancellationToken;

use super::publisher::Publisher;
use super::topology::WorkQueue;

/// Why a handler did not finish.
#[derive(Debug)]
pub enum Failure {
    /// Worth trying again later (a store or server that is down, a lock timeout).
    Retry(anyhow::Error),
    /// Will never succeed (malformed payload): straight to the dead-letter queue.
    Poison(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Retry(e.into())
    }
}

const ATTEMPT_HEADER: &str = "x-attempt";
const ERROR_HEADER: &str = "x-last-error";

fn attempt_of(delivery: &Delivery) -> usize {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(ATTEMPT_HEADER))
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => Some(*n as usize),
            AMQPValue::LongInt(n) => Some(*n as usize),
            AMQPValue::ShortInt(n) => Some(*n as usize),
            _ => None,
        })
        .unwrap_or(0)
}

/// Consumes `queue` until `shutdown` is cancelled (returns `Ok`) or the connection fails
/// (returns the error, for the caller to reconnect).
pub async fn consume<H, Fut>(
    connection: &Connection,
    queue: &WorkQueue,
    prefetch: u16,
    shutdown: CancellationToken,
    handler: H,
) -> anyhow::Result<()>
where
    H: Fn(Vec<u8>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send,
{
    consume_with_dead_letters(
        connection,
        queue,
        prefetch,
        shutdown,
        handler,
        |_, _| async { Ok(()) },
    )
    .await
}

/// [`consume`], and `on_dead(payload, error)` once a message is dead-lettered, so the item it
/// names can be marked failed with its reason (in the handler's own database) for staff.
pub async fn consume_with_dead_letters<H, Fut, D, DFut>(
    connection: &Connection,
    queue: &WorkQueue,
    prefetch: u16,
    shutdown: CancellationToken,
    handler: H,
    on_dead: D,
) -> anyhow::Result<()>
where
    H: Fn(Vec<u8>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send,
    D: Fn(Vec<u8>, String) -> DFut + Clone + Send + Sync + 'static,
    DFut: Future<Output = anyhow::Result<()>> + Send,
{
    let channel = connection.create_channel().await?;
    queue.declare(&channel).await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let republisher = Publisher::open(connection).await?;
    let consumer = channel
        .basic_consume(
            queue.queue().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %queue.queue(), "consuming");

    let work = consumer.for_each_concurrent(usize::from(prefetch.max(1)), |delivery| {
        let handler = handler.clone();
        let on_dead = on_dead.clone();
        let republisher = republisher.clone();
        async move {
            match delivery {
                Ok(delivery) => handle(delivery, queue, &republisher, handler, on_dead).await,
                Err(e) => tracing::warn!(queue = %queue.queue(), "delivery error: {e}"),
            }
        }
    });
    tokio::select! {
        _ = work => Err(anyhow::anyhow!("consumer of {} stopped: the broker connection closed", queue.queue())),
        _ = shutdown.cancelled() => Ok(()),
    }
}

async fn handle<H, Fut, D, DFut>(
    delivery: Delivery,
    queue: &WorkQueue,
    republisher: &Publisher,
    handler: H,
    on_dead: D,
) where
    H: Fn(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
    D: Fn(Vec<u8>, String) -> DFut,
    DFut: Future<Output = anyhow::Result<()>>,
{
    let attempt = attempt_of(&delivery);
    let result = handler(delivery.data.clone()).await;
    let settle = match result {
        Ok(()) => Ok(()),
        Err(failure) => {
            let (error, poison) = match failure {
                Failure::Retry(e) => (e, false),
                Failure::Poison(e) => (e, true),
            };
            let delays = queue.retry_delays_ms();
            let mut headers = FieldTable::default();
            headers.insert(
                ERROR_HEADER.into(),
                AMQPValue::LongString(format!("{error:#}").into()),
            );
            if !poison && attempt < delays.len() {
                tracing::warn!(
                    queue = %queue.queue(),
                    attempt = attempt + 1,
                    retry_in_ms = delays[attempt],
                    "handler failed, will retry: {error:#}"
                );
                headers.insert(
                    ATTEMPT_HEADER.into(),
                    AMQPValue::LongLongInt(attempt as i64 + 1),
                );
                republisher
                    .publish("", &queue.retry_queue(attempt), &delivery.data, headers)
                    .await
            } else {
                tracing::error!(
                    queue = %queue.queue(),
                    attempts = attempt + 1,
                    poison,
                    "handler failed for good; dead-lettered: {error:#}"
                );
                headers.insert(
                    ATTEMPT_HEADER.into(),
                    AMQPValue::LongLongInt(attempt as i64 + 1),
                );
                if let Err(e) = on_dead(delivery.data.clone(), format!("{error:#}")).await {
                    tracing::warn!(queue = %queue.queue(), "recording a dead-lettered item failed: {e:#}");
                }
                republisher
                    .publish(
                        &queue.dead_letter_exchange(),
                        queue.routing_key(),
                        &delivery.data,
                        headers,
                    )
                    .await
            }
        }
    };
    match settle {
        Ok(()) => {
            if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                tracing::warn!(queue = %queue.queue(), "ack failed (message will be redelivered): {e}");
            }
        }
        Err(e) => {
            // Could not park the message for a retry: hand it back to the broker, slowly.
            tracing::warn!(queue = %queue.queue(), "could not re-publish a failed message: {e:#}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await;
        }
    }
}
