//! The triage stage: `inbound_messages` in status `received` → `request` | `ignored` |
//! `duplicate` | `failed`, one message per transaction.

use std::time::Duration;

use chrono::Datelike;
use sqlx::{PgConnection, PgPool, Row};
use tokio_util::sync::CancellationToken;

use super::confirmation;
use super::deadline::{Calendar, DeadlineSettings};
use super::process::publish_request;
use crate::db::{self, CHANNEL_INBOUND};
use crate::domain::Reference;
use crate::queue::topology::WorkQueue;
use crate::understand::{Reader, Reading};

/// What triage decided for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Request {
        request_id: i64,
        reference: String,
    },
    /// Not a request (business mail, auto-reply, bounce): left for humans, never answered.
    Ignored {
        kind: String,
    },
    /// The sender confirmed a request's identity with its one-time code.
    Confirmation {
        request_id: i64,
    },
    /// The same message (sender + Message-ID) already made a request.
    Duplicate {
        request_id: i64,
    },
    Failed {
        reason: String,
    },
}

pub struct Triage {
    pool: PgPool,
    reader: Reader,
    requests: WorkQueue,
    calendar: Calendar,
    deadlines: DeadlineSettings,
}

impl Triage {
    pub fn new(
        pool: PgPool,
        reader: Reader,
        requests: WorkQueue,
        calendar: Calendar,
        deadlines: DeadlineSettings,
    ) -> Self {
        Self {
            pool,
            reader,
            requests,
            calendar,
            deadlines,
        }
    }

    /// Triages every waiting message; returns how many it handled.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut handled = 0;
        while let Some((id, outcome)) = self.next().await? {
            handled += 1;
            match &outcome {
                Outcome::Request { request_id, .. } => {
                    tracing::info!(inbound_id = id, request_id, "triage: new request")
                }
                Outcome::Ignored { kind } => {
                    tracing::info!(inbound_id = id, kind = %kind, "triage: not a request; left in the mailbox")
                }
                Outcome::Confirmation { request_id } => {
                    tracing::info!(
                        inbound_id = id,
                        request_id,
                        "triage: identity confirmed by reply"
                    )
                }
                Outcome::Duplicate { request_id } => {
                    tracing::info!(
                        inbound_id = id,
                        request_id,
                        "triage: duplicate of an existing request"
                    )
                }
                Outcome::Failed { reason } => {
                    tracing::warn!(
                        inbound_id = id,
                        "triage: message kept but not understood: {reason}"
                    )
                }
            }
        }
        Ok(handled)
    }

    /// Claims and triages the oldest waiting message.
    pub async fn next(&self) -> anyhow::Result<Option<(i64, Outcome)>> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT id, raw, truncated, size_bytes FROM inbound_messages
             WHERE status = 'received' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id")?;
        let raw: Vec<u8> = row.try_get("raw")?;
        let truncated: bool = row.try_get("truncated")?;
        let size: i64 = row.try_get("size_bytes")?;
        let outcome = if truncated {
            Outcome::Failed {
                reason: format!(
                    "message of {size} bytes is over imap.max_message_bytes; only its header was kept"
                ),
            }
        } else {
            // Reading is pure CPU work; a panic in it must not take the worker down.
            let reader = self.reader.clone();
            let bytes = raw.clone();
            match std::panic::catch_unwind(move || reader.read(&bytes)) {
                Ok(Ok(reading)) => {
                    match confirmation::accept(&mut tx, id, &reading, &raw, &self.requests).await? {
                        Some(request_id) => Outcome::Confirmation { request_id },
                        None => self.record(&mut tx, id, &reading).await?,
                    }
                }
                Ok(Err(e)) => Outcome::Failed {
                    reason: e.to_string(),
                },
                Err(_) => Outcome::Failed {
                    reason: "the parser crashed on this message".into(),
                },
            }
        };
        if let Outcome::Failed { reason } = &outcome {
            sqlx::query(
                "UPDATE inbound_messages SET status = 'failed', failure = $2, processed_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some((id, outcome)))
    }

    async fn record(
        &self,
        tx: &mut PgConnection,
        inbound_id: i64,
        reading: &Reading,
    ) -> anyhow::Result<Outcome> {
        let u = &reading.understanding;
        let understanding = serde_json::to_value(u)?;
        let mark = |status: &'static str| {
            sqlx::query(
                "UPDATE inbound_messages SET status = $2, kind = $3, understanding = $4,
                        processed_at = now() WHERE id = $1",
            )
            .bind(inbound_id)
            .bind(status)
            .bind(u.kind.as_str())
            .bind(understanding.clone())
        };
        let Some(kind) = u.kind.request() else {
            mark("ignored").execute(&mut *tx).await?;
            return Ok(Outcome::Ignored {
                kind: u.kind.to_string(),
            });
        };
        let Some(sender) = reading.envelope.from.as_ref() else {
            return Ok(Outcome::Failed {
                reason: format!("a {kind} request without a usable From address"),
            });
        };
        let now = chrono::Utc::now();
        let year = now.year();
        let due_at = self.calendar.due(now, self.deadlines.working_days(kind));
        let key = message_key(sender.as_str(), reading.envelope.message_id.as_deref());
        let identifiers = serde_json::json!({ "iins": u.iin, "phones": u.phones });
        let inserted = sqlx::query(
            "INSERT INTO requests (reference, inbound_message_id, kind, language, review, status,
                                   sender, sender_message_id, sender_references, subject, understanding,
                                   due_at, message_key, identifiers)
             VALUES ('pending:' || $1::text, $1, $2, $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (message_key) WHERE message_key IS NOT NULL
             DO NOTHING
             RETURNING id",
        )
        .bind(inbound_id)
        .bind(kind.as_str())
        .bind(u.language.as_str())
        .bind(u.review)
        .bind(sender.as_str())
        .bind(reading.envelope.message_id.as_deref())
        .bind(&reading.envelope.references)
        .bind(&reading.envelope.subject)
        .bind(&understanding)
        .bind(due_at)
        .bind(&key)
        .bind(&identifiers)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            let existing: i64 = sqlx::query("SELECT id FROM requests WHERE message_key = $1")
                .bind(&key)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?;
            mark("duplicate").execute(&mut *tx).await?;
            return Ok(Outcome::Duplicate {
                request_id: existing,
            });
        };
        let request_id: i64 = row.try_get("id")?;
        let reference = Reference::new(year, request_id).to_string();
        sqlx::query("UPDATE requests SET reference = $2 WHERE id = $1")
            .bind(request_id)
            .bind(&reference)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO request_events (request_id, event, detail) VALUES ($1, 'received', $2)",
        )
        .bind(request_id)
        .bind(serde_json::json!({
            "kind": kind.as_str(),
            "review": u.review,
            "language": u.language.as_str(),
            "reasons": u.reasons,
        }))
        .execute(&mut *tx)
        .await?;
        publish_request(
            tx,
            &self.requests,
            request_id,
            &format!("publish:request:{request_id}"),
        )
        .await?;
        mark("request").execute(&mut *tx).await?;
        Ok(Outcome::Request {
            request_id,
            reference,
        })
    }

    /// Triages whenever intake announces new mail, and at least every `poll`.
    pub async fn run(self, poll: Duration, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        let this = std::sync::Arc::new(self);
        db::run_on_notify("triage", CHANNEL_INBOUND, pool, poll, shutdown, move |_| {
            let this = this.clone();
            async move { this.drain().await }
        })
        .await
    }
}

/// `sha256(lower(sender) 0x00 Message-ID)`: the identity of "the same message twice", of any
/// length (a header value too long for an index cannot stall triage). `None` without a
/// Message-ID: such messages are never taken for duplicates.
pub fn message_key(sender: &str, message_id: Option<&str>) -> Option<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let id = message_id?;
    let mut h = Sha256::new();
    h.update(sender.to_lowercase().as_bytes());
    h.update([0u8]);
    h.update(id.as_bytes());
    Some(h.finalize().to_vec())
}
