//! RabbitMQ: a declared, durable topology that carries ids of work (never state).
//!
//! For each work queue `W` under prefix `P` ([`topology`]):
//!
//! ```text
//!  P (direct) ──W──▶ P.W  (quorum; x-delivery-limit backstop; dead-letters to P.dlx)
//!                     │ handler fails, attempt n < retries
//!                     ▼
//!                   P.W.retry.n  (TTL = n-th delay) ──expires──▶ P (routing key W) ──▶ P.W
//!                     │ attempts exhausted
//!                     ▼
//!  P.dlx (direct) ──W──▶ P.W.dlq  (quorum; kept for staff and `replay`)
//! ```
//!
//! Publishing waits for the broker's confirm ([`publisher`]); a consumer acks only after its
//! database commit ([`consumer`]). What the queues carry is typed in [`messages`].

pub mod consumer;
pub mod messages;
pub mod publisher;
pub mod topology;

use std::time::Duration;

use lapin::{Connection, ConnectionProperties};

/// Connects to the broker; the error names the endpoint without its credentials.
pub async fn connect(url: &str) -> anyhow::Result<Connection> {
    let endpoint = url
        .rsplit_once('@')
        .map(|(_, host)| host)
        .unwrap_or("(url)")
        .to_owned();
    tokio::time::timeout(
        Duration::from_secs(15),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    .map_err(|_| anyhow::anyhow!("RabbitMQ at {endpoint}: connection timed out after 15 s"))?
    .map_err(|e| anyhow::anyhow!("RabbitMQ at {endpoint}: {e}"))
}
