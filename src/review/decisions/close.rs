//! Close: end the request without action and without writing to the subject; the note is for
//! the record.

use serde_json::json;

use super::end::end;
use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;

pub(super) async fn apply(step: &mut Step<'_>, note: &str) -> Result<Recorded, DecisionError> {
    let ended = end(
        &mut step.tx,
        step.request_id,
        RequestStatus::Closed,
        &step.by,
    )
    .await?;
    step.record(Change {
        status: RequestStatus::Closed,
        after: json!({ "status": "closed", "note": note.trim(), "ended": ended }),
        event: "closed",
        outcome: "closed",
    })
    .await
}
