//! The messages the work queues carry: ids of work, never state. Each is a type here, written
//! through the outbox (in the transaction that decided the work) and read back by its stage.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sqlx::PgConnection;

use super::consumer::Failure;
use super::topology::WorkQueue;
use crate::outbound::dedupe::{Again, DedupeKey, Work};
use crate::outbound::outbox::{self, OutgoingPublish};

/// A message of the `requests` queue: advance this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMessage {
    pub request_id: i64,
}

/// A message of the `store-actions` queue: run this store task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub task_id: i64,
}

/// Reads a delivery's body; a body that is not the queue's message can never succeed.
pub fn decode<M: DeserializeOwned>(queue: &str, payload: &[u8]) -> Result<M, Failure> {
    serde_json::from_slice(payload)
        .map_err(|e| Failure::Poison(anyhow::anyhow!("malformed {queue} message: {e}")))
}

/// Enqueues `message` for `queue` through the outbox, once per `dedupe` key.
async fn enqueue(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    dedupe: &DedupeKey,
    request_id: Option<i64>,
    message: impl Serialize,
) -> sqlx::Result<()> {
    outbox::enqueue_publish(
        conn,
        dedupe.as_str(),
        request_id,
        &OutgoingPublish {
            exchange: queue.exchange(),
            routing_key: queue.routing_key().to_owned(),
            body: serde_json::to_value(message).expect("a queue message serialises"),
        },
    )
    .await?;
    Ok(())
}

/// Enqueues a store task for the `store-actions` queue through the outbox: once, or once more
/// per replay (`replay`: the attempts it had).
pub async fn publish_task(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    task_id: i64,
    replay: Option<i32>,
) -> sqlx::Result<()> {
    let work = match replay {
        None => Work::Task { task_id },
        Some(attempts) => Work::TaskReplay { task_id, attempts },
    };
    let dedupe = DedupeKey::work(work);
    enqueue(conn, queue, &dedupe, None, TaskMessage { task_id }).await
}

/// Enqueues a request for the `requests` queue through the outbox: once when it is new, and
/// once per cause (`again`) when it goes on.
pub async fn publish_request(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    request_id: i64,
    again: Option<Again>,
) -> sqlx::Result<()> {
    let work = match again {
        None => Work::Request { request_id },
        Some(again) => Work::RequestAgain { request_id, again },
    };
    let dedupe = DedupeKey::work(work);
    enqueue(
        conn,
        queue,
        &dedupe,
        Some(request_id),
        RequestMessage { request_id },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_ids_only_and_round_trip() {
        let m = RequestMessage { request_id: 42 };
        let body = serde_json::to_vec(&m).unwrap();
        assert_eq!(body, br#"{"request_id":42}"#);
        assert_eq!(decode::<RequestMessage>("requests", &body).unwrap(), m);
        assert!(matches!(
            decode::<TaskMessage>("store-actions", br#"{"request_id":42}"#),
            Err(Failure::Poison(_))
        ));
    }
}
