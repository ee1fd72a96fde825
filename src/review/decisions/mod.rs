//! Staff decisions on a request: one transaction each, with its request event, its audit entry,
//! and whatever must leave the database (a publish, an e-mail) in the outbox.
//!
//! The web console and the CLI both call [`Decider::decide`], so they cannot drift apart. Every
//! status change goes through
//! [`transition`](crate::request::lifecycle::transition); [`Decision::allowed_in`] says which decision is
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
//!
//! Each decision is one file that checks and applies it (`approve.rs`, `reject.rs`, `close.rs`,
//! `ask.rs`, `link.rs`, `retry.rs`, `task_retry.rs`, `task_done.rs`; `end.rs` is what reject and
//! close share). What they all do is here, once: lock the request, write the audit entry and
//! the request event, publish the request or put a staff e-mail in the outbox.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};

use super::audit::{self, AuditAction, AuditEntry};
use super::auth::Staff;
use super::mask;
use crate::config::CompanySettings;
use crate::domain::{RequestKind, RequestStatus};
use crate::outbound::dedupe::{Again, DedupeKey};
use crate::outbound::outbox;
use crate::outbound::reply::Replier;
use crate::outbound::templates::Templates;
use crate::queue::messages::publish_request;
use crate::queue::topology::WorkQueue;
use crate::request::deadline::{Calendar, DeadlineSettings};
use crate::request::lifecycle::TransitionError;
use crate::request::RequestRow;

mod approve;
mod ask;
mod close;
mod end;
mod link;
mod reject;
mod retry;
mod task_done;
mod task_retry;

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

/// A decision's change with the audit entry that records it.
struct Recorded {
    change: Change,
    entry: AuditEntry,
}

/// A decision under way: the request locked in its transaction, and the parts every decision
/// shares (its audit entry and request event, a publish, a staff e-mail in the outbox).
struct Step<'a> {
    decider: &'a Decider,
    actor: &'a Staff,
    action: AuditAction,
    request_id: i64,
    /// The request's row, locked `FOR UPDATE`.
    row: PgRow,
    status: RequestStatus,
    review: bool,
    /// The request as it was, for the audit entry.
    before: Value,
    /// The detail of the status changes the decision makes.
    by: Value,
    tx: Transaction<'static, Postgres>,
}

impl Decider {
    /// The decider the console and the CLI use: the company, the requests queue, the calendar
    /// and the deadlines as configured.
    pub fn from_settings(
        settings: &crate::config::Settings,
        pool: PgPool,
        templates: Arc<Templates>,
    ) -> Self {
        Self::new(
            pool,
            templates,
            settings.company.clone(),
            WorkQueue::requests(
                &settings.rabbitmq.prefix,
                &settings.rabbitmq.retry_delays_ms,
            ),
            Calendar::new(&settings.calendar),
            settings.deadlines.clone(),
        )
    }

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
    /// Applies `decision` by `actor` to request `request_id`, all or nothing.
    pub async fn decide(
        &self,
        actor: &Staff,
        request_id: i64,
        decision: Decision,
    ) -> Result<Decided, DecisionError> {
        if let Decision::LinkSubject { subject } = &decision {
            link::check(subject)?;
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
        let mut step = Step::lock(self, actor, request_id, &decision).await?;
        let Recorded { change, entry } = match &decision {
            Decision::Approve {
                kind,
                fingerprint,
                override_conflicts,
                override_obligations,
            } => {
                approve::apply(
                    &mut step,
                    *kind,
                    fingerprint,
                    *override_conflicts,
                    *override_obligations,
                )
                .await?
            }
            Decision::Reject { reason } => reject::apply(&mut step, reason).await?,
            Decision::Close { note } => close::apply(&mut step, note).await?,
            Decision::AskInformation { question } => ask::apply(&mut step, question).await?,
            Decision::RetryRequest => retry::apply(&mut step).await?,
            Decision::RetryStoreTask { task_id } => task_retry::apply(&mut step, *task_id).await?,
            Decision::MarkStoreTaskDone { task_id, note } => {
                task_done::apply(&mut step, *task_id, note).await?
            }
            Decision::LinkSubject { subject } => link::apply(&mut step, subject).await?,
        };
        step.tx.commit().await?;
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
}

impl<'a> Step<'a> {
    /// Locks request `request_id` in a new transaction, if `decision` is possible in its status.
    async fn lock(
        decider: &'a Decider,
        actor: &'a Staff,
        request_id: i64,
        decision: &Decision,
    ) -> Result<Self, DecisionError> {
        let mut tx = decider.pool.begin().await?;
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
                decision, status,
            )));
        }
        let before = json!({
            "kind": kind, "status": status, "review": review, "due_at": due_at.to_rfc3339(),
        });
        let by = json!({ "by_staff_id": actor.id });
        Ok(Step {
            decider,
            actor,
            action: decision.action(),
            request_id,
            row,
            status,
            review,
            before,
            by,
            tx,
        })
    }

    /// The store (name, status) of task `task_id`, which must belong to this request.
    async fn task(&mut self, task_id: i64) -> Result<(String, String), DecisionError> {
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT store, status FROM store_tasks WHERE id = $1 AND request_id = $2",
        )
        .bind(task_id)
        .bind(self.request_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        found.ok_or(DecisionError::NotFound)
    }

    /// Writes the audit entry and the request event of `change`.
    async fn record(&mut self, change: Change) -> Result<Recorded, DecisionError> {
        let entry = audit::append(
            &mut self.tx,
            &self.actor.email,
            self.action,
            Some(self.request_id),
            std::mem::take(&mut self.before),
            change.after.clone(),
        )
        .await?;
        crate::request::lifecycle::event(
            &mut self.tx,
            self.request_id,
            change.event,
            json!({
                "by_staff_id": self.actor.id, "audit_id": entry.id, "after": change.after,
            }),
        )
        .await?;
        Ok(Recorded { change, entry })
    }

    /// Publishes the request to the requests queue (through the outbox) once committed.
    async fn publish(&mut self, again: Again) -> Result<(), DecisionError> {
        publish_request(
            &mut self.tx,
            &self.decider.requests,
            self.request_id,
            Some(again),
        )
        .await?;
        Ok(())
    }

    /// A templated reply from staff, threaded to the subject's message, composed like every
    /// other reply ([`Replier::compose`]) but not marked automatic: a person wrote it. It goes
    /// into the outbox.
    async fn email(
        &mut self,
        template: &str,
        dedupe: &DedupeKey,
        text_name: &str,
        text: &str,
    ) -> Result<(), DecisionError> {
        let request = RequestRow::lock(&mut self.tx, self.request_id)
            .await?
            .ok_or(DecisionError::NotFound)?;
        let subject: String = self.row.try_get("subject")?;
        let mut extra = json!({ "original_subject": subject });
        extra[text_name] = Value::String(text.trim().to_owned());
        let replier = Replier::new(self.decider.templates.clone(), self.decider.company.clone());
        let mut email = replier.compose(&request, template, dedupe, extra, vec![])?;
        email.auto_replied = false;
        outbox::enqueue_email(
            &mut self.tx,
            dedupe.as_str(),
            Some(self.request_id),
            &email,
            None,
        )
        .await?;
        Ok(())
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
