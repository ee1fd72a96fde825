//! Retry a request: send a failed request back through processing from where it can start
//! again.

use serde_json::json;
use sqlx::Row;

use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;
use crate::outbound::dedupe::Again;
use crate::request::lifecycle::transition;

pub(super) async fn apply(step: &mut Step<'_>) -> Result<Recorded, DecisionError> {
    let request_id = step.request_id;
    let acknowledged: bool = step.row.try_get("acknowledged")?;
    let approved: bool = step.row.try_get("approved")?;
    let failure: Option<String> = step.row.try_get("failure")?;
    // Back to where the worker can take it up again, never past staff: a flagged
    // request that was not approved goes back to review.
    let to = if !acknowledged {
        RequestStatus::Received
    } else if approved {
        RequestStatus::Approved
    } else if step.review {
        RequestStatus::NeedsReview
    } else {
        RequestStatus::Accepted
    };
    sqlx::query("UPDATE requests SET failure = NULL WHERE id = $1")
        .bind(request_id)
        .execute(&mut *step.tx)
        .await?;
    let mut detail = step.by.clone();
    detail["failure"] = json!(failure);
    transition(&mut step.tx, request_id, to, "status_changed", detail).await?;
    let recorded = step
        .record(Change {
            status: to,
            after: json!({ "status": to, "previous_failure": failure }),
            event: "retried",
            outcome: "retried",
        })
        .await?;
    step.publish(Again::Retry {
        entry: recorded.entry.id,
    })
    .await?;
    Ok(recorded)
}
