//! The first step of every request: one acknowledgement, in the request's language.
//!
//! The acknowledgement is rendered and written to the outbox under the key `ack:<request id>`
//! in the same transaction that marks the request acknowledged, so a redelivered message, a
//! restarted worker or a second worker finds it done and does nothing more.
//!
//! One e-mail per request where the content allows: a request the processor will look up is
//! not acknowledged here but by the processor, after the store lookup and in the same
//! transaction as the next status, so the acknowledgement itself carries the code (when it goes
//! to the sender) or asks for details (when nobody is found) ([`Acknowledged::Deferred`]).
//! Requests for staff first and silent senders are acknowledged here at once.

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::domain::RequestStatus;
use crate::monitoring::metrics::Suppressed;
use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::outbound::outbox::{Queued, Urgency};
use crate::outbound::reply::Replier;
use crate::queue::consumer::Failure;
use crate::redact;
use crate::request::lifecycle::{transition_also, Also};
use crate::request::RequestRow;

#[derive(Clone)]
pub struct Acknowledger {
    pool: PgPool,
    replier: Replier,
}

/// What acknowledging one request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledged {
    Queued,
    /// Too many replies to this sender within the hour (a loop guard); staff can see it.
    RateLimited,
    /// The understanding says not to write to this sender (e.g. a noreply address).
    NotReplied,
    AlreadyDone,
    /// Left to the processor: the acknowledgement may carry a code or ask for details, known
    /// after the lookup.
    Deferred,
}

/// What the lookup found, as the acknowledgement tells the sender (never more than the sender
/// may know: the same words whether typed identifiers matched someone or nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Acknowledged before the lookup: nothing to say yet.
    NotLookedUp,
    /// Nothing under the sender's address and nothing typed: it asks for details.
    NotFound,
    /// Identifiers typed in the text: only the address on file can confirm (asked within
    /// `expires_hours`).
    OnFileAsked { expires_hours: u32 },
}

/// A one-time code the acknowledgement carries (to the sender's own address only).
#[derive(Debug, Clone, Copy)]
pub struct CodeForSender<'a> {
    pub code: &'a str,
    pub expires_hours: u32,
}

impl Acknowledger {
    pub fn new(pool: PgPool, replier: Replier) -> Self {
        Self { pool, replier }
    }

    /// Acknowledges `request_id` now, or leaves it to the processor ([`Acknowledged::Deferred`])
    /// when the acknowledgement may have to carry a code. (The processor itself acknowledges
    /// in its first transaction on the request, without this extra look: `Processor::advance`.)
    #[tracing::instrument(name = "acknowledge", skip_all, fields(request_id))]
    pub async fn acknowledge(&self, request_id: i64) -> Result<Acknowledged, Failure> {
        tracing::Span::current().record("request_id", request_id);
        let mut tx = self.pool.begin().await?;
        let request = RequestRow::lock(&mut tx, request_id)
            .await?
            .ok_or_else(|| {
                Failure::Poison(anyhow::anyhow!("request {request_id} does not exist"))
            })?;
        // Acknowledged before, or already ended by staff while it waited.
        if request.status != RequestStatus::Received {
            return Ok(Acknowledged::AlreadyDone);
        }
        if waits_for_lookup(&request) {
            return Ok(Acknowledged::Deferred);
        }
        let outcome = self.acknowledge_in(&mut tx, &request, None).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Writes the acknowledgement of a `received` request (locked by the caller) to the outbox
    /// under `ack:<id>`, with `code` if given, and moves the request on (accepted, or
    /// needs_review), in the caller's transaction. [`Acknowledged::AlreadyDone`] if it was
    /// acknowledged before.
    pub async fn acknowledge_in(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
        code: Option<CodeForSender<'_>>,
    ) -> Result<Acknowledged, Failure> {
        self.acknowledge_with(tx, request, code, Finding::NotLookedUp, None)
            .await
    }

    /// [`Acknowledger::acknowledge_in`], and the acknowledgement also says what the lookup
    /// found (`finding`): nothing under the sender's address (it asks for the details the
    /// company may know the person by), or identifiers typed in the text that only the
    /// address on file can confirm (it says so, whatever was found). One e-mail instead of
    /// two; the processor knows it after the lookup, and hands over the store match it
    /// recorded (`subject_match`), written with the new status in one statement.
    pub async fn acknowledge_with(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
        code: Option<CodeForSender<'_>>,
        finding: Finding,
        subject_match: Option<&serde_json::Value>,
    ) -> Result<Acknowledged, Failure> {
        let request_id = request.id;
        // The row was loaded locked in this transaction: `acknowledged` is current.
        if request.acknowledged || request.status != RequestStatus::Received {
            return Ok(Acknowledged::AlreadyDone);
        }
        let outcome = if !wants_reply(request) {
            Acknowledged::NotReplied
        } else {
            let mut extra = json!({
                "review": request.review,
                "invalid_iin": request.understood("invalid_iin"),
            });
            if let Some(c) = code {
                extra["code"] = json!(c.code);
                extra["expires_hours"] = json!(c.expires_hours);
            } else {
                match finding {
                    Finding::NotLookedUp => {}
                    Finding::NotFound => extra["not_found"] = json!(true),
                    Finding::OnFileAsked { expires_hours } => {
                        extra["on_file"] = json!(true);
                        extra["expires_hours"] = json!(expires_hours);
                    }
                }
            }
            let rendered = self
                .replier
                .templates()
                .render(
                    "acknowledgement",
                    request.language,
                    self.replier.context(request, extra),
                )
                .map_err(Failure::Poison)?;
            let email = self
                .replier
                .email(request, "ack", rendered.subject, rendered.body, vec![]);
            let queued = self
                .replier
                .enqueue(
                    &mut *tx,
                    request,
                    &email,
                    &DedupeKey::reply(request_id, Reply::Ack),
                    Urgency::Ordinary,
                )
                .await
                .map_err(Failure::Retry)?;
            if queued == Queued::Suppressed {
                Acknowledged::RateLimited
            } else {
                Acknowledged::Queued
            }
        };
        let status = if request.review {
            RequestStatus::NeedsReview
        } else {
            RequestStatus::Accepted
        };
        let name = match outcome {
            Acknowledged::Queued if code.is_some() => "acknowledgement_with_code_queued",
            Acknowledged::Queued if finding == Finding::NotFound => {
                "acknowledgement_asking_details_queued"
            }
            Acknowledged::Queued if finding != Finding::NotLookedUp => {
                "acknowledgement_on_file_queued"
            }
            Acknowledged::Queued => "acknowledgement_queued",
            Acknowledged::RateLimited => "acknowledgement_rate_limited",
            Acknowledged::NotReplied => "acknowledgement_not_sent",
            Acknowledged::AlreadyDone | Acknowledged::Deferred => unreachable!("returned above"),
        };
        let also = Also {
            acknowledged: true,
            subject_match,
            ..Also::default()
        };
        transition_also(&mut *tx, request_id, status, name, json!({}), also)
            .await
            .map_err(|e| Failure::Poison(e.into()))?;
        // Counted inside the caller's transaction: a retried rollback may count twice.
        if outcome == Acknowledged::NotReplied {
            self.replier.metrics().email_suppressed(Suppressed::NoReply);
        }
        tracing::info!(request_id, to = %redact::email(&request.sender), ?outcome, with_code = code.is_some(), "request acknowledged");
        Ok(outcome)
    }
}

/// The understanding says whether this sender may be written to at all (not a noreply address).
fn wants_reply(request: &RequestRow) -> bool {
    request
        .understanding
        .get("reply")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true)
}

/// Whether this request's acknowledgement waits for the processor's lookup, so that it can
/// carry a code or ask for details in the same e-mail: every request of a known kind that is
/// neither for staff first nor addressed to a silent sender.
pub fn waits_for_lookup(request: &RequestRow) -> bool {
    request.status == RequestStatus::Received && !request.review && wants_reply(request)
}
