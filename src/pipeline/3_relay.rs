//! Stage 3: publishes outbox rows of channel `publish` to RabbitMQ, each confirmed by the broker
//! before the row is marked sent. The same lease as the mailer's ([`outbox::lease`]): up to
//! [`BATCH`] rows are claimed for [`LEASE`] in one statement, published together holding no row
//! lock and no connection, and the confirmed ones marked in one statement; a worker that dies
//! mid-publish leaves those rows claimable once their lease has run out (or at once when a
//! worker takes its lease name again: [`crate::outbound::owner`]), and they are published
//! again with the same body (consumers are idempotent per request and per task).

use std::time::Duration;

use sqlx::PgPool;
use tracing::Instrument;

use crate::outbound::outbox::{self, OutgoingPublish};
use crate::queue::publisher::Publisher;

/// The longest one publish (until the broker's confirm) may take before it counts as failed.
pub const PUBLISH_LIMIT: Duration = Duration::from_secs(10);
/// How long a claimed row stays unclaimable by other workers: more than a whole publish.
pub const LEASE: Duration = Duration::from_secs(3 * PUBLISH_LIMIT.as_secs());

/// Rows leased and published at once: their publishes are in flight together on the channel
/// (the broker confirms each), and the sent ones are marked in one statement.
pub const BATCH: i64 = 64;

/// Publishes due rows until none is due; returns how many were published.
pub async fn drain(
    pool: &PgPool,
    publisher: &Publisher,
    max_attempts: i32,
) -> anyhow::Result<usize> {
    let mut published = 0;
    loop {
        let leased: Vec<outbox::Leased<OutgoingPublish>> =
            outbox::lease(pool, BATCH, LEASE).await?;
        if leased.is_empty() {
            return Ok(published);
        }
        let results = futures::future::join_all(leased.iter().map(|row| {
            let span =
                tracing::info_span!("relay", outbox_id = row.id, request_id = row.request_id);
            publish(publisher, row).instrument(span)
        }))
        .await;
        let mut sent = Vec::with_capacity(leased.len());
        let mut first_error = None;
        for (row, result) in leased.iter().zip(results) {
            match result {
                Ok(()) => sent.push(row.id),
                Err(e) => {
                    outbox::record_leased_failure(pool, row.id, &format!("{e:#}"), max_attempts)
                        .await?;
                    first_error
                        .get_or_insert(e.context(format!("publishing outbox row {}", row.id)));
                }
            }
        }
        outbox::mark_leased_published(pool, &sent).await?;
        published += sent.len();
        if let Some(e) = first_error {
            return Err(e);
        }
    }
}

/// Publishes one leased row and waits for the broker's confirm (at most [`PUBLISH_LIMIT`]).
async fn publish(
    publisher: &Publisher,
    row: &outbox::Leased<OutgoingPublish>,
) -> anyhow::Result<()> {
    let payload = &row.payload;
    let body = serde_json::to_vec(&payload.body)?;
    tokio::time::timeout(
        PUBLISH_LIMIT,
        publisher.publish(
            &payload.exchange,
            &payload.routing_key,
            &body,
            Default::default(),
        ),
    )
    .await
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "the broker did not confirm within {} s",
            PUBLISH_LIMIT.as_secs()
        ))
    })
}
