//! The retention job, run by every worker every `retention.interval_secs` (and by `dsr-worker
//! retention run`). One pass does four things, each item in its own transaction, claimed with
//! `FOR UPDATE SKIP LOCKED` so any number of workers can run it at once and each item is
//! reduced by one of them:
//!
//! 1. **Codes**: once a verification's e-mails are sent, its one-time code is masked in them
//!    (only `verifications.code_hash` is needed to check a reply). Marked `code_masked_at`.
//! 2. **Requests** final (completed, rejected, closed) for `final_days`, with no e-mail still
//!    waiting to be sent: the request row, every message attached to it (its own, the replies
//!    with `request_id`, the confirmations of its verifications), its verifications, store
//!    tasks, e-mails and timeline are reduced ([`super::reduce`]); raw mail keeps its sha256 and
//!    size and loses its bytes. Marked `purged_at`, with a `retention_reduced` event.
//! 3. **Late rows** of requests already reduced (a reply that arrived afterwards, an e-mail sent
//!    since, an event): reduced the same way, with another `retention_reduced` event.
//! 4. **Unattached mail** (never part of a request: not a request, auto-replies, bounces,
//!    duplicates, failures) received `unattached_days` ago: reduced like raw mail above.
//!
//! Reducing is idempotent, so a second pass — or a second worker that got the same row after
//! the first committed — changes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool, Row};
use tokio_util::sync::CancellationToken;

use super::reduce::{self, Keep, Pseudonyms, Reducer};
use super::RetentionSettings;
use crate::config::company::CompanySettings;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pass {
    /// Requests reduced for the first time.
    pub requests: usize,
    /// Requests reduced before that had new rows reduced.
    pub late: usize,
    /// Messages that never became part of a request, reduced.
    pub unattached: usize,
    /// One-time codes masked in sent e-mails.
    pub codes: usize,
}

impl Pass {
    pub fn is_empty(&self) -> bool {
        *self == Pass::default()
    }
}

/// The retention job of one worker.
#[derive(Clone)]
pub struct Retention {
    pool: PgPool,
    settings: RetentionSettings,
    names: Pseudonyms,
    own_domains: Vec<String>,
}

/// Final statuses, as SQL (the lifecycle's `RequestStatus::is_final`).
const FINAL: &str = "('completed', 'rejected', 'closed')";

impl Retention {
    /// `hash_key`: the key of keyed hashes (`identity.hash_key_env`); empty when none is
    /// configured, and then personal values are replaced by a marker instead of a pseudonym.
    pub fn new(
        pool: PgPool,
        settings: RetentionSettings,
        hash_key: &[u8],
        company: &CompanySettings,
    ) -> Self {
        let mut own_domains = company.domains.clone();
        if let Some((_, domain)) = company.mailbox.rsplit_once('@') {
            own_domains.push(domain.to_owned());
        }
        Self {
            pool,
            settings,
            names: Pseudonyms::new(hash_key),
            own_domains,
        }
    }

    /// Whether reduced values are keyed pseudonyms (a hash key is configured).
    pub fn keyed(&self) -> bool {
        self.names.keyed()
    }

    /// One pass as of `now` (tests move time forward; the worker passes the clock).
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        self.pass(now, &CancellationToken::new()).await
    }

    /// Runs a pass every `interval_secs` until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        if !self.keyed() {
            tracing::info!(
                "retention: no hash key (identity.hash_key_env): reduced personal values are replaced, not pseudonymised"
            );
        }
        let interval = std::time::Duration::from_secs(self.settings.interval_secs);
        loop {
            match self.pass(Utc::now(), &shutdown).await {
                Ok(pass) if pass.is_empty() => {}
                Ok(pass) => tracing::info!(
                    requests = pass.requests,
                    late = pass.late,
                    unattached = pass.unattached,
                    codes = pass.codes,
                    "retention: personal data no longer needed was reduced"
                ),
                Err(e) => tracing::warn!("retention: {e:#}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {},
                _ = shutdown.cancelled() => return,
            }
        }
    }

    async fn pass(&self, now: DateTime<Utc>, stop: &CancellationToken) -> anyhow::Result<Pass> {
        let days = |d: u32| chrono::Duration::days(i64::from(d));
        Ok(Pass {
            codes: self.mask_codes(stop).await?,
            requests: self
                .final_requests(now - days(self.settings.final_days), stop)
                .await?,
            late: self.late_rows(stop).await?,
            unattached: self
                .unattached(now - days(self.settings.unattached_days), stop)
                .await?,
        })
    }

    /// 1. One-time codes of e-mails already sent.
    async fn mask_codes(&self, stop: &CancellationToken) -> anyhow::Result<usize> {
        let (mut last, mut masked) = (0_i64, 0);
        while !stop.is_cancelled() {
            let mut tx = self.pool.begin().await?;
            let Some(row) = sqlx::query(
                "SELECT v.id, v.request_id, v.code_hash FROM verifications v
                 WHERE v.id > $1 AND v.code_masked_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = v.request_id
                                   AND o.channel = 'email' AND o.status = 'pending')
                 ORDER BY v.id LIMIT 1 FOR UPDATE OF v SKIP LOCKED",
            )
            .bind(last)
            .fetch_optional(&mut *tx)
            .await?
            else {
                break;
            };
            last = row.try_get("id")?;
            let request_id: i64 = row.try_get("request_id")?;
            let hash: Vec<u8> = row.try_get("code_hash")?;
            let emails = sqlx::query(
                "SELECT id, payload FROM outbox
                 WHERE request_id = $1 AND channel = 'email' AND status <> 'pending'
                 ORDER BY id FOR UPDATE",
            )
            .bind(request_id)
            .fetch_all(&mut *tx)
            .await?;
            for email in emails {
                let payload: Value = email.try_get("payload")?;
                let (payload, n) = reduce::mask_codes(&payload, std::slice::from_ref(&hash));
                if n > 0 {
                    sqlx::query("UPDATE outbox SET payload = $2 WHERE id = $1")
                        .bind(email.try_get::<i64, _>("id")?)
                        .bind(payload)
                        .execute(&mut *tx)
                        .await?;
                    masked += n;
                }
            }
            sqlx::query("UPDATE verifications SET code_masked_at = now() WHERE id = $1")
                .bind(last)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(masked)
    }

    /// 2. Requests final since `cutoff`, reduced for the first time.
    async fn final_requests(
        &self,
        cutoff: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<usize> {
        let (mut last, mut reduced) = (0_i64, 0);
        while !stop.is_cancelled() {
            let mut tx = self.pool.begin().await?;
            let claim = format!(
                "SELECT id FROM requests r
                 WHERE r.id > $1 AND r.purged_at IS NULL AND r.status IN {FINAL}
                   AND coalesce(r.completed_at, r.created_at) <= $2
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = r.id
                                   AND o.channel = 'email' AND o.status = 'pending')
                 ORDER BY r.id LIMIT 1 FOR UPDATE SKIP LOCKED"
            );
            let Some(id) = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(claim))
                .bind(last)
                .bind(cutoff)
                .fetch_optional(&mut *tx)
                .await?
            else {
                break;
            };
            last = id;
            // A request another worker reduced meanwhile is not returned: under READ COMMITTED
            // the lock re-checks `purged_at IS NULL` on the row as that worker committed it.
            self.reduce_request(&mut tx, id, true).await?;
            tx.commit().await?;
            reduced += 1;
            tracing::debug!(request_id = id, "retention: request reduced");
        }
        Ok(reduced)
    }

    /// 3. Rows that joined a reduced request afterwards.
    async fn late_rows(&self, stop: &CancellationToken) -> anyhow::Result<usize> {
        let candidates: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT c.request_id FROM (
                 SELECT request_id FROM inbound_messages
                  WHERE purged_at IS NULL AND request_id IS NOT NULL AND status <> 'received'
                 UNION ALL
                 SELECT request_id FROM outbox
                  WHERE purged_at IS NULL AND request_id IS NOT NULL AND status <> 'pending'
                 UNION ALL
                 SELECT request_id FROM request_events WHERE purged_at IS NULL
             ) c JOIN requests r ON r.id = c.request_id
             WHERE r.purged_at IS NOT NULL
             ORDER BY 1 LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut reduced = 0;
        for id in candidates {
            if stop.is_cancelled() {
                break;
            }
            let mut tx = self.pool.begin().await?;
            let locked: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM requests r WHERE r.id = $1 AND r.purged_at IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = r.id
                                   AND o.channel = 'email' AND o.status = 'pending')
                 FOR UPDATE SKIP LOCKED",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if locked.is_none() {
                continue;
            }
            if self.reduce_request(&mut tx, id, false).await? > 0 {
                reduced += 1;
            }
            tx.commit().await?;
        }
        Ok(reduced)
    }

    /// 4. Mail that never became part of a request, received before `cutoff`.
    async fn unattached(
        &self,
        cutoff: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<usize> {
        let (mut last, mut reduced) = (0_i64, 0);
        while !stop.is_cancelled() {
            let mut tx = self.pool.begin().await?;
            let Some(row) = sqlx::query(
                "SELECT m.id, m.raw, m.understanding, m.failure FROM inbound_messages m
                 WHERE m.id > $1 AND m.purged_at IS NULL AND m.request_id IS NULL
                   AND m.status <> 'received' AND m.received_at <= $2
                   AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.inbound_message_id = m.id)
                   AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.inbound_message_id = m.id)
                 ORDER BY m.id LIMIT 1 FOR UPDATE OF m SKIP LOCKED",
            )
            .bind(last)
            .bind(cutoff)
            .fetch_optional(&mut *tx)
            .await?
            else {
                break;
            };
            last = row.try_get("id")?;
            let message = Message::from_row(&row)?;
            let reducer = Reducer::new(self.names.clone(), message.needles(), &self.own_domains);
            message.reduce(&mut tx, &reducer).await?;
            tx.commit().await?;
            reduced += 1;
        }
        Ok(reduced)
    }

    /// Reduces request `id` (locked by the caller) and everything attached to it that is not
    /// reduced yet; returns how many rows changed. `first`: the request itself is reduced now
    /// (else only rows that joined it since).
    async fn reduce_request(
        &self,
        tx: &mut PgConnection,
        id: i64,
        first: bool,
    ) -> anyhow::Result<usize> {
        let request = RequestRow::load(tx, id).await?;
        let messages: Vec<Message> = sqlx::query(
            "SELECT id, raw, understanding, failure FROM inbound_messages m
             WHERE m.purged_at IS NULL AND m.status <> 'received'
               AND m.id IN (SELECT $2::bigint
                            UNION SELECT id FROM inbound_messages WHERE request_id = $1
                            UNION SELECT inbound_message_id FROM verifications
                                   WHERE request_id = $1 AND inbound_message_id IS NOT NULL)
             ORDER BY m.id FOR UPDATE",
        )
        .bind(id)
        .bind(request.inbound_message_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(Message::from_row)
        .collect::<anyhow::Result<_>>()?;
        let verifications: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, address FROM verifications WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let tasks: Vec<(i64, Value, Option<String>, Option<Value>)> = sqlx::query_as(
            "SELECT id, plan, last_error, receipt FROM store_tasks WHERE request_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let outbox: Vec<(i64, String, Value, Option<String>)> = sqlx::query_as(
            "SELECT id, channel, payload, last_error FROM outbox
             WHERE request_id = $1 AND purged_at IS NULL AND status <> 'pending'
             ORDER BY id FOR UPDATE",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let events: Vec<(i64, Value)> = sqlx::query_as(
            "SELECT id, detail FROM request_events WHERE request_id = $1 AND purged_at IS NULL
             ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;

        // Everything personal known about this request, to find it in text that stays.
        let mut needles = request.needles();
        for m in &messages {
            needles.extend(m.needles());
        }
        needles.extend(verifications.iter().map(|(_, a)| a.clone()));
        for (_, plan, _, _) in &tasks {
            reduce::strings_in(&plan["subject"], &mut needles);
        }
        for (_, channel, payload, _) in &outbox {
            if channel == "email" {
                reduce::strings_in(&payload["to"], &mut needles);
                needles.extend(reduce::report_values(payload));
            }
        }
        let r = Reducer::new(self.names.clone(), needles, &self.own_domains);

        let mut changed = 0;
        if request.reduce(tx, &r).await? {
            changed += 1;
        }
        let message_count = messages.len();
        for m in messages {
            m.reduce(tx, &r).await?;
        }
        changed += message_count;
        for (vid, address) in &verifications {
            let reduced = r.token(address);
            if reduced != *address {
                sqlx::query("UPDATE verifications SET address = $2 WHERE id = $1")
                    .bind(vid)
                    .bind(&reduced)
                    .execute(&mut *tx)
                    .await?;
                changed += 1;
            }
        }
        sqlx::query(
            "UPDATE verifications SET code_masked_at = now()
             WHERE request_id = $1 AND code_masked_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        for (tid, plan, last_error, receipt) in &tasks {
            let new_plan = r.json(plan, reduce::PLAN);
            let new_error = last_error.as_deref().map(|e| r.scrub(e));
            let new_receipt = receipt.as_ref().map(|v| r.json(v, reduce::RECEIPT));
            if new_plan != *plan || new_error != *last_error || new_receipt != *receipt {
                sqlx::query(
                    "UPDATE store_tasks SET plan = $2, last_error = $3, receipt = $4 WHERE id = $1",
                )
                .bind(tid)
                .bind(&new_plan)
                .bind(&new_error)
                .bind(&new_receipt)
                .execute(&mut *tx)
                .await?;
                changed += 1;
            }
        }
        let email_count = outbox.len();
        if email_count > 0 {
            let ids: Vec<i64> = outbox.iter().map(|(id, ..)| *id).collect();
            let payloads: Vec<Value> = outbox
                .iter()
                .map(|(_, channel, payload, _)| match channel.as_str() {
                    "email" => r.email(payload),
                    "publish" => r.json(payload, reduce::PUBLISH),
                    _ => r.json(payload, Keep::Nothing),
                })
                .collect();
            let errors: Vec<Option<String>> = outbox
                .iter()
                .map(|(.., e)| e.as_deref().map(|e| r.scrub(e)))
                .collect();
            sqlx::query(
                "UPDATE outbox o SET payload = v.payload, last_error = v.last_error, purged_at = now()
                 FROM unnest($1::bigint[], $2::jsonb[], $3::text[]) AS v(id, payload, last_error)
                 WHERE o.id = v.id AND o.status <> 'pending'",
            )
            .bind(&ids)
            .bind(&payloads)
            .bind(&errors)
            .execute(&mut *tx)
            .await?;
        }
        changed += email_count;
        let event_count = events.len();
        if event_count > 0 {
            let ids: Vec<i64> = events.iter().map(|(id, _)| *id).collect();
            let details: Vec<Value> = events
                .iter()
                .map(|(_, d)| r.json(d, reduce::EVENT))
                .collect();
            sqlx::query(
                "UPDATE request_events e SET detail = v.detail, purged_at = now()
                 FROM unnest($1::bigint[], $2::jsonb[]) AS v(id, detail) WHERE e.id = v.id",
            )
            .bind(&ids)
            .bind(&details)
            .execute(&mut *tx)
            .await?;
        }
        changed += event_count;

        if first || changed > 0 {
            sqlx::query("UPDATE requests SET purged_at = coalesce(purged_at, now()) WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO request_events (request_id, event, detail, purged_at)
                 VALUES ($1, 'retention_reduced', $2, now())",
            )
            .bind(id)
            .bind(json!({
                "first": first,
                "final_days": self.settings.final_days,
                "messages": message_count,
                "emails": email_count,
                "events": event_count,
                "tasks": tasks.len(),
                "verifications": verifications.len(),
                "keyed": r.keyed(),
            }))
            .execute(&mut *tx)
            .await?;
        }
        Ok(changed)
    }
}

/// The columns of `requests` that can hold personal data.
struct RequestRow {
    id: i64,
    inbound_message_id: i64,
    sender: String,
    verified_address: Option<String>,
    sender_message_id: Option<String>,
    answering_message_id: Option<String>,
    sender_references: Vec<String>,
    subject: String,
    understanding: Value,
    identifiers: Value,
    linked_subject: Option<Value>,
    subject_match: Option<Value>,
    approval: Option<Value>,
    verification: Option<String>,
    failure: Option<String>,
    outcome: Option<String>,
}

impl RequestRow {
    async fn load(conn: &mut PgConnection, id: i64) -> anyhow::Result<Self> {
        let row = sqlx::query(
            "SELECT id, inbound_message_id, sender, verified_address, sender_message_id,
                    answering_message_id, sender_references, subject, understanding, identifiers, linked_subject,
                    subject_match, approval, verification, failure, outcome
             FROM requests WHERE id = $1",
        )
        .bind(id)
        .fetch_one(conn)
        .await?;
        Ok(Self {
            id: row.try_get("id")?,
            inbound_message_id: row.try_get("inbound_message_id")?,
            sender: row.try_get("sender")?,
            verified_address: row.try_get("verified_address")?,
            sender_message_id: row.try_get("sender_message_id")?,
            answering_message_id: row.try_get("answering_message_id")?,
            sender_references: row.try_get("sender_references")?,
            subject: row.try_get("subject")?,
            understanding: row.try_get("understanding")?,
            identifiers: row.try_get("identifiers")?,
            linked_subject: row.try_get("linked_subject")?,
            subject_match: row.try_get("subject_match")?,
            approval: row.try_get("approval")?,
            verification: row.try_get("verification")?,
            failure: row.try_get("failure")?,
            outcome: row.try_get("outcome")?,
        })
    }

    fn needles(&self) -> Vec<String> {
        let mut out = vec![self.sender.clone()];
        out.extend(self.verified_address.clone());
        reduce::strings_in(&self.identifiers, &mut out);
        if let Some(linked) = &self.linked_subject {
            reduce::strings_in(linked, &mut out);
        }
        identifiers_understood(&self.understanding, &mut out);
        out
    }

    /// Writes the reduced row; `false` if it was reduced already.
    async fn reduce(&self, conn: &mut PgConnection, r: &Reducer) -> anyhow::Result<bool> {
        let reduced = Self {
            id: self.id,
            inbound_message_id: self.inbound_message_id,
            sender: r.token(&self.sender),
            verified_address: self.verified_address.as_deref().map(|a| r.token(a)),
            sender_message_id: self.sender_message_id.as_deref().map(|m| r.token(m)),
            answering_message_id: self.answering_message_id.as_deref().map(|m| r.token(m)),
            sender_references: self.sender_references.iter().map(|m| r.token(m)).collect(),
            subject: String::new(),
            understanding: r.json(&self.understanding, reduce::UNDERSTANDING),
            identifiers: r.json(&self.identifiers, Keep::Nothing),
            linked_subject: self
                .linked_subject
                .as_ref()
                .map(|v| r.json(v, Keep::Nothing)),
            subject_match: self
                .subject_match
                .as_ref()
                .map(|v| r.json(v, Keep::Everything)),
            approval: self.approval.as_ref().map(|v| r.json(v, Keep::Everything)),
            verification: self.verification.as_deref().map(|v| r.method(v)),
            failure: self.failure.as_deref().map(|f| r.scrub(f)),
            outcome: self.outcome.as_deref().map(|o| r.scrub(o)),
        };
        if reduced.same_as(self) {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE requests SET sender = $2, verified_address = $3, sender_message_id = $4,
                    sender_references = $5, subject = $6, understanding = $7, identifiers = $8,
                    linked_subject = $9, subject_match = $10, approval = $11, verification = $12,
                    failure = $13, outcome = $14, answering_message_id = $15
             WHERE id = $1",
        )
        .bind(self.id)
        .bind(&reduced.sender)
        .bind(&reduced.verified_address)
        .bind(&reduced.sender_message_id)
        .bind(&reduced.sender_references)
        .bind(&reduced.subject)
        .bind(&reduced.understanding)
        .bind(&reduced.identifiers)
        .bind(&reduced.linked_subject)
        .bind(&reduced.subject_match)
        .bind(&reduced.approval)
        .bind(&reduced.verification)
        .bind(&reduced.failure)
        .bind(&reduced.outcome)
        .bind(&reduced.answering_message_id)
        .execute(conn)
        .await?;
        Ok(true)
    }

    fn same_as(&self, other: &Self) -> bool {
        self.sender == other.sender
            && self.verified_address == other.verified_address
            && self.sender_message_id == other.sender_message_id
            && self.answering_message_id == other.answering_message_id
            && self.sender_references == other.sender_references
            && self.subject == other.subject
            && self.understanding == other.understanding
            && self.identifiers == other.identifiers
            && self.linked_subject == other.linked_subject
            && self.subject_match == other.subject_match
            && self.approval == other.approval
            && self.verification == other.verification
            && self.failure == other.failure
            && self.outcome == other.outcome
    }
}

/// One stored message, not yet reduced.
struct Message {
    id: i64,
    raw: Vec<u8>,
    understanding: Option<Value>,
    failure: Option<String>,
}

impl Message {
    fn from_row(row: &sqlx::postgres::PgRow) -> anyhow::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            raw: row.try_get("raw")?,
            understanding: row.try_get("understanding")?,
            failure: row.try_get("failure")?,
        })
    }

    fn needles(&self) -> Vec<String> {
        let mut out = reduce::people_in_header(&self.raw);
        if let Some(u) = &self.understanding {
            identifiers_understood(u, &mut out);
        }
        out
    }

    /// Raw bytes dropped (sha256 and size stay), understanding reduced, failure scrubbed.
    async fn reduce(&self, conn: &mut PgConnection, r: &Reducer) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE inbound_messages SET raw = ''::bytea, understanding = $2, failure = $3,
                    purged_at = now()
             WHERE id = $1",
        )
        .bind(self.id)
        .bind(
            self.understanding
                .as_ref()
                .map(|u| r.json(u, reduce::UNDERSTANDING)),
        )
        .bind(self.failure.as_deref().map(|f| r.scrub(f)))
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The identifiers an understanding found (IINs, BINs, phones, rejected IINs).
fn identifiers_understood(understanding: &Value, out: &mut Vec<String>) {
    for field in ["iin", "bin", "phones", "invalid_iin"] {
        reduce::strings_in(&understanding[field], out);
    }
}
