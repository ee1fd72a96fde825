//! Publishes outbox rows of channel `publish` to RabbitMQ, each confirmed by the broker before
//! the row is marked sent (same claim-send-mark transaction as the mailer).

use sqlx::{PgPool, Row};

use crate::outbound::outbox::{self, OutgoingPublish};
use crate::queue::publisher::Publisher;

/// Publishes due rows until none is due; returns how many were published.
pub async fn drain(
    pool: &PgPool,
    publisher: &Publisher,
    max_attempts: i32,
) -> anyhow::Result<usize> {
    let mut published = 0;
    loop {
        let mut tx = pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT id, payload FROM outbox
             WHERE channel = 'publish' AND status = 'pending' AND next_attempt_at <= now()
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(published);
        };
        let id: i64 = row.try_get("id")?;
        let payload: sqlx::types::Json<OutgoingPublish> = row.try_get("payload")?;
        let body = serde_json::to_vec(&payload.body)?;
        match publisher
            .publish(
                &payload.exchange,
                &payload.routing_key,
                &body,
                Default::default(),
            )
            .await
        {
            Ok(()) => {
                outbox::mark_sent(&mut tx, id).await?;
                tx.commit().await?;
                published += 1;
            }
            Err(e) => {
                outbox::record_failure(&mut tx, id, &format!("{e:#}"), max_attempts).await?;
                tx.commit().await?;
                return Err(e.context(format!("publishing outbox row {id}")));
            }
        }
    }
}
