//! Reject: end the request with a reason the subject receives in the request's language.

use serde_json::json;

use super::end::end;
use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;
use crate::outbound::dedupe::{DedupeKey, Reply};

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
    let dedupe = DedupeKey::reply(request_id, Reply::Reject);
    step.email("rejection", &dedupe, "reason", reason).await?;
    Ok(recorded)
}
