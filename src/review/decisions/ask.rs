//! Ask: ask the sender for more information (the staff member's question, templated).

use serde_json::json;

use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;
use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::request::lifecycle::transition;

pub(super) async fn apply(step: &mut Step<'_>, question: &str) -> Result<Recorded, DecisionError> {
    let request_id = step.request_id;
    if step.status != RequestStatus::AwaitingInformation {
        transition(
            &mut step.tx,
            request_id,
            RequestStatus::AwaitingInformation,
            "status_changed",
            step.by.clone(),
        )
        .await?;
    }
    let recorded = step
        .record(Change {
            status: RequestStatus::AwaitingInformation,
            after: json!({ "status": "awaiting_information", "question": question.trim() }),
            event: "information_requested",
            outcome: "awaiting_information",
        })
        .await?;
    let dedupe = DedupeKey::reply(
        request_id,
        Reply::Info {
            entry: recorded.entry.id,
        },
    );
    step.email("more_information", &dedupe, "question", question)
        .await?;
    Ok(recorded)
}
