//! Approve: run a flagged request as a kind, through the same queue as automatic ones, on the
//! store match whose fingerprint the staff member saw (overrides only when they say so).

use serde_json::{json, Value};
use sqlx::Row;

use super::{Change, DecisionError, Recorded, Step};
use crate::domain::{RequestKind, RequestStatus};
use crate::outbound::dedupe::Again;
use crate::request::approval;
use crate::request::lifecycle::transition;

pub(super) async fn apply(
    step: &mut Step<'_>,
    new_kind: RequestKind,
    fingerprint: &str,
    override_conflicts: bool,
    override_obligations: bool,
) -> Result<Recorded, DecisionError> {
    let request_id = step.request_id;
    let subject_match: Option<Value> = step.row.try_get("subject_match")?;
    let subject_match = subject_match.unwrap_or(Value::Null);
    let Some(current) = approval::fingerprint_of(&subject_match) else {
        return Err(DecisionError::NotAllowed(
            "the stores have not been searched yet: approve once the store match is shown".into(),
        ));
    };
    if fingerprint.trim() != current {
        return Err(DecisionError::NotAllowed(
            "the store match changed; look again".into(),
        ));
    }
    let approved = json!({
        "kind": new_kind.as_str(),
        "fingerprint": current,
        "override_conflicts": override_conflicts,
        "override_obligations": override_obligations,
    });
    approval::approval_covers(&approved, &subject_match).map_err(|why| {
        DecisionError::NotAllowed(format!(
            "{why}: tick the override only if you have checked it, or link the request to the right subject"
        ))
    })?;
    let created_at: chrono::DateTime<chrono::Utc> = step.row.try_get("created_at")?;
    let due = step
        .decider
        .calendar
        .due(created_at, step.decider.deadlines.working_days(new_kind));
    sqlx::query(
        "UPDATE requests SET kind = $2, review = false, due_at = $3, approved_by = $4
         WHERE id = $1",
    )
    .bind(request_id)
    .bind(new_kind.as_str())
    .bind(due)
    .bind(&step.actor.email)
    .execute(&mut *step.tx)
    .await?;
    transition(
        &mut step.tx,
        request_id,
        RequestStatus::Approved,
        "status_changed",
        step.by.clone(),
    )
    .await?;
    let mut after = approved;
    after["status"] = json!("approved");
    after["review"] = json!(false);
    after["due_at"] = json!(due.to_rfc3339());
    let recorded = step
        .record(Change {
            status: RequestStatus::Approved,
            after,
            event: "approved",
            outcome: "approved",
        })
        .await?;
    // What was approved, on which facts, by whom: the processor re-checks it
    // (approval::approval_covers) before it executes.
    sqlx::query("UPDATE requests SET approval = $2 WHERE id = $1")
        .bind(request_id)
        .bind(json!({
            "by": step.actor.email,
            "staff_id": step.actor.id,
            "kind": new_kind.as_str(),
            "fingerprint": recorded.change.after["fingerprint"],
            "override_conflicts": override_conflicts,
            "override_obligations": override_obligations,
            "audit_id": recorded.entry.id,
            "at": recorded.entry.at.to_rfc3339(),
        }))
        .execute(&mut *step.tx)
        .await?;
    step.publish(Again::Approved {
        entry: recorded.entry.id,
    })
    .await?;
    Ok(recorded)
}
