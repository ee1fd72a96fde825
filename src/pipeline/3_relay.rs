//! Publishes outbox rows of channel `publish` to RabbitMQ, each confirmed by the broker before
//! the row is marked sent. The same lease as the mailer's ([`outbox::lease`]): a row is claimed
//! for [`LEASE`] in one statement, published holding no row lock and no connection, then
//! marked; a worker that dies mid-publish leaves that one row claimable once its lease has run
//! out, and it is published again with the same body (consumers are idempotent per request).

use std::time::Duration;

use sqlx::PgPool;
use tracing::Instrument;

use crate::outbound::outbox::{self, OutgoingPublish};
use crate::queue::publisher::Publisher;

/// The longest one publish (until the broker's confirm) may take before it counts as failed.
pub const PUBLISH_LIMIT: Duration = Duration::from_secs(10);
/// How long a claimed row stays unclaimable by other workers: more than a whole publish.
pub const LEASE: Duration = Duration::from_secs(3 * PUBLISH_LIMIT.as_secs());

/// Publishes due rows until none is due; returns how many were published.
pub async fn drain(
    pool: &PgPool,
    publisher: &Publisher,
    max_attempts: i32,
) -> anyhow::Result<usize> {
    let mut published = 0;
    loop {
        let leased: Vec<outbox::Leased<OutgoingPublish>> = outbox::lease(pool, 1, LEASE).await?;
        let Some(row) = leased.into_iter().next() else {
            return Ok(published);
        };
        let span = tracing::info_span!("relay", outbox_id = row.id, request_id = row.request_id);
        publish(pool, publisher, &row, max_attempts)
            .instrument(span)
            .await?;
        published += 1;
    }
}

/// Publishes one leased row and settles it: sent, or failed (backing off).
async fn publish(
    pool: &PgPool,
    publisher: &Publisher,
    row: &outbox::Leased<OutgoingPublish>,
    max_attempts: i32,
) -> anyhow::Result<()> {
    let payload = &row.payload;
    let result = match serde_json::to_vec(&payload.body) {
        Ok(body) => tokio::time::timeout(
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
        }),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => {
            outbox::mark_leased_sent(pool, row.id).await?;
            Ok(())
        }
        Err(e) => {
            outbox::record_leased_failure(pool, row.id, &format!("{e:#}"), max_attempts).await?;
            Err(e.context(format!("publishing outbox row {}", row.id)))
        }
    }
}
