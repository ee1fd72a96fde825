//! Staff decisions on a request: one transaction each, with its request event, its audit entry,
//! and whatever must leave the database (a publish, an e-mail) in the outbox.
//!
//! The web console and the CLI both call [`Decider::decide`], so they cannot drift apart. Every
//! status change goes through [`transition`]; [`Decision::allowed_in`] says which decision is
//! possible in which status:
//!
//! | decision | request status | becomes |
//! | --- | --- | --- |
//! | approve (kind, fingerprint seen, overrides) | `needs_review`, stores searched | `approved` |
//! | link to a subject | `needs_review`, `awaiting_information` | (same) |
//! | ask for information | `needs_review`, `awaiting_information`, `accepted` | `awaiting_information` |
//! | reject with a reason (e-mailed) | any but final | `rejected` |
//! | close with a note (no e-mail) | any but final | `closed` |
//! | retry a failed request | `failed` | `received` / `approved` / `needs_review` / `accepted` |
//! | retry a store task, mark one done | `executing` | (same, or `completed`) |
//!
//! Ending a request (reject, close) cancels its open store tasks, closes its open verification
//! and holds back a one-time code not yet sent, in the same transaction.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};

use super::audit::{self, AuditAction};
use super::auth::Staff;
use super::mask;
use crate::config::CompanySettings;
use crate::domain::RequestKind;
use crate::outbound::outbox::{self, OutgoingEmail};
use crate::outbound::templates::Templates;
use crate::queue::topology::WorkQueue;
use crate::workflow::approval;
use crate::workflow::deadline::{Calendar, DeadlineSettings};
use crate::workflow::process::publish_request;
use crate::workflow::reply::{Replier, RequestRow};
use crate::workflow::status::{transition, RequestStatus, TransitionError};

/// Longest reason, question or note staff may write (it may go into an e-mail).
pub const MAX_TEXT_CHARS: usize = 4000;

/// Store task statuses that ending a request cancels (a running task finishes on its own and
/// never completes the ended request).
pub const CANCELLABLE_TASKS: &[&str] = &[
    "pending",
    "failed",
    "waiting_manual",
    "waiting_confirmation",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the request as `kind` through the same queue as automatic ones, on the store match
    /// whose fingerprint the staff member saw, overriding conflicts and art. 8(2) obligations
    /// only when they say so.
    Approve {
        kind: RequestKind,
        fingerprint: String,
        override_conflicts: bool,
        override_obligations: bool,
    },
    /// Refuse, with a reason the subject receives in the request's language.
    Reject { reason: String },
    /// End without action and without writing to the subject; the note is for the record.
    Close { note: String },
    /// Ask the sender for more information (the staff member's question, templated).
    AskInformation { question: String },
    /// Send a failed request back through processing from where it can start again.
    RetryRequest,
    /// Replay one failed store task of this request.
    RetryStoreTask { task_id: i64 },
    /// Record a manual task done by staff, or a processor's confirmation, with a note.
    MarkStoreTaskDone { task_id: i64, note: String },
    /// Say who the request is about: these identifiers replace the sender's in the stores.
    LinkSubject { subject: crate::stores::SubjectIds },
}

impl Decision {
    pub fn action(&self) -> AuditAction {
        match self {
            Decision::Approve { .. } => AuditAction::Approve,
            Decision::Reject { .. } => AuditAction::Reject,
            Decision::Close { .. } => AuditAction::Close,
            Decision::AskInformation { .. } => AuditAction::AskInformation,
            Decision::RetryRequest => AuditAction::RetryRequest,
            Decision::RetryStoreTask { .. } => AuditAction::RetryStoreTask,
            Decision::MarkStoreTaskDone { .. } => AuditAction::MarkStoreTaskDone,
            Decision::LinkSubject { .. } => AuditAction::LinkSubject,
        }
    }

    /// Whether this decision can be taken on a request in `status`.
    pub fn allowed_in(&self, status: RequestStatus) -> bool {
        use RequestStatus::*;
        match self {
            Decision::Approve { .. } => status == NeedsReview,
            Decision::LinkSubject { .. } => matches!(status, NeedsReview | AwaitingInformation),
            Decision::AskInformation { .. } => {
                matches!(status, NeedsReview | AwaitingInformation | Accepted)
            }
            Decision::Reject { .. } | Decision::Close { .. } => !status.is_final(),
            Decision::RetryRequest => status == Failed,
            Decision::RetryStoreTask { .. } | Decision::MarkStoreTaskDone { .. } => {
                status == Executing
            }
        }
    }

    /// The staff member's own text, checked for length.
    fn text(&self) -> Option<&str> {
        match self {
            Decision::Reject { reason } => Some(reason),
            Decision::Close { note } | Decision::MarkStoreTaskDone { note, .. } => Some(note),
            Decision::AskInformation { question } => Some(question),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("request not found")]
    NotFound,
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<TransitionError> for DecisionError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotFound(_) => DecisionError::NotFound,
            TransitionError::NotAllowed { .. } => DecisionError::NotAllowed(e.to_string()),
            TransitionError::Database(e) => DecisionError::Failed(e.into()),
        }
    }
}

impl From<sqlx::Error> for DecisionError {
    fn from(e: sqlx::Error) -> Self {
        DecisionError::Failed(e.into())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Decided {
    pub request_id: i64,
    pub audit_id: i64,
    /// The request's status after the decision.
    pub status: String,
    /// What happened, for the console's notice (`approved`, `closed`, `retried`, ...).
    pub outcome: &'static str,
}

#[derive(Clone)]
pub struct Decider {
    pool: PgPool,
    templates: Arc<Templates>,
    company: CompanySettings,
    requests: WorkQueue,
    calendar: Calendar,
    deadlines: DeadlineSettings,
}

/// What a decision changed, before it is audited.
struct Change {
    status: RequestStatus,
    after: Value,
    event: &'static str,
    outcome: &'static str,
}

impl Decider {
    pub fn new(
        pool: PgPool,
        templates: Arc<Templates>,
        company: CompanySettings,
        requests: WorkQueue,
        calendar: Calendar,
        deadlines: DeadlineSettings,
    ) -> Self {
        Self {
            pool,
            templates,
            company,
            requests,
            calendar,
            deadlines,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Applies `decision` by `actor` to request `request_id`, all or nothing.
    pub async fn decide(
        &self,
        actor: &Staff,
        request_id: i64,
        decision: Decision,
    ) -> Result<Decided, DecisionError> {
        if let Decision::LinkSubject { subject } = &decision {
            if subject.emails.is_empty() && subject.iins.is_empty() && subject.phones.is_empty() {
                return Err(DecisionError::Invalid(
                    "give an e-mail address, a valid IIN or a phone number".into(),
                ));
            }
        }
        if let Some(text) = decision.text() {
            let chars = text.trim().chars().count();
            if chars == 0 {
                return Err(DecisionError::Invalid("the text must not be empty".into()));
            }
            if chars > MAX_TEXT_CHARS {
                return Err(DecisionError::Invalid(format!(
                    "the text is longer than {MAX_TEXT_CHARS} characters"
                )));
            }
        }
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT kind, review, status, subject, created_at, due_at, subject_match,
                    acknowledged_at IS NOT NULL AS acknowledged,
                    approval IS NOT NULL OR approved_by IS NOT NULL AS approved, failure
             FROM requests WHERE id = $1 FOR UPDATE",
        )
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(DecisionError::NotFound);
        };
        let kind: String = row.try_get("kind")?;
        let status_text: String = row.try_get("status")?;
        let status: RequestStatus = status_text
            .parse()
            .map_err(|e| DecisionError::Failed(anyhow::anyhow!("request {request_id}: {e}")))?;
        let review: bool = row.try_get("review")?;
        let due_at: chrono::DateTime<chrono::Utc> = row.try_get("due_at")?;
        if !decision.allowed_in(status) {
            return Err(DecisionError::NotAllowed(not_allowed_message(
                &decision, status,
            )));
        }
        let task = match &decision {
            Decision::RetryStoreTask { task_id } | Decision::MarkStoreTaskDone { task_id, .. } => {
                let found: Option<(String, String)> = sqlx::query_as(
                    "SELECT store, status FROM store_tasks WHERE id = $1 AND request_id = $2",
                )
                .bind(task_id)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                Some(found.ok_or(DecisionError::NotFound)?)
            }
            _ => None,
        };
        let before = json!({
            "kind": kind, "status": status, "review": review, "due_at": due_at.to_rfc3339(),
        });
        let by = json!({ "by_staff_id": actor.id });

        let change = match &decision {
            Decision::Approve {
                kind: new_kind,
                fingerprint,
                override_conflicts,
                override_obligations,
            } => {
                let subject_match: Option<Value> = row.try_get("subject_match")?;
                let subject_match = subject_match.unwrap_or(Value::Null);
                let Some(current) = approval::fingerprint_of(&subject_match) else {
                    return Err(DecisionError::NotAllowed(
                        "the stores have not been searched yet: approve once the store match is shown"
                            .into(),
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
                let created_at: chrono::DateTime<chrono::Utc> = row.try_get("created_at")?;
                let due = self
                    .calendar
                    .due(created_at, self.deadlines.working_days(*new_kind));
                sqlx::query(
                    "UPDATE requests SET kind = $2, review = false, due_at = $3, approved_by = $4
                     WHERE id = $1",
                )
                .bind(request_id)
                .bind(new_kind.as_str())
                .bind(due)
                .bind(&actor.email)
                .execute(&mut *tx)
                .await?;
                transition(
                    &mut tx,
                    request_id,
                    RequestStatus::Approved,
                    "status_changed",
                    by.clone(),
                )
                .await?;
                let mut after = approved;
                after["status"] = json!("approved");
                after["review"] = json!(false);
                after["due_at"] = json!(due.to_rfc3339());
                Change {
                    status: RequestStatus::Approved,
                    after,
                    event: "approved",
                    outcome: "approved",
                }
            }
            Decision::Reject { reason } => {
                let ended = end(&mut tx, request_id, RequestStatus::Rejected, &by).await?;
                Change {
                    status: RequestStatus::Rejected,
                    after: json!({ "status": "rejected", "reason": reason.trim(), "ended": ended }),
                    event: "rejected",
                    outcome: "rejected",
                }
            }
            Decision::Close { note } => {
                let ended = end(&mut tx, request_id, RequestStatus::Closed, &by).await?;
                Change {
                    status: RequestStatus::Closed,
                    after: json!({ "status": "closed", "note": note.trim(), "ended": ended }),
                    event: "closed",
                    outcome: "closed",
                }
            }
            Decision::RetryRequest => {
                let acknowledged: bool = row.try_get("acknowledged")?;
                let approved: bool = row.try_get("approved")?;
                let failure: Option<String> = row.try_get("failure")?;
                // Back to where the worker can take it up again, never past staff: a flagged
                // request that was not approved goes back to review.
                let to = if !acknowledged {
                    RequestStatus::Received
                } else if approved {
                    RequestStatus::Approved
                } else if review {
                    RequestStatus::NeedsReview
                } else {
                    RequestStatus::Accepted
                };
                sqlx::query("UPDATE requests SET failure = NULL WHERE id = $1")
                    .bind(request_id)
                    .execute(&mut *tx)
                    .await?;
                let mut detail = by.clone();
                detail["failure"] = json!(failure);
                transition(&mut tx, request_id, to, "status_changed", detail).await?;
                Change {
                    status: to,
                    after: json!({ "status": to, "previous_failure": failure }),
                    event: "retried",
                    outcome: "retried",
                }
            }
            Decision::RetryStoreTask { task_id } => {
                let (store, task_status) = task.clone().expect("loaded above");
                if task_status != "failed" {
                    return Err(DecisionError::NotAllowed(format!(
                        "task {task_id} is `{task_status}`; only a failed task is replayed"
                    )));
                }
                crate::workflow::tasks::retry_in(
                    &mut tx,
                    &self.requests.sibling("store-actions"),
                    *task_id,
                )
                .await?;
                Change {
                    status,
                    after: json!({ "task_id": task_id, "store": store, "task_status": "pending" }),
                    event: "store_task_replayed",
                    outcome: "task_replayed",
                }
            }
            Decision::MarkStoreTaskDone { task_id, note } => {
                let (store, task_status) = task.clone().expect("loaded above");
                if !matches!(
                    task_status.as_str(),
                    "waiting_manual" | "waiting_confirmation"
                ) {
                    return Err(DecisionError::NotAllowed(format!(
                        "task {task_id} is `{task_status}`; only a task waiting for staff or a processor is marked done"
                    )));
                }
                let replier = Replier::new(self.templates.clone(), self.company.clone());
                let (_, completed) = crate::workflow::tasks::resolve_in(
                    &mut tx,
                    &replier,
                    *task_id,
                    &actor.email,
                    note.trim(),
                )
                .await?;
                let new_status = if completed {
                    RequestStatus::Completed
                } else {
                    RequestStatus::Executing
                };
                Change {
                    status: new_status,
                    after: json!({
                        "task_id": task_id, "store": store, "task_status": "done",
                        "note": note.trim(), "status": new_status,
                    }),
                    event: "store_task_resolved",
                    outcome: "task_resolved",
                }
            }
            Decision::LinkSubject { subject } => {
                sqlx::query("UPDATE requests SET linked_subject = $2 WHERE id = $1")
                    .bind(request_id)
                    .bind(json!(subject))
                    .execute(&mut *tx)
                    .await?;
                Change {
                    status,
                    // The identifiers stay in requests.linked_subject (purged with the request's
                    // data); the audit log keeps only their masked forms.
                    after: json!({ "linked_subject": mask::subject_ids(subject) }),
                    event: "subject_linked",
                    outcome: "linked",
                }
            }
            Decision::AskInformation { question } => {
                if status != RequestStatus::AwaitingInformation {
                    transition(
                        &mut tx,
                        request_id,
                        RequestStatus::AwaitingInformation,
                        "status_changed",
                        by.clone(),
                    )
                    .await?;
                }
                Change {
                    status: RequestStatus::AwaitingInformation,
                    after: json!({ "status": "awaiting_information", "question": question.trim() }),
                    event: "information_requested",
                    outcome: "awaiting_information",
                }
            }
        };
        let entry = audit::append(
            &mut tx,
            &actor.email,
            decision.action(),
            Some(request_id),
            before,
            change.after.clone(),
        )
        .await?;
        sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
            .bind(request_id)
            .bind(change.event)
            .bind(json!({
                "by_staff_id": actor.id, "audit_id": entry.id, "after": change.after,
            }))
            .execute(&mut *tx)
            .await?;

        match &decision {
            Decision::Approve {
                kind,
                override_conflicts,
                override_obligations,
                ..
            } => {
                // What was approved, on which facts, by whom: the processor re-checks it
                // (approval::approval_covers) before it executes.
                sqlx::query("UPDATE requests SET approval = $2 WHERE id = $1")
                    .bind(request_id)
                    .bind(json!({
                        "by": actor.email,
                        "staff_id": actor.id,
                        "kind": kind.as_str(),
                        "fingerprint": change.after["fingerprint"],
                        "override_conflicts": override_conflicts,
                        "override_obligations": override_obligations,
                        "audit_id": entry.id,
                        "at": entry.at.to_rfc3339(),
                    }))
                    .execute(&mut *tx)
                    .await?;
                publish_request(
                    &mut tx,
                    &self.requests,
                    request_id,
                    &format!("publish:approve:{request_id}:{}", entry.id),
                )
                .await?;
            }
            Decision::RetryRequest => {
                publish_request(
                    &mut tx,
                    &self.requests,
                    request_id,
                    &format!("publish:retry:{request_id}:{}", entry.id),
                )
                .await?;
            }
            Decision::LinkSubject { .. } => {
                // The match on the page was found for the old identifiers: the processor
                // searches again for the linked subject.
                publish_request(
                    &mut tx,
                    &self.requests,
                    request_id,
                    &format!("publish:link:{request_id}:{}", entry.id),
                )
                .await?;
            }
            Decision::Reject { reason } => {
                let dedupe = format!("reject:{request_id}");
                let email = self
                    .staff_email(
                        &mut tx,
                        &row,
                        request_id,
                        "rejection",
                        &dedupe,
                        "reason",
                        reason,
                    )
                    .await?;
                outbox::enqueue_email(&mut tx, &dedupe, Some(request_id), &email, None).await?;
            }
            Decision::AskInformation { question } => {
                let dedupe = format!("info:{request_id}:{}", entry.id);
                let email = self
                    .staff_email(
                        &mut tx,
                        &row,
                        request_id,
                        "more_information",
                        &dedupe,
                        "question",
                        question,
                    )
                    .await?;
                outbox::enqueue_email(&mut tx, &dedupe, Some(request_id), &email, None).await?;
            }
            Decision::Close { .. }
            | Decision::RetryStoreTask { .. }
            | Decision::MarkStoreTaskDone { .. } => {}
        }
        tx.commit().await?;
        tracing::info!(
            request_id,
            audit_id = entry.id,
            staff_id = actor.id,
            action = decision.action().as_str(),
            "review: decision recorded"
        );
        Ok(Decided {
            request_id,
            audit_id: entry.id,
            status: change.status.as_str().to_owned(),
            outcome: change.outcome,
        })
    }

    /// A templated reply from staff, threaded to the subject's message, composed like every
    /// other reply ([`Replier::compose`]) but not marked automatic: a person wrote it.
    #[allow(clippy::too_many_arguments)]
    async fn staff_email(
        &self,
        conn: &mut PgConnection,
        row: &sqlx::postgres::PgRow,
        request_id: i64,
        template: &str,
        dedupe: &str,
        text_name: &str,
        text: &str,
    ) -> Result<OutgoingEmail, DecisionError> {
        let request = RequestRow::lock(conn, request_id)
            .await?
            .ok_or(DecisionError::NotFound)?;
        let subject: String = row.try_get("subject")?;
        let mut extra = json!({ "original_subject": subject });
        extra[text_name] = Value::String(text.trim().to_owned());
        let replier = Replier::new(self.templates.clone(), self.company.clone());
        let mut email = replier.compose(&request, template, dedupe, extra, vec![])?;
        email.auto_replied = false;
        Ok(email)
    }
}

fn not_allowed_message(decision: &Decision, status: RequestStatus) -> String {
    match (decision, status) {
        (_, s) if s.is_final() => format!("the request is already `{s}`: nothing more is decided"),
        (_, RequestStatus::Disputed) => {
            "the person disputes this request: it can only be closed or rejected".into()
        }
        (Decision::RetryRequest, s) => {
            format!("only a failed request is retried (this one is `{s}`)")
        }
        (Decision::Approve { .. }, RequestStatus::Failed) => {
            "the request failed: retry it first, then decide".into()
        }
        (Decision::Approve { .. }, RequestStatus::Received) => {
            "the request has not been acknowledged yet; decide after the acknowledgement".into()
        }
        (_, s) => format!("a request in status `{s}` cannot be decided this way"),
    }
}

/// Ends request `request_id` as `to` (rejected or closed), inside the caller's transaction:
/// cancels its open store tasks, closes its open verification and holds back the e-mails
/// carrying a one-time code that are not sent yet. A task running right now is skipped (never waited for):
/// it finishes, and the executor never completes an ended request. Returns what was ended.
async fn end(
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
        sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
            .bind(request_id)
            .bind("store_tasks_cancelled")
            .bind(json!({
                "tasks": cancelled.iter().map(|(id, store, was)| json!({
                    "task_id": id, "store": store, "was": was,
                })).collect::<Vec<_>>(),
                "in_flight": in_flight,
            }))
            .execute(&mut *conn)
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

#[cfg(test)]
mod tests {
    use super::*;
    use RequestStatus::*;

    fn all() -> Vec<Decision> {
        vec![
            Decision::Approve {
                kind: RequestKind::Erasure,
                fingerprint: String::new(),
                override_conflicts: false,
                override_obligations: false,
            },
            Decision::Reject { reason: "r".into() },
            Decision::Close { note: "n".into() },
            Decision::AskInformation {
                question: "q".into(),
            },
            Decision::RetryRequest,
            Decision::RetryStoreTask { task_id: 1 },
            Decision::MarkStoreTaskDone {
                task_id: 1,
                note: "n".into(),
            },
            Decision::LinkSubject {
                subject: Default::default(),
            },
        ]
    }

    #[test]
    fn every_open_request_can_be_rejected_or_closed_and_a_final_one_nothing() {
        for status in RequestStatus::ALL {
            for d in all() {
                let ends = matches!(d, Decision::Reject { .. } | Decision::Close { .. });
                if status.is_final() {
                    assert!(!d.allowed_in(status), "{d:?} in {status}");
                } else if ends {
                    assert!(d.allowed_in(status), "{d:?} in {status}");
                }
            }
        }
    }

    #[test]
    fn a_disputed_request_is_only_ended_and_a_failed_one_retried() {
        for d in all() {
            assert_eq!(
                d.allowed_in(Disputed),
                matches!(d, Decision::Reject { .. } | Decision::Close { .. }),
                "{d:?}"
            );
            assert_eq!(
                d.allowed_in(Failed),
                matches!(
                    d,
                    Decision::Reject { .. } | Decision::Close { .. } | Decision::RetryRequest
                ),
                "{d:?}"
            );
        }
    }

    #[test]
    fn the_lifecycle_allows_what_decisions_allow() {
        for status in RequestStatus::ALL {
            for (d, to) in [
                (all()[0].clone(), Approved),
                (all()[1].clone(), Rejected),
                (all()[2].clone(), Closed),
            ] {
                if d.allowed_in(status) {
                    assert!(status.can_become(to), "{d:?}: {status} -> {to}");
                }
            }
            if all()[3].allowed_in(status) && status != AwaitingInformation {
                assert!(status.can_become(AwaitingInformation), "{status}");
            }
        }
        for to in [Received, Approved, NeedsReview, Accepted] {
            assert!(Failed.can_become(to), "failed -> {to}");
        }
        assert!(
            !all()[0].allowed_in(AwaitingConfirmation),
            "no approval before identity"
        );
        assert!(!all()[0].allowed_in(Received));
    }
}
