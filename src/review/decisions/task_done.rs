//! Task done: record a manual store task done by staff, or a processor's confirmation, with a
//! note.

use serde_json::json;

use super::{Change, DecisionError, Recorded, Step};
use crate::domain::RequestStatus;
use crate::outbound::reply::Replier;

pub(super) async fn apply(
    step: &mut Step<'_>,
    task_id: i64,
    note: &str,
) -> Result<Recorded, DecisionError> {
    let (store, task_status) = step.task(task_id).await?;
    if !matches!(
        task_status.as_str(),
        "waiting_manual" | "waiting_confirmation"
    ) {
        return Err(DecisionError::NotAllowed(format!(
            "task {task_id} is `{task_status}`; only a task waiting for staff or a processor is marked done"
        )));
    }
    let replier = Replier::new(step.decider.templates.clone(), step.decider.company.clone());
    let (_, completed) = crate::pipeline::store_actions::resolve_in(
        &mut step.tx,
        &replier,
        task_id,
        &step.actor.email,
        note.trim(),
    )
    .await?;
    let new_status = if completed {
        RequestStatus::Completed
    } else {
        RequestStatus::Executing
    };
    step.record(Change {
        status: new_status,
        after: json!({
            "task_id": task_id, "store": store, "task_status": "done",
            "note": note.trim(), "status": new_status,
        }),
        event: "store_task_resolved",
        outcome: "task_resolved",
    })
    .await
}
