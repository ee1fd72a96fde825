//! Ending a request (reject, close): what else ends with it, in the decision's transaction.

use serde_json::{json, Value};
use sqlx::PgConnection;

use super::{DecisionError, CANCELLABLE_TASKS};
use crate::domain::RequestStatus;
use crate::request::lifecycle::transition;

/// Ends request `request_id` as `to` (rejected or closed), inside the caller's transaction:
/// cancels its open store tasks, closes its open verification and holds back the e-mails
/// carrying a one-time code that are not sent yet. A task running right now is skipped (never waited for):
/// it finishes, and the executor never completes an ended request. Returns what was ended.
pub(super) async fn end(
    conn: &mut PgConnection,
    request_id: i64,
    to: RequestStatus,
    by: &Value,
) -> Result<Value, DecisionError> {
    transition(conn, request_id, to, "status_changed", by.clone()).await?;
    let cancelled: Vec<(i64, String, String)> = sqlx::query_as(
        "WITH open AS (
             SELECT id, status FROM store_tasks
             WHERE request_id = $1 AND status = ANY($2)
             FOR UPDATE SKIP LOCKED)
         UPDATE store_tasks t SET status = 'cancelled', updated_at = now()
         FROM open WHERE t.id = open.id
         RETURNING t.id, t.store, open.status",
    )
    .bind(request_id)
    .bind(CANCELLABLE_TASKS)
    .fetch_all(&mut *conn)
    .await?;
    let in_flight: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM store_tasks WHERE request_id = $1 AND (status = ANY($2) OR status = 'running')",
    )
    .bind(request_id)
    .bind(CANCELLABLE_TASKS)
    .fetch_one(&mut *conn)
    .await?;
    if !cancelled.is_empty() {
        crate::request::lifecycle::event(
            &mut *conn,
            request_id,
            "store_tasks_cancelled",
            json!({
                "tasks": cancelled.iter().map(|(id, store, was)| json!({
                    "task_id": id, "store": store, "was": was,
                })).collect::<Vec<_>>(),
                "in_flight": in_flight,
            }),
        )
        .await?;
    }
    let verifications = sqlx::query(
        "UPDATE verifications SET closed_at = now()
         WHERE request_id = $1 AND confirmed_at IS NULL AND closed_at IS NULL",
    )
    .bind(request_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // A one-time code for an ended request must not go out (to a person who perhaps never
    // wrote to us); other replies (a dispute's "nothing was done") still do. A row the mailer
    // has leased is being sent right now: it is left to be marked sent.
    let held_back = sqlx::query(
        "UPDATE outbox SET status = 'suppressed',
                last_error = 'the request was ended by staff before this code was sent'
         WHERE id IN (SELECT id FROM outbox
                      WHERE request_id = $1 AND channel = 'email' AND status = 'pending'
                        AND (payload ->> 'body') ~ '\\m[A-Z2-9]{4}-[A-Z2-9]{4}\\M'
                        AND (lease_until IS NULL OR lease_until <= now())
                      FOR UPDATE SKIP LOCKED)",
    )
    .bind(request_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(json!({
        "tasks_cancelled": cancelled.len(),
        "tasks_in_flight": in_flight,
        "verifications_closed": verifications,
        "codes_held_back": held_back,
    }))
}
