//! Nothing waits forever: a request whose code or details were not answered within
//! `identity.confirmation_hours` is closed (outcome `expired`), its verification ended, and the
//! sender told in the request's language. Safe with several workers (`SKIP LOCKED`).

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::domain::RequestStatus;
use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::outbound::reply::Replier;
use crate::request::lifecycle;
use crate::request::{verification, RequestRow};

/// Closes every request that waited past its `expires_at`; returns how many.
pub async fn close_expired(pool: &PgPool, replier: &Replier) -> anyhow::Result<usize> {
    let mut closed = 0;
    loop {
        let mut tx = pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM requests
             WHERE expires_at <= now()
               AND status IN ('awaiting_confirmation', 'awaiting_information')
             ORDER BY expires_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(closed);
        };
        close(tx, id, replier)
            .instrument(tracing::info_span!("expire", request_id = id))
            .await?;
        closed += 1;
    }
}

/// Closes one claimed request that waited too long, and tells the sender.
async fn close(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    id: i64,
    replier: &Replier,
) -> anyhow::Result<()> {
    let request = RequestRow::lock(&mut tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {id} vanished"))?;
    verification::close_open(&mut tx, id).await?;
    lifecycle::end(
        &mut tx,
        id,
        RequestStatus::Closed,
        "expired",
        "expired",
        json!({ "waited_for": request.status }),
    )
    .await?;
    replier
        .send(
            &mut tx,
            &request,
            "expired",
            &DedupeKey::reply(id, Reply::Expired),
            json!({}),
            vec![],
        )
        .await?;
    tx.commit().await?;
    tracing::info!(request_id = id, "request closed: nobody answered in time");
    Ok(())
}

/// Runs [`close_expired`] every `poll` until `shutdown`.
pub async fn run(pool: PgPool, replier: Replier, poll: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = close_expired(&pool, &replier).await {
            tracing::warn!("expiry: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {},
            _ = shutdown.cancelled() => return,
        }
    }
}
