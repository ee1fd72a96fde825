//! The `requests` queue handler: one acknowledgement per request, in the request's language.
//!
//! The acknowledgement is rendered and written to the outbox under the key `ack:<request id>`
//! in the same transaction that marks the request acknowledged, so a redelivered message, a
//! restarted worker or a second worker finds it done and does nothing more.

use std::sync::Arc;

use serde::Deserialize;
use sqlx::{PgPool, Row};

use crate::config::{CompanySettings, WorkerSettings};
use crate::domain::Language;
use crate::outbound::outbox::{self, OutgoingEmail};
use crate::outbound::templates::Templates;
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
    templates: Arc<Templates>,
    company: CompanySettings,
    worker: WorkerSettings,
}

/// What handling one request message did.
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
    pub fn new(
        pool: PgPool,
        templates: Arc<Templates>,
        company: CompanySettings,
        worker: WorkerSettings,
    ) -> Self {
        Self {
            pool,
            templates,
            company,
            worker,
        }
    }

    /// Queue handler entry point.
    pub async fn handle(&self, payload: Vec<u8>) -> Result<(), Failure> {
        let message: RequestMessage = serde_json::from_slice(&payload)
            .map_err(|e| Failure::Poison(anyhow::anyhow!("malformed requests message: {e}")))?;
        self.acknowledge(message.request_id).await.map(|_| ())
    }

    pub async fn acknowledge(&self, request_id: i64) -> Result<Acknowledged, Failure> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT reference, kind, language, review, sender, sender_message_id,
                    sender_references, subject, understanding, acknowledged_at IS NOT NULL AS done
             FROM requests WHERE id = $1 FOR UPDATE",
        )
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(Failure::Poison(anyhow::anyhow!(
                "request {request_id} does not exist"
            )));
        };
        if row.try_get::<bool, _>("done")? {
            return Ok(Acknowledged::AlreadyDone);
        }
        let reference: String = row.try_get("reference")?;
        let kind: String = row.try_get("kind")?;
        let language: Language = row
            .try_get::<String, _>("language")?
            .parse()
            .map_err(|e: String| Failure::Poison(anyhow::anyhow!(e)))?;
        let review: bool = row.try_get("review")?;
        let sender: String = row.try_get("sender")?;
        let parent: Option<String> = row.try_get("sender_message_id")?;
        let mut references: Vec<String> = row.try_get("sender_references")?;
        let subject: String = row.try_get("subject")?;
        let understanding: serde_json::Value = row.try_get("understanding")?;
        let reply = understanding
            .get("reply")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true);
        let invalid_iin = understanding
            .get("invalid_iin")
            .cloned()
            .unwrap_or(serde_json::json!([]));

        let outcome = if !reply {
            Acknowledged::NotReplied
        } else {
            let rendered = self
                .templates
                .render(
                    "acknowledgement",
                    language,
                    serde_json::json!({
                        "reference": reference,
                        "kind": kind,
                        "review": review,
                        "original_subject": subject,
                        "invalid_iin": invalid_iin,
                        "company": self.company.name,
                        "company_mailbox": self.company.mailbox,
                    }),
                )
                .map_err(Failure::Poison)?;
            if let Some(parent) = &parent {
                if !references.contains(parent) {
                    references.push(parent.clone());
                }
            }
            let email = OutgoingEmail {
                to: sender.clone(),
                subject: rendered.subject,
                body: rendered.body,
                message_id: format!(
                    "{}.ack@{}",
                    reference.to_ascii_lowercase(),
                    self.company.message_id_domain
                ),
                in_reply_to: parent,
                references,
                language: language.reply_language().as_str().to_owned(),
                auto_replied: true,
                attachments: vec![],
            };
            let recent = outbox::recent_emails_to(&mut tx, &sender).await?;
            let limited = recent >= self.worker.replies_per_sender_per_hour;
            outbox::enqueue_email(
                &mut tx,
                &format!("ack:{request_id}"),
                Some(request_id),
                &email,
                limited.then_some("rate limit: too many replies to this sender in the last hour"),
            )
            .await?;
            if limited {
                Acknowledged::RateLimited
            } else {
                Acknowledged::Queued
            }
        };
        let status = if review { "needs_review" } else { "accepted" };
        sqlx::query("UPDATE requests SET acknowledged_at = now(), status = $2 WHERE id = $1")
            .bind(request_id)
            .bind(status)
            .execute(&mut *tx)
            .await?;
        let event = match outcome {
            Acknowledged::Queued => "acknowledgement_queued",
            Acknowledged::RateLimited => "acknowledgement_rate_limited",
            Acknowledged::NotReplied => "acknowledgement_not_sent",
            Acknowledged::AlreadyDone => unreachable!("returned above"),
        };
        sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
            .bind(request_id)
            .bind(event)
            .bind(serde_json::json!({ "status": status }))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(request_id, to = %redact::email(&sender), ?outcome, "request acknowledged");
        Ok(outcome)
    }
}
