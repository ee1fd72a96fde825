//! The outbox table: what must leave the database once its transaction has committed.
//!
//! Enqueueing is idempotent on `dedupe_key` (`ack:42` can only ever be enqueued once), so a
//! handler that runs twice for the same request does not send twice.
//!
//! Draining is one mechanism for every channel (the mailer's e-mails, the relay's publishes):
//! [`lease`] claims due rows for a while, the sender sends them holding no lock, then
//! [`mark_leased_sent`], [`record_leased_failure`] or [`release_leases`] settles each row.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

/// A fully rendered e-mail, stored as JSON in `outbox.payload`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Our Message-ID, without angle brackets; fixed when enqueued so a resend is recognisable.
    pub message_id: String,
    /// The subject's Message-ID we answer, without angle brackets.
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub language: String,
    /// `Auto-Submitted: auto-replied` (RFC 3834) on automatic answers.
    pub auto_replied: bool,
    /// Files attached to the message (e.g. the access report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// An attached file, kept as text (HTML and JSON reports).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: String,
}

/// A message for RabbitMQ, stored as JSON in `outbox.payload`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingPublish {
    pub exchange: String,
    pub routing_key: String,
    pub body: serde_json::Value,
}

/// Whether a new row was written (`false`: the key was enqueued before).
pub type Enqueued = bool;

pub async fn enqueue_email(
    conn: &mut PgConnection,
    dedupe_key: &str,
    request_id: Option<i64>,
    email: &OutgoingEmail,
    suppressed_because: Option<&str>,
) -> sqlx::Result<Enqueued> {
    let status = if suppressed_because.is_some() {
        "suppressed"
    } else {
        "pending"
    };
    let inserted = sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload, status, last_error)
         VALUES ($1, 'email', $2, $3, $4, $5)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(dedupe_key)
    .bind(request_id)
    .bind(sqlx::types::Json(email))
    .bind(status)
    .bind(suppressed_because)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(inserted)
}

pub async fn enqueue_publish(
    conn: &mut PgConnection,
    dedupe_key: &str,
    request_id: Option<i64>,
    publish: &OutgoingPublish,
) -> sqlx::Result<Enqueued> {
    let inserted = sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload)
         VALUES ($1, 'publish', $2, $3)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(dedupe_key)
    .bind(request_id)
    .bind(sqlx::types::Json(publish))
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(inserted)
}

/// What [`enqueue_automatic`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    New,
    /// Over the limit: recorded as `suppressed`, never sent.
    Suppressed,
    /// Over the limit: waits for the recipient's window.
    Deferred,
    /// This dedupe key was enqueued before.
    Known,
}

impl Queued {
    /// A row was written by this call.
    pub fn is_new(self) -> bool {
        self != Queued::Known
    }
}

/// What happens to an automatic e-mail over the per-recipient limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Acknowledgements, code requests, notices: suppressed (recorded, never sent).
    Ordinary,
    /// The result of a verified request (completion, access report): it waits until the
    /// recipient's window has room, and is never dropped.
    Result,
}

/// Enqueues an automatic e-mail about a request within the limit of `per_hour` automatic
/// e-mails to one address (every purpose and request counted; a loop or a flood of spoofed
/// requests can never make the worker a mail cannon). Serialised per recipient with an
/// advisory lock, so concurrent requests cannot both squeeze under the limit.
pub async fn enqueue_automatic(
    conn: &mut PgConnection,
    dedupe_key: &str,
    request_id: Option<i64>,
    email: &OutgoingEmail,
    urgency: Urgency,
    per_hour: i64,
) -> sqlx::Result<Queued> {
    let to = email.to.to_lowercase();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7193))")
        .bind(&to)
        .execute(&mut *conn)
        .await?;
    // One query: was this key enqueued before, and how many e-mails went to this address in
    // the last hour, since when (index outbox_email_recipient_lower).
    let (exists, recent, oldest): (bool, i64, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = $2), count(*), min(created_at)
             FROM outbox
             WHERE channel = 'email' AND lower(payload ->> 'to') = $1
               AND status IN ('pending', 'sent') AND created_at > now() - interval '1 hour'",
        )
        .bind(&to)
        .bind(dedupe_key)
        .fetch_one(&mut *conn)
        .await?;
    if exists {
        return Ok(Queued::Known);
    }
    if recent < per_hour {
        enqueue_email(conn, dedupe_key, request_id, email, None).await?;
        return Ok(Queued::New);
    }
    match urgency {
        Urgency::Ordinary => {
            enqueue_email(
                conn,
                dedupe_key,
                request_id,
                email,
                Some("rate limit: too many automatic e-mails to this address in the last hour"),
            )
            .await?;
            Ok(Queued::Suppressed)
        }
        Urgency::Result => {
            let at = oldest.unwrap_or_else(chrono::Utc::now) + chrono::Duration::hours(1);
            enqueue_email(conn, dedupe_key, request_id, email, None).await?;
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $2, last_error = $3 WHERE dedupe_key = $1",
            )
            .bind(dedupe_key)
            .bind(at)
            .bind("rate limit: waits until the recipient's hourly window has room")
            .execute(&mut *conn)
            .await?;
            Ok(Queued::Deferred)
        }
    }
}

/// The payload of a sent e-mail: attachments keep name, type and size, not their content.
const SENT_PAYLOAD: &str = "CASE WHEN jsonb_typeof(payload -> 'attachments') = 'array'
                  THEN jsonb_set(payload, '{attachments}', (
                    SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'filename', a.value -> 'filename',
                               'content_type', a.value -> 'content_type',
                               'content', '',
                               'size', octet_length(coalesce(a.value ->> 'content', '')))
                             ORDER BY a.ordinality), '[]'::jsonb)
                      FROM jsonb_array_elements(payload -> 'attachments')
                           WITH ORDINALITY AS a(value, ordinality)))
                  ELSE payload END";

/// What an outbox row of one channel carries ([`OutgoingEmail`], [`OutgoingPublish`]): the
/// type [`lease`] reads back from `payload`.
pub trait Payload: serde::de::DeserializeOwned + Send + Unpin + 'static {
    /// The rows' `channel`.
    const CHANNEL: &'static str;
}

impl Payload for OutgoingEmail {
    const CHANNEL: &'static str = "email";
}

impl Payload for OutgoingPublish {
    const CHANNEL: &'static str = "publish";
}

/// A row leased to one sender (a mailer slot, the relay) by [`lease`].
#[derive(Debug, Clone)]
pub struct Leased<P> {
    pub id: i64,
    pub request_id: Option<i64>,
    pub payload: P,
}

/// The one claim of the outbox, for every channel: leases up to `limit` due rows of `P`'s
/// channel, acknowledgements first, in one statement (its own transaction): each row gets
/// `lease_until = now() + lease` and one attempt more. Until the lease expires no other sender
/// or worker can claim the row, and no row lock or connection is held while it is sent; a
/// worker that dies leaves the row claimable again once the lease runs out (the resend has the
/// same dedupe key and Message-ID), or at once when a worker takes its lease name again
/// (`lease_owner`, the connection's `application_name`: [`crate::outbound::owner`]). Rows come
/// back in claim order.
///
/// Then, for each row: [`mark_leased_sent`] once it has gone, [`record_leased_failure`] if it
/// failed, [`release_leases`] for rows the sender did not try.
pub async fn lease<'e, P, E>(
    executor: E,
    limit: i64,
    lease: std::time::Duration,
) -> sqlx::Result<Vec<Leased<P>>>
where
    P: Payload,
    E: sqlx::PgExecutor<'e>,
{
    use sqlx::Row;
    let channel = P::CHANNEL;
    // The channel is a literal (a constant of the payload type), so that the planner sees it:
    // index outbox_email_due (0011) for e-mails, outbox_due (0001) for publishes (whose keys
    // never start with `ack:`, so they go in id order). Leased rows are skipped by
    // lease_until, rows another transaction is claiming right now by SKIP LOCKED.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET lease_until = now() + make_interval(secs => $2), attempts = attempts + 1,
                lease_owner = nullif(current_setting('application_name'), '')
         WHERE id IN (
             SELECT id FROM outbox
             WHERE channel = '{channel}' AND status = 'pending' AND next_attempt_at <= now()
               AND (lease_until IS NULL OR lease_until <= now())
             ORDER BY (dedupe_key NOT LIKE 'ack:%'), id
             LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, request_id, payload, (dedupe_key NOT LIKE 'ack:%') AS later"
    )))
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(executor)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let later: bool = row.try_get("later")?;
        let id: i64 = row.try_get("id")?;
        let request_id: Option<i64> = row.try_get("request_id")?;
        let payload: sqlx::types::Json<P> = row.try_get("payload")?;
        out.push((
            later,
            Leased {
                id,
                request_id,
                payload: payload.0,
            },
        ));
    }
    out.sort_by_key(|(later, leased)| (*later, leased.id));
    Ok(out.into_iter().map(|(_, leased)| leased).collect())
}

/// Marks leased publishes sent, in one statement (their lease is over).
pub async fn mark_leased_published<'e, E>(executor: E, ids: &[i64]) -> sqlx::Result<()>
where
    E: sqlx::PgExecutor<'e>,
{
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = now(), lease_until = NULL
         WHERE id = ANY($1) AND channel = 'publish'",
    )
    .bind(ids)
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks a leased row sent (the attempt was counted when it was leased), in one statement.
/// An e-mail's attachments' contents go in the same statement (the recipient has them now; the
/// worker keeps no copy of an access report): file name, type and size stay, as the retention
/// job keeps them (`retention::reduce`). For an acknowledgement, returns when intake stored the
/// request's message (the start of `dsr_ack_latency_seconds`).
pub async fn mark_leased_sent<'e, E>(
    executor: E,
    id: i64,
) -> sqlx::Result<Option<chrono::DateTime<chrono::Utc>>>
where
    E: sqlx::PgExecutor<'e>,
{
    let intake_at: Option<Option<chrono::DateTime<chrono::Utc>>> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox o SET status = 'sent', sent_at = now(), lease_until = NULL,
                    payload = {SENT_PAYLOAD}
             WHERE o.id = $1
             RETURNING CASE WHEN o.dedupe_key LIKE 'ack:%' THEN
                 (SELECT i.received_at FROM requests r
                    JOIN inbound_messages i ON i.id = r.inbound_message_id
                  WHERE r.id = o.request_id)
             END"
        )))
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(intake_at.flatten())
}

/// A leased row failed: the lease ends, the row backs off (2 s, 4 s, … up to 10 min) or,
/// after `max_attempts`, is `failed` for staff to see. Returns whether it is (no attempt follows).
pub async fn record_leased_failure<'e, E>(
    executor: E,
    id: i64,
    error: &str,
    max_attempts: i32,
) -> sqlx::Result<bool>
where
    E: sqlx::PgExecutor<'e>,
{
    let status: Option<String> = sqlx::query_scalar(
        "UPDATE outbox SET last_error = $2, lease_until = NULL,
                status = CASE WHEN attempts >= $3 THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => least(power(2, attempts), 600))
         WHERE id = $1 AND status = 'pending'
         RETURNING status",
    )
    .bind(id)
    .bind(error)
    .bind(max_attempts)
    .fetch_optional(executor)
    .await?;
    Ok(status.as_deref() == Some("failed"))
}

/// Gives leased rows that were never tried back at once (their attempt uncounted).
pub async fn release_leases<'e, E>(executor: E, ids: &[i64]) -> sqlx::Result<()>
where
    E: sqlx::PgExecutor<'e>,
{
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE outbox SET lease_until = NULL, attempts = greatest(attempts - 1, 0)
         WHERE id = ANY($1) AND status = 'pending'",
    )
    .bind(ids)
    .execute(executor)
    .await?;
    Ok(())
}
