//! Staff decisions on a request: one transaction each, with its request event, its audit entry,
//! and whatever must leave the database (a publish, an e-mail) in the outbox.
//!
//! The web console and the CLI both call [`Decider::decide`], so they cannot drift apart.
//!
//! Decisions on the data stores' work go through the same path: replay a failed store task,
//! mark a manual (or processor's) store task done, link the request to a subject.

use std::sync::Arc;

use serde::Serialize;
use sqlx::{PgPool, Row};

use super::audit::{self, AuditAction};
use super::auth::Staff;
use crate::config::CompanySettings;
use crate::domain::RequestKind;
use crate::outbound::outbox::{self, OutgoingEmail, OutgoingPublish};
use crate::outbound::templates::Templates;
use crate::queue::topology::WorkQueue;
use crate::workflow::deadline::{Calendar, DeadlineSettings};
use crate::workflow::reply::{Replier, RequestRow};
use crate::workflow::status::{transition, RequestStatus, TransitionError};
use serde_json::json;

/// Statuses in which a request waits for a staff decision.
pub const AWAITING_STAFF: &[&str] = &["needs_review", "awaiting_information"];

/// Longest reason or question staff may write (it goes into an e-mail).
pub const MAX_TEXT_CHARS: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run the request as `kind` through the same queue as automatic ones.
    Approve { kind: RequestKind },
    /// Refuse, with a reason the subject receives in the request's language.
    Reject { reason: String },
    /// Ask the sender for more information (the staff member's question, templated).
    AskInformation { question: String },
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
            Decision::AskInformation { .. } => AuditAction::AskInformation,
            Decision::RetryStoreTask { .. } => AuditAction::RetryStoreTask,
            Decision::MarkStoreTaskDone { .. } => AuditAction::MarkStoreTaskDone,
            Decision::LinkSubject { .. } => AuditAction::LinkSubject,
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
    pub status: String,
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
        let text = match &decision {
            Decision::Approve { .. } | Decision::RetryStoreTask { .. } => None,
            Decision::LinkSubject { subject } => {
                if subject.emails.is_empty() && subject.iins.is_empty() && subject.phones.is_empty()
                {
                    return Err(DecisionError::Invalid(
                        "give an e-mail address, a valid IIN or a phone number".into(),
                    ));
                }
                None
            }
            Decision::Reject { reason } => Some(reason),
            Decision::AskInformation { question } => Some(question),
            Decision::MarkStoreTaskDone { note, .. } => Some(note),
        };
        if let Some(text) = text {
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
            "SELECT kind, review, status, subject, created_at, due_at
             FROM requests WHERE id = $1 FOR UPDATE",
        )
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(DecisionError::NotFound);
        };
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        let review: bool = row.try_get("review")?;
        let due_at: chrono::DateTime<chrono::Utc> = row.try_get("due_at")?;
        let allowed = match decision {
            Decision::Approve { .. } | Decision::LinkSubject { .. } => {
                AWAITING_STAFF.contains(&status.as_str())
            }
            Decision::RetryStoreTask { .. } | Decision::MarkStoreTaskDone { .. } => {
                status == "executing"
            }
            _ => AWAITING_STAFF.contains(&status.as_str()) || status == "accepted",
        };
        let task = match &decision {
            Decision::RetryStoreTask { task_id } | Decision::MarkStoreTaskDone { task_id, .. } => {
                let found: Option<(String, String)> = sqlx::query_as(
                    "SELECT store, status FROM store_tasks WHERE id = $1 AND request_id = $2",
                )
                .bind(task_id)
                .bind(request_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(found) = found else {
                    return Err(DecisionError::NotFound);
                };
                Some(found)
            }
            _ => None,
        };
        if !allowed {
            return Err(DecisionError::NotAllowed(format!(
                "a request in status `{status}` cannot be decided this way{}",
                if status == "received" {
                    " yet (it has not been acknowledged)"
                } else {
                    ""
                }
            )));
        }
        let before = serde_json::json!({
            "kind": kind, "status": status, "review": review, "due_at": due_at.to_rfc3339(),
        });

        let (new_status, after, event) = match &decision {
            Decision::Approve { kind: new_kind } => {
                let created_at: chrono::DateTime<chrono::Utc> = row.try_get("created_at")?;
                let due = self
                    .calendar
                    .due(created_at, self.deadlines.working_days(*new_kind));
                sqlx::query(
                    "UPDATE requests SET kind = $2, review = false, due_at = $3, approved_by = $4,
                            approval = jsonb_build_object('by', $4::text, 'kind', $2::text,
                                'fingerprint', subject_match ->> 'fingerprint')
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
                    json!({ "by_staff_id": actor.id }),
                )
                .await?;
                (
                    "approved",
                    serde_json::json!({
                        "kind": new_kind.as_str(), "status": "approved", "review": false,
                        "due_at": due.to_rfc3339(),
                    }),
                    "approved",
                )
            }
            Decision::Reject { reason } => {
                transition(
                    &mut tx,
                    request_id,
                    RequestStatus::Rejected,
                    "status_changed",
                    json!({ "by_staff_id": actor.id }),
                )
                .await?;
                (
                    "rejected",
                    serde_json::json!({ "status": "rejected", "reason": reason.trim() }),
                    "rejected",
                )
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
                (
                    "executing",
                    serde_json::json!({ "task_id": task_id, "store": store, "task_status": "pending" }),
                    "store_task_replayed",
                )
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
                let replier = crate::workflow::reply::Replier::new(
                    self.templates.clone(),
                    self.company.clone(),
                );
                let (_, completed) = crate::workflow::tasks::resolve_in(
                    &mut tx,
                    &replier,
                    *task_id,
                    &actor.email,
                    note.trim(),
                )
                .await?;
                let new_status = if completed { "completed" } else { "executing" };
                (
                    new_status,
                    serde_json::json!({ "task_id": task_id, "store": store, "task_status": "done", "note": note.trim(), "status": new_status }),
                    "store_task_resolved",
                )
            }
            Decision::LinkSubject { subject } => {
                sqlx::query("UPDATE requests SET linked_subject = $2 WHERE id = $1")
                    .bind(request_id)
                    .bind(serde_json::json!(subject))
                    .execute(&mut *tx)
                    .await?;
                (
                    status.as_str(),
                    serde_json::json!({ "linked_subject": subject }),
                    "subject_linked",
                )
            }
            Decision::AskInformation { question } => {
                transition(
                    &mut tx,
                    request_id,
                    RequestStatus::AwaitingInformation,
                    "status_changed",
                    json!({ "by_staff_id": actor.id }),
                )
                .await?;
                (
                    "awaiting_information",
                    serde_json::json!({ "status": "awaiting_information", "question": question.trim() }),
                    "information_requested",
                )
            }
        };
        let entry = audit::append(
            &mut tx,
            &actor.email,
            decision.action(),
            Some(request_id),
            before,
            after.clone(),
        )
        .await?;
        sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
            .bind(request_id)
            .bind(event)
            .bind(serde_json::json!({
                "by_staff_id": actor.id, "audit_id": entry.id, "after": after,
            }))
            .execute(&mut *tx)
            .await?;

        match &decision {
            Decision::Approve { .. } => {
                outbox::enqueue_publish(
                    &mut tx,
                    &format!("publish:approve:{request_id}:{}", entry.id),
                    Some(request_id),
                    &OutgoingPublish {
                        exchange: self.requests.exchange(),
                        routing_key: self.requests.routing_key().to_owned(),
                        body: serde_json::json!({ "request_id": request_id }),
                    },
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
            Decision::LinkSubject { .. } => {
                // Search the stores again for the linked identifiers, so staff see the facts.
                outbox::enqueue_publish(
                    &mut tx,
                    &format!("publish:link:{request_id}:{}", entry.id),
                    Some(request_id),
                    &OutgoingPublish {
                        exchange: self.requests.exchange(),
                        routing_key: self.requests.routing_key().to_owned(),
                        body: serde_json::json!({ "request_id": request_id }),
                    },
                )
                .await?;
            }
            Decision::RetryStoreTask { .. } | Decision::MarkStoreTaskDone { .. } => {}
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
            status: new_status.to_owned(),
        })
    }

    /// A templated reply from staff, threaded to the subject's message, composed like every
    /// other reply ([`Replier::compose`]) but not marked automatic: a person wrote it.
    #[allow(clippy::too_many_arguments)]
    async fn staff_email(
        &self,
        conn: &mut sqlx::PgConnection,
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
        let mut extra = serde_json::json!({ "original_subject": subject });
        extra[text_name] = serde_json::Value::String(text.trim().to_owned());
        let replier = Replier::new(self.templates.clone(), self.company.clone());
        let mut email = replier.compose(&request, template, dedupe, extra, vec![])?;
        email.auto_replied = false;
        Ok(email)
    }
}
