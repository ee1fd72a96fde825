//! The request's lifecycle and timeline: the one module that changes a request's status
//! ([`transition`], checked against [`RequestStatus::can_become`]) and writes its timeline
//! (`request_events`, [`event`]). Every stage and every staff decision goes through here.

use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::domain::RequestStatus;

/// A status change the lifecycle does not allow (a bug, or a race lost to another worker).
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("request {0} does not exist")]
    NotFound(i64),
    #[error("request {id} cannot go from `{from}` to `{to}`")]
    NotAllowed {
        id: i64,
        from: RequestStatus,
        to: RequestStatus,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Moves request `id` to `to` and records `event` (with `detail`, plus the old and new status)
/// on its timeline, inside the caller's transaction. Locks the request row; returns the status
/// it had. Every status change in the worker goes through here.
pub async fn transition(
    conn: &mut PgConnection,
    id: i64,
    to: RequestStatus,
    event: &str,
    detail: Value,
) -> Result<RequestStatus, TransitionError> {
    change(conn, id, to, None, event, detail, Also::default()).await
}

/// What else a status change writes to the request, in the same statement (one row version
/// instead of several: the request row is the hottest in the database).
#[derive(Debug, Default, Clone, Copy)]
pub struct Also<'a> {
    /// The acknowledgement was decided (queued, rate-limited or not to be sent):
    /// `acknowledged_at`, if not set before.
    pub acknowledged: bool,
    /// The request closes by itself if nobody answers within this many hours (`expires_at`;
    /// without it, a status change clears the expiry).
    pub expires_in_hours: Option<u32>,
    /// The store match just recorded (counts only).
    pub subject_match: Option<&'a Value>,
}

/// [`transition`], writing `also` in the same statement.
pub async fn transition_also(
    conn: &mut PgConnection,
    id: i64,
    to: RequestStatus,
    event: &str,
    detail: Value,
    also: Also<'_>,
) -> Result<RequestStatus, TransitionError> {
    change(conn, id, to, None, event, detail, also).await
}

/// [`transition`] to a final status that also records the request's `outcome` (`done`,
/// `expired`), in the same statement.
pub async fn end(
    conn: &mut PgConnection,
    id: i64,
    to: RequestStatus,
    outcome: &str,
    event: &str,
    detail: Value,
) -> Result<RequestStatus, TransitionError> {
    change(conn, id, to, Some(outcome), event, detail, Also::default()).await
}

async fn change(
    conn: &mut PgConnection,
    id: i64,
    to: RequestStatus,
    outcome: Option<&str>,
    event: &str,
    detail: Value,
    also: Also<'_>,
) -> Result<RequestStatus, TransitionError> {
    let mut detail = match detail {
        Value::Object(map) => Value::Object(map),
        Value::Null => json!({}),
        other => json!({ "detail": other }),
    };
    detail["to"] = json!(to);
    // The statuses that may become `to`, so that the check, the change and its event are one
    // statement (one round trip): the row is locked, changed only from one of those, and the
    // event (with the old status) written only if it was.
    let allowed: Vec<&str> = RequestStatus::ALL
        .iter()
        .filter(|from| from.can_become(to))
        .map(|from| from.as_str())
        .collect();
    let row: Option<(RequestStatus, bool)> = sqlx::query_as(
        "WITH old AS (
             SELECT id, status FROM requests WHERE id = $1 FOR NO KEY UPDATE
         ), changed AS (
             UPDATE requests r SET status = $2,
                    completed_at = CASE WHEN $3 THEN coalesce(r.completed_at, now())
                                        ELSE r.completed_at END,
                    expires_at = now() + make_interval(hours => $5),
                    outcome = coalesce($4, r.outcome),
                    acknowledged_at = CASE WHEN $6 THEN coalesce(r.acknowledged_at, now())
                                           ELSE r.acknowledged_at END,
                    subject_match = coalesce($7, r.subject_match)
             FROM old
             WHERE r.id = old.id AND old.status = ANY($8)
             RETURNING r.id, old.status
         ), recorded AS (
             INSERT INTO request_events (request_id, event, detail)
             SELECT id, $9, $10::jsonb || jsonb_build_object('from', status) FROM changed
         )
         SELECT status, EXISTS (SELECT 1 FROM changed) FROM old",
    )
    .bind(id)
    .bind(to)
    .bind(to.is_final())
    .bind(outcome)
    .bind(also.expires_in_hours.map(|h| h as i32))
    .bind(also.acknowledged)
    .bind(also.subject_match)
    .bind(&allowed)
    .bind(event)
    .bind(&detail)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Err(TransitionError::NotFound(id)),
        Some((from, false)) => Err(TransitionError::NotAllowed { id, from, to }),
        Some((from, true)) => Ok(from),
    }
}

/// Appends an event to the request's timeline, inside the caller's transaction.
pub async fn event(
    conn: &mut PgConnection,
    request_id: i64,
    event: &str,
    detail: Value,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
        .bind(request_id)
        .bind(event)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}
