//! Task retry: replay one failed store task of the request.

use serde_json::json;

use super::{Change, DecisionError, Recorded, Step};

pub(super) async fn apply(step: &mut Step<'_>, task_id: i64) -> Result<Recorded, DecisionError> {
    let (store, task_status) = step.task(task_id).await?;
    if task_status != "failed" {
        return Err(DecisionError::NotAllowed(format!(
            "task {task_id} is `{task_status}`; only a failed task is replayed"
        )));
    }
    crate::pipeline::store_actions::retry_in(
        &mut step.tx,
        &step.decider.requests.sibling("store-actions"),
        task_id,
    )
    .await?;
    let status = step.status;
    step.record(Change {
        status,
        after: json!({ "task_id": task_id, "store": store, "task_status": "pending" }),
        event: "store_task_replayed",
        outcome: "task_replayed",
    })
    .await
}
