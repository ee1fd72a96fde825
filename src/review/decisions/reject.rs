//! Reject: end the request with a reason the subject receives in the request's language.

use serde_json::json;

use super::end::end;
use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;

pub(super) async fn apply(step: &mut Step<'_>, reason: &str) -> Result<Recorded, DecisionError> {
    let request_id = step.request_id;
    let ended = end(&mut step.tx, request_id, RequestStatus::Rejected, &step.by).await?;
    let recorded = step
        .record(Change {
            status: RequestStatus::Rejected,
            after: json!({ "status": "rejected", "reason": reason.trim(), "ended": ended }),
            event: "rejected",
            outcome: "rejected",
        })
        .await?;
    let dedupe = format!("reject:{request_id}");
    step.email("rejection", &dedupe, "reason", reason).await?;
    Ok(recorded)
}
