//! Stage 2, triage: `inbound_messages` in status `received` → `request` | `reply` |
//! `confirmation` | `folded` | `ignored` | `duplicate` | `failed`, one message per transaction.
//!
//! No message can stall the stage: a message whose triage fails is retried a few times with a
//! growing delay (the next ones are triaged meanwhile) and then marked `failed` with the reason,
//! in a transaction of its own; its raw bytes stay for staff. Header values are made safe before
//! they reach the database (no NUL, bounded length; uniqueness on a hash, not the header).

pub mod replies;

use std::time::Duration;

use chrono::Datelike;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::db::{self, clean_json, clean_text, CHANNEL_INBOUND};
use crate::domain::{Reference, RequestStatus};
use crate::monitoring::Metrics;
use crate::outbound::dedupe::{Again, DedupeKey, Reply};
use crate::outbound::outbox::Urgency;
use crate::outbound::reply::Replier;
use crate::pipeline::triage::replies::Attached;
use crate::queue::messages::publish_request;
use crate::queue::topology::WorkQueue;
use crate::request::deadline::{Calendar, DeadlineSettings};
use crate::request::lifecycle::{event, transition};
use crate::request::subject::{merge_offered, offered};
use crate::understand::{Reader, Reading};

/// Attempts at triaging one message before it is marked failed.
pub const MAX_ATTEMPTS: i32 = 3;
/// Longest header value kept for threading and display; longer ones are not used to thread.
const MAX_HEADER_CHARS: usize = 998;
/// Due messages read per round of [`Triage::drain`].
const ROUND: i64 = 64;
/// Longest Message-ID we put in our own In-Reply-To / References.
const MAX_THREAD_ID: usize = 250;

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
    /// A reply to one of our e-mails, attached to its request.
    Reply {
        request_id: i64,
        attached: Attached,
    },
    /// A new request of the same kind while the sender's previous one is still unconfirmed.
    Folded {
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

impl Outcome {
    /// The outcome's name in `dsr_messages_triaged_total`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Request { .. } => "request",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Reply { .. } => "reply",
            Outcome::Folded { .. } => "folded",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Failed { .. } => "failed",
        }
    }
}

pub struct Triage {
    pool: PgPool,
    reader: Reader,
    requests: WorkQueue,
    replier: Replier,
    calendar: Calendar,
    deadlines: DeadlineSettings,
    metrics: Metrics,
}

impl Triage {
    pub fn new(
        pool: PgPool,
        reader: Reader,
        requests: WorkQueue,
        replier: Replier,
        calendar: Calendar,
        deadlines: DeadlineSettings,
    ) -> Self {
        Self {
            pool,
            reader,
            requests,
            replier,
            calendar,
            deadlines,
            metrics: Metrics::default(),
        }
    }

    /// Counts outcomes in `dsr_messages_triaged_total`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Triages every waiting message, `concurrency` at a time; returns how many it handled.
    ///
    /// Due messages are read in rounds of [`ROUND`] ids (a plain read, no lock), and each is
    /// then claimed in its own transaction ([`Triage::claim`]), so a wake-up with nothing to
    /// do costs one read, and a round shorter than [`ROUND`] ends the drain: a message stored
    /// after that read wakes triage again.
    pub async fn drain(&self, concurrency: usize) -> anyhow::Result<usize> {
        let mut handled = 0;
        loop {
            let due: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM inbound_messages
                 WHERE status = 'received' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id LIMIT $1",
            )
            .bind(ROUND)
            .fetch_all(&self.pool)
            .await?;
            let full = due.len() as i64 == ROUND;
            futures::stream::iter(due)
                .map(|id| self.claim(id))
                .buffer_unordered(concurrency.max(1))
                .try_for_each(|claimed| {
                    if let Some((id, outcome)) = claimed {
                        handled += 1;
                        log_outcome(id, &outcome);
                    }
                    futures::future::ready(Ok(()))
                })
                .await?;
            if !full {
                return Ok(handled);
            }
        }
    }

    /// Claims and triages message `id` if it is still waiting (and no other worker holds it).
    /// A failure of that message is recorded against it (and it is retried later, or marked
    /// failed) instead of stopping the stage.
    async fn claim(&self, id: i64) -> anyhow::Result<Option<(i64, Outcome)>> {
        let mut tx = db::begin_relaxed(&self.pool).await?;
        let Some(row) = sqlx::query(
            "SELECT id, raw, truncated, size_bytes FROM inbound_messages
             WHERE id = $1 AND status = 'received' FOR UPDATE SKIP LOCKED",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        // Our id of the stored message (never its Message-ID, sender or subject).
        let span = tracing::info_span!("triage", message_id = id);
        match self.triage(&mut tx, row).instrument(span.clone()).await {
            Ok(outcome) => {
                if let Outcome::Failed { reason } = &outcome {
                    mark_failed(&mut tx, id, reason).await?;
                }
                tx.commit().await?;
                self.metrics.triaged(outcome.label());
                Ok(Some((id, outcome)))
            }
            Err(e) => {
                drop(tx);
                let reason = format!("{e:#}");
                let outcome = self.record_attempt(id, &reason).instrument(span).await?;
                Ok(Some((id, outcome)))
            }
        }
    }

    /// A failed attempt, in its own transaction: retried after a delay, failed at the limit.
    async fn record_attempt(&self, id: i64, reason: &str) -> anyhow::Result<Outcome> {
        let reason = clean_text(reason, 2000);
        let attempts: i32 = sqlx::query_scalar(
            "UPDATE inbound_messages
             SET attempts = attempts + 1, failure = $2,
                 next_attempt_at = now() + make_interval(secs => power(4, attempts + 1)),
                 status = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE status END,
                 processed_at = CASE WHEN attempts + 1 >= $3 THEN now() ELSE processed_at END
             WHERE id = $1 AND status = 'received'
             RETURNING attempts",
        )
        .bind(id)
        .bind(reason.as_ref())
        .bind(MAX_ATTEMPTS)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or(MAX_ATTEMPTS);
        self.metrics.triaged(if attempts >= MAX_ATTEMPTS {
            "failed"
        } else {
            "retry"
        });
        Ok(if attempts >= MAX_ATTEMPTS {
            Outcome::Failed {
                reason: format!("{reason} (gave up after {attempts} attempts)"),
            }
        } else {
            tracing::warn!(
                inbound_id = id,
                attempts,
                "triage: attempt failed, will retry: {reason}"
            );
            Outcome::Failed {
                reason: format!("attempt {attempts} of {MAX_ATTEMPTS} failed: {reason}"),
            }
        })
    }

    async fn triage(
        &self,
        tx: &mut PgConnection,
        row: sqlx::postgres::PgRow,
    ) -> anyhow::Result<Outcome> {
        let id: i64 = row.try_get("id")?;
        let raw: Vec<u8> = row.try_get("raw")?;
        let truncated: bool = row.try_get("truncated")?;
        let size: i64 = row.try_get("size_bytes")?;
        if truncated {
            return Ok(Outcome::Failed {
                reason: format!(
                    "message of {size} bytes is over imap.max_message_bytes; only its header was kept"
                ),
            });
        }
        // Reading is pure CPU work; a panic in it must not take the worker down.
        let reader = self.reader.clone();
        let reading = match std::panic::catch_unwind(move || reader.read(&raw)) {
            Ok(Ok(reading)) => reading,
            Ok(Err(e)) => {
                return Ok(Outcome::Failed {
                    reason: e.to_string(),
                })
            }
            Err(_) => {
                return Ok(Outcome::Failed {
                    reason: "the parser crashed on this message".into(),
                })
            }
        };
        if let Some((request_id, attached)) =
            replies::attach(tx, id, &reading, &self.requests, &self.replier).await?
        {
            return Ok(Outcome::Reply {
                request_id,
                attached,
            });
        }
        self.record(tx, id, &reading).await
    }

    async fn record(
        &self,
        tx: &mut PgConnection,
        inbound_id: i64,
        reading: &Reading,
    ) -> anyhow::Result<Outcome> {
        let u = &reading.understanding;
        let mut understanding = serde_json::to_value(u)?;
        clean_json(&mut understanding, 2000);
        let mark = |status: &'static str, request_id: Option<i64>| {
            sqlx::query(
                "UPDATE inbound_messages SET status = $2, kind = $3, understanding = $4,
                        request_id = $5, processed_at = now() WHERE id = $1",
            )
            .bind(inbound_id)
            .bind(status)
            .bind(u.kind.as_str())
            .bind(understanding.clone())
            .bind(request_id)
        };
        let Some(kind) = u.kind.request() else {
            mark("ignored", None).execute(&mut *tx).await?;
            return Ok(Outcome::Ignored {
                kind: u.kind.to_string(),
            });
        };
        let Some(sender) = reading.envelope.from.as_ref() else {
            return Ok(Outcome::Failed {
                reason: format!("a {kind} request without a usable From address"),
            });
        };
        let key = message_key(sender.as_str(), reading.envelope.message_id.as_deref());
        if let Some(key) = &key {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM requests WHERE message_key = $1")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(existing) = existing {
                mark("duplicate", Some(existing)).execute(&mut *tx).await?;
                return Ok(Outcome::Duplicate {
                    request_id: existing,
                });
            }
        }
        if let Some(open) = replies::foldable(tx, sender.as_str(), kind).await? {
            self.fold(tx, open, inbound_id, reading).await?;
            mark("folded", Some(open)).execute(&mut *tx).await?;
            return Ok(Outcome::Folded { request_id: open });
        }

        let now = chrono::Utc::now();
        let year = now.year();
        let due_at = self.calendar.due(now, self.deadlines.working_days(kind));
        let envelope = &reading.envelope;
        let message_id = thread_parent(reading);
        let references: Vec<String> = envelope
            .references
            .iter()
            .rev()
            .take(20)
            .map(String::as_str)
            .filter_map(thread_id)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let subject = clean_text(&envelope.subject, MAX_HEADER_CHARS);
        let identifiers = offered(reading, &self.replier.company().message_id_domain);
        // The number first, so that the row is written once, with its reference.
        let request_id: i64 =
            sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('requests', 'id'))")
                .fetch_one(&mut *tx)
                .await?;
        let reference = Reference::new(year, request_id).to_string();
        let inserted = sqlx::query(
            "INSERT INTO requests (id, reference, inbound_message_id, kind, language, review, status,
                                   sender, sender_message_id, sender_references, subject, understanding,
                                   due_at, message_key, identifiers)
             VALUES ($13, $14, $1, $2, $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (message_key) WHERE message_key IS NOT NULL DO NOTHING",
        )
        .bind(inbound_id)
        .bind(kind.as_str())
        .bind(u.language.as_str())
        .bind(u.review)
        .bind(sender.as_str())
        .bind(message_id)
        .bind(&references)
        .bind(subject.as_ref())
        .bind(&understanding)
        .bind(due_at)
        .bind(&key)
        .bind(&identifiers)
        .bind(request_id)
        .bind(&reference)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // Another worker stored the same message a moment ago.
            anyhow::bail!("the same message was just recorded by another worker; retrying");
        }
        event(
            tx,
            request_id,
            "received",
            json!({
                "kind": kind.as_str(),
                "review": u.review,
                "language": u.language.as_str(),
                "reasons": understanding.get("reasons"),
            }),
        )
        .await?;
        publish_request(tx, &self.requests, request_id, None).await?;
        mark("request", Some(request_id)).execute(&mut *tx).await?;
        Ok(Outcome::Request {
            request_id,
            reference,
        })
    }

    /// A repeated request joins the open one: its identifiers are added (they only narrow),
    /// nothing is answered twice; a request waiting for details is looked up again.
    async fn fold(
        &self,
        tx: &mut PgConnection,
        request_id: i64,
        inbound_id: i64,
        reading: &Reading,
    ) -> anyhow::Result<()> {
        let row = sqlx::query(
            "SELECT status, identifiers, expires_at IS NOT NULL AS waiting FROM requests WHERE id = $1",
        )
        .bind(request_id)
        .fetch_one(&mut *tx)
        .await?;
        let status: RequestStatus = row.try_get("status")?;
        let waiting: bool = row.try_get("waiting")?;
        let mut identifiers: serde_json::Value = row.try_get("identifiers")?;
        let added = merge_offered(
            &mut identifiers,
            &offered(reading, &self.replier.company().message_id_domain),
        );
        // New details for a request waiting for them: it is looked up again, and what that
        // finds answers this message (threaded to it), not the first one again.
        let moves_on = added > 0 && waiting && status == RequestStatus::AwaitingInformation;
        let answering = moves_on.then(|| thread_parent(reading)).flatten();
        record_identifiers(tx, request_id, &identifiers, answering).await?;
        let detail = json!({ "inbound_id": inbound_id, "new_identifiers": added });
        if moves_on {
            transition(tx, request_id, RequestStatus::Accepted, "folded", detail).await?;
            publish_request(
                tx,
                &self.requests,
                request_id,
                Some(Again::Folded {
                    inbound: inbound_id,
                }),
            )
            .await?;
        } else {
            event(tx, request_id, "folded", detail).await?;
            self.answer_folded(tx, request_id, inbound_id, status, reading)
                .await?;
        }
        Ok(())
    }

    /// A short answer to a message that joined the sender's open request: threaded to that
    /// message, naming the request; no code repeated (the earlier mail has it). Within the
    /// per-recipient limit like every automatic e-mail, and never to a sender we must not
    /// write to. Idempotent per folded message (`fold:<request>:<message>`).
    async fn answer_folded(
        &self,
        tx: &mut PgConnection,
        request_id: i64,
        inbound_id: i64,
        status: RequestStatus,
        reading: &Reading,
    ) -> anyhow::Result<()> {
        if !reading.understanding.reply {
            return Ok(());
        }
        let Some(request) = crate::request::RequestRow::lock(&mut *tx, request_id).await? else {
            return Ok(());
        };
        let dedupe = DedupeKey::reply(
            request_id,
            Reply::Folded {
                inbound: inbound_id,
            },
        );
        let mut email = self.replier.compose_to(
            &request,
            &crate::outbound::reply::To::Sender,
            "folded",
            &dedupe,
            json!({ "awaiting_code": status == RequestStatus::AwaitingConfirmation }),
            vec![],
        )?;
        // Threaded to the message being answered, not to the request's first one.
        if let Some(parent) = thread_parent(reading) {
            if !email.references.contains(&parent) {
                email.references.push(parent.clone());
            }
            email.in_reply_to = Some(parent);
        }
        self.replier
            .enqueue(&mut *tx, &request, &email, &dedupe, Urgency::Ordinary)
            .await?;
        Ok(())
    }

    /// Triages whenever intake announces new mail, and at least every `poll`, with
    /// `concurrency` messages in flight (each claims its own row with `SKIP LOCKED`).
    pub async fn run(self, poll: Duration, concurrency: u16, shutdown: CancellationToken) {
        let pool = self.pool.clone();
        let this = std::sync::Arc::new(self);
        db::run_on_notify("triage", CHANNEL_INBOUND, pool, poll, shutdown, move |_| {
            let this = this.clone();
            async move { this.drain(usize::from(concurrency)).await }
        })
        .await
    }
}

/// One line per triaged message: our id of it and what it became (never its sender or subject).
fn log_outcome(id: i64, outcome: &Outcome) {
    match outcome {
        Outcome::Request { request_id, .. } => {
            tracing::info!(inbound_id = id, request_id, "triage: new request")
        }
        Outcome::Ignored { kind } => {
            tracing::info!(inbound_id = id, kind = %kind, "triage: not a request; left in the mailbox")
        }
        Outcome::Reply {
            request_id,
            attached,
        } => {
            tracing::info!(
                inbound_id = id,
                request_id,
                ?attached,
                "triage: reply attached to its request"
            )
        }
        Outcome::Folded { request_id } => {
            tracing::info!(
                inbound_id = id,
                request_id,
                "triage: folded into the sender's open request"
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

/// Stores a request's merged identifiers and, when the message that brought them moves the
/// request on, that message as the one its next e-mails answer (`answering`).
async fn record_identifiers(
    conn: &mut PgConnection,
    request_id: i64,
    identifiers: &serde_json::Value,
    answering: Option<String>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE requests SET identifiers = $2,
                answering_message_id = coalesce($3, answering_message_id)
         WHERE id = $1",
    )
    .bind(request_id)
    .bind(identifiers)
    .bind(answering)
    .execute(conn)
    .await?;
    Ok(())
}

/// The message's own Message-ID as a reply may name it (In-Reply-To): made safe, and `None`
/// when it is missing, too long or not one token.
fn thread_parent(reading: &Reading) -> Option<String> {
    reading.envelope.message_id.as_deref().and_then(thread_id)
}

/// A Message-ID as a thread may name it: made safe, and `None` when too long or not one token.
fn thread_id(id: &str) -> Option<String> {
    let id = clean_text(id, MAX_HEADER_CHARS);
    (id.chars().count() <= MAX_THREAD_ID && !id.contains(char::is_whitespace))
        .then(|| id.into_owned())
}

async fn mark_failed(conn: &mut PgConnection, id: i64, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE inbound_messages SET status = 'failed', failure = $2, processed_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(clean_text(reason, 2000).as_ref())
    .execute(conn)
    .await?;
    Ok(())
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
