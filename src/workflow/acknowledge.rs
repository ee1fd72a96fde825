//! The first step of every request: one acknowledgement, in the request's language.
//!
//! The acknowledgement is rendered and written to the outbox under the key `ack:<request id>`
//! in the same transaction that marks the request acknowledged, so a redelivered message, a
//! restarted worker or a second worker finds it done and does nothing more.

use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;

use super::reply::{Replier, RequestRow};
use super::status::{transition, RequestStatus};
use crate::monitoring::metrics::Suppressed;
use crate::outbound::outbox::{Queued, Urgency};
use crate::queue::consumer::Failure;
use crate::redact;

/// The body of a `requests` queue message.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct RequestMessage {
    pub request_id: i64,
}

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
}

impl Acknowledger {
    pub fn new(pool: PgPool, replier: Replier) -> Self {
        Self { pool, replier }
    }

    #[tracing::instrument(name = "acknowledge", skip_all, fields(request_id))]
    pub async fn acknowledge(&self, request_id: i64) -> Result<Acknowledged, Failure> {
        let mut tx = self.pool.begin().await?;
        let request = RequestRow::lock(&mut tx, request_id)
            .await?
            .ok_or_else(|| {
                Failure::Poison(anyhow::anyhow!("request {request_id} does not exist"))
            })?;
        let done: bool =
            sqlx::query_scalar("SELECT acknowledged_at IS NOT NULL FROM requests WHERE id = $1")
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?;
        // Acknowledged before, or already ended by staff while it waited.
        if done || request.status != RequestStatus::Received {
            return Ok(Acknowledged::AlreadyDone);
        }
        let reply = request
            .understanding
            .get("reply")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true);
        let outcome = if !reply {
            Acknowledged::NotReplied
        } else {
            let rendered = self
                .replier
                .templates()
                .render(
                    "acknowledgement",
                    request.language,
                    self.replier.context(
                        &request,
                        json!({
                            "review": request.review,
                            "invalid_iin": request.understood("invalid_iin"),
                        }),
                    ),
                )
                .map_err(Failure::Poison)?;
            let email =
                self.replier
                    .email(&request, "ack", rendered.subject, rendered.body, vec![]);
            let queued = self
                .replier
                .enqueue(
                    &mut tx,
                    &request,
                    &email,
                    &format!("ack:{request_id}"),
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
        sqlx::query("UPDATE requests SET acknowledged_at = now() WHERE id = $1")
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        let name = match outcome {
            Acknowledged::Queued => "acknowledgement_queued",
            Acknowledged::RateLimited => "acknowledgement_rate_limited",
            Acknowledged::NotReplied => "acknowledgement_not_sent",
            Acknowledged::AlreadyDone => unreachable!("returned above"),
        };
        transition(&mut tx, request_id, status, name, json!({}))
            .await
            .map_err(|e| Failure::Poison(e.into()))?;
        tx.commit().await?;
        if outcome == Acknowledged::NotReplied {
            self.replier.metrics().email_suppressed(Suppressed::NoReply);
        }
        tracing::info!(request_id, to = %redact::email(&request.sender), ?outcome, "request acknowledged");
        Ok(outcome)
    }
}
