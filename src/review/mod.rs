//! The staff review console: what staff see of requests, and what they decide.
//!
//! - [`auth`] — staff accounts (argon2id), sign-in with lockout, sessions, CSRF tokens.
//! - [`audit`] — the append-only, hash-chained audit log and its verification.
//! - [`decisions`] — approve / reject / close / ask / retry, one transaction each.
//! - [`subject_match`] — the store match of a request, as staff read it before approving.
//! - [`mask`] — one-time codes and linked identifiers are never shown or audited in clear.
//! - [`digest`] — the daily e-mail to staff of requests close to or past their deadline.
//! - [`alerts`] — an e-mail to staff as soon as a request is disputed or something fails.
//! - [`web`] — the console (axum, server-rendered HTML, no JavaScript).
//!
//! The same views and decisions from the command line are `dsr-worker review ...`
//! (`src/cli/review.rs`).
//!
//! Everything here reads the pipeline's tables (`requests`, `inbound_messages`,
//! `request_events`, `outbox`, `store_tasks`); it writes them only through [`decisions`]
//! (and [`alerts`], which adds e-mails to staff and a timeline event).

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod decisions;
pub mod digest;
pub mod mask;
pub mod message;
pub mod subject_match;
pub mod web;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, Row};

use crate::domain::RequestStatus;
use crate::request::deadline::Calendar;

/// Statuses after which a request needs nothing more.
pub const FINISHED: &[&str] = &["completed", "rejected", "closed"];

/// Every status the pipeline and the console use, for filters (the lifecycle's own list).
pub const STATUSES: [&str; 13] = {
    let all = RequestStatus::ALL;
    let mut names = [""; 13];
    let mut i = 0;
    while i < all.len() {
        names[i] = all[i].as_str();
        i += 1;
    }
    names
};

/// One row of the queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub language: String,
    pub status: String,
    pub review: bool,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Working days left (negative when overdue).
    pub days_left: i64,
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `None`: what needs attention (flagged, or waiting for staff); `Some("all")`: everything.
    pub status: Option<String>,
    pub kind: Option<String>,
    pub limit: i64,
}

/// Requests ordered by statutory deadline, soonest first.
pub async fn queue(
    conn: &mut PgConnection,
    calendar: &Calendar,
    filter: &QueueFilter,
) -> sqlx::Result<Vec<QueueItem>> {
    let rows = sqlx::query(
        "SELECT id, reference, kind, language, status, review, subject, created_at, due_at
         FROM requests
         WHERE CASE
                 WHEN $1::text IS NULL THEN
                   status NOT IN ('completed', 'rejected', 'closed')
                   AND (review OR status IN ('needs_review', 'awaiting_information', 'disputed', 'failed'))
                 WHEN $1 = 'all' THEN true
                 ELSE status = $1
               END
           AND ($2::text IS NULL OR kind = $2)
         ORDER BY due_at, id
         LIMIT $3",
    )
    .bind(filter.status.as_deref())
    .bind(filter.kind.as_deref())
    .bind(if filter.limit > 0 { filter.limit } else { 500 })
    .fetch_all(conn)
    .await?;
    let now = Utc::now();
    rows.into_iter()
        .map(|r| {
            let due_at: DateTime<Utc> = r.try_get("due_at")?;
            Ok(QueueItem {
                id: r.try_get("id")?,
                reference: r.try_get("reference")?,
                kind: r.try_get("kind")?,
                language: r.try_get("language")?,
                status: r.try_get("status")?,
                review: r.try_get("review")?,
                // The subject line as received: a reply may quote a code.
                subject: mask::codes(&r.try_get::<String, _>("subject")?).into_owned(),
                created_at: r.try_get("created_at")?,
                due_at,
                days_left: calendar.working_days_left(now, due_at),
            })
        })
        .collect()
}

/// The dashboard's counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Dashboard {
    /// Requests created since midnight, Almaty time.
    pub received_today: i64,
    /// Open requests running without staff (not flagged).
    pub automated: i64,
    /// Open requests flagged for, or waiting on, staff.
    pub flagged: i64,
    /// Open requests past their deadline.
    pub overdue: i64,
    /// Open requests the person disputes.
    pub disputed: i64,
    /// Stored messages triage gave up on (no request could be made of them).
    pub failed_inbound: i64,
    /// Requests whose processing failed for good.
    pub failed_requests: i64,
    /// Store tasks that failed.
    pub failed_store_tasks: i64,
    /// E-mails that could not be sent.
    pub failed_emails: i64,
}

pub async fn dashboard(conn: &mut PgConnection) -> sqlx::Result<Dashboard> {
    let midnight = {
        let local = Utc::now().with_timezone(&crate::request::deadline::almaty());
        let start = local.date_naive().and_hms_opt(0, 0, 0).expect("midnight");
        start
            .and_local_timezone(crate::request::deadline::almaty())
            .single()
            .expect("fixed offset")
            .with_timezone(&Utc)
    };
    let row = sqlx::query(
        "SELECT
           count(*) FILTER (WHERE created_at >= $1) AS received_today,
           count(*) FILTER (WHERE status NOT IN ('completed', 'rejected', 'closed') AND NOT review
                              AND status NOT IN ('needs_review', 'awaiting_information', 'disputed', 'failed')) AS automated,
           count(*) FILTER (WHERE status NOT IN ('completed', 'rejected', 'closed')
                              AND (review OR status IN ('needs_review', 'awaiting_information', 'disputed', 'failed'))) AS flagged,
           count(*) FILTER (WHERE status NOT IN ('completed', 'rejected', 'closed') AND due_at < now()) AS overdue,
           count(*) FILTER (WHERE status = 'disputed') AS disputed,
           count(*) FILTER (WHERE status = 'failed') AS failed_requests
         FROM requests",
    )
    .bind(midnight)
    .fetch_one(&mut *conn)
    .await?;
    let other = sqlx::query(
        "SELECT
           (SELECT count(*) FROM inbound_messages WHERE status = 'failed') AS failed_inbound,
           (SELECT count(*) FROM store_tasks WHERE status = 'failed') AS failed_store_tasks,
           (SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'failed') AS failed_emails",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Dashboard {
        received_today: row.try_get("received_today")?,
        automated: row.try_get("automated")?,
        flagged: row.try_get("flagged")?,
        overdue: row.try_get("overdue")?,
        disputed: row.try_get("disputed")?,
        failed_inbound: other.try_get("failed_inbound")?,
        failed_requests: row.try_get("failed_requests")?,
        failed_store_tasks: other.try_get("failed_store_tasks")?,
        failed_emails: other.try_get("failed_emails")?,
    })
}

/// The stages whose failed items the dashboard lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Stored messages triage gave up on.
    Inbound,
    /// Store tasks that failed.
    StoreTasks,
    /// E-mails that could not be sent.
    Emails,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Stage> {
        match s {
            "inbound" => Some(Stage::Inbound),
            "tasks" => Some(Stage::StoreTasks),
            "emails" => Some(Stage::Emails),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Inbound => "inbound",
            Stage::StoreTasks => "tasks",
            Stage::Emails => "emails",
        }
    }
}

/// One failed item of a stage.
#[derive(Debug, Clone, Serialize)]
pub struct FailedItem {
    /// The message, task or outbox row.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub request_id: Option<i64>,
    pub reference: Option<String>,
    /// The store of a task, the purpose of an e-mail (`ack`, `confirm`, ...).
    pub what: String,
    pub attempts: i32,
    pub error: String,
}

/// The failed items of `stage`, newest first.
pub async fn failed(
    conn: &mut PgConnection,
    stage: Stage,
    limit: i64,
) -> sqlx::Result<Vec<FailedItem>> {
    let sql = match stage {
        Stage::Inbound => {
            "SELECT m.id, coalesce(m.processed_at, m.received_at) AS at, m.request_id, r.reference,
                    '' AS what, m.attempts, coalesce(m.failure, '') AS error
             FROM inbound_messages m LEFT JOIN requests r ON r.id = m.request_id
             WHERE m.status = 'failed' ORDER BY m.id DESC LIMIT $1"
        }
        Stage::StoreTasks => {
            "SELECT t.id, t.updated_at AS at, t.request_id, r.reference, t.store AS what,
                    t.attempts, coalesce(t.last_error, '') AS error
             FROM store_tasks t JOIN requests r ON r.id = t.request_id
             WHERE t.status = 'failed' ORDER BY t.id DESC LIMIT $1"
        }
        Stage::Emails => {
            "SELECT o.id, o.created_at AS at, o.request_id, r.reference,
                    split_part(o.dedupe_key, ':', 1) AS what, o.attempts,
                    coalesce(o.last_error, '') AS error
             FROM outbox o LEFT JOIN requests r ON r.id = o.request_id
             WHERE o.channel = 'email' AND o.status = 'failed' ORDER BY o.id DESC LIMIT $1"
        }
    };
    sqlx::query(sql)
        .bind(limit)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| {
            Ok(FailedItem {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                request_id: r.try_get("request_id")?,
                reference: r.try_get("reference")?,
                what: r.try_get("what")?,
                attempts: r.try_get("attempts")?,
                error: mask::codes(&r.try_get::<String, _>("error")?).into_owned(),
            })
        })
        .collect()
}

/// The raw bytes of a stored message that triage gave up on (for staff to read by hand).
pub async fn failed_inbound_raw(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT raw FROM inbound_messages WHERE id = $1 AND status = 'failed'")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A request's work in one data store (issue 4). Filled by [`store_tasks`].
#[derive(Debug, Clone, Serialize)]
pub struct StoreTaskView {
    pub id: i64,
    pub store: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// What the worker plans to do in this store (block, delete, anonymise, retain...).
    pub plan: serde_json::Value,
    /// The subjects matched in this store.
    pub matched_subjects: Vec<String>,
}

/// The store tasks of a request, with what was matched in each store (rows per table).
pub async fn store_tasks(
    conn: &mut PgConnection,
    request_id: i64,
    matched: &subject_match::MatchView,
) -> sqlx::Result<Vec<StoreTaskView>> {
    let rows = sqlx::query(
        "SELECT id, store, status, attempts, last_error, plan, receipt
         FROM store_tasks WHERE request_id = $1 ORDER BY store",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = vec![];
    for row in rows {
        let store: String = row.try_get("store")?;
        let mut plan: serde_json::Value = row.try_get("plan")?;
        if let Some(receipt) = row.try_get::<Option<serde_json::Value>, _>("receipt")? {
            plan["receipt"] = receipt;
        }
        out.push(StoreTaskView {
            id: row.try_get("id")?,
            matched_subjects: matched.summary_of(&store),
            store,
            status: row.try_get("status")?,
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            plan,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: DateTime<Utc>,
    pub event: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmailView {
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub status: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub last_error: Option<String>,
}

/// Everything the request page shows.
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    pub item: QueueItem,
    pub sender: String,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub understanding: serde_json::Value,
    pub inbound_id: i64,
    pub received_at: DateTime<Utc>,
    pub message: message::MessageView,
    pub events: Vec<EventView>,
    pub emails: Vec<EmailView>,
    pub audit: Vec<audit::AuditEntry>,
    pub store_tasks: Vec<StoreTaskView>,
    /// What the stores hold of the subject (before anyone approves).
    pub subject_match: subject_match::MatchView,
    /// Staff linked the request to a subject (the match may predate the link).
    pub linked: bool,
    /// What staff approved, on which facts (`requests.approval`).
    pub approval: Option<serde_json::Value>,
    /// Why processing failed for good (status `failed`).
    pub failure: Option<String>,
}

/// Finds a request by numeric id or reference (`DSR-2026-000123`).
pub async fn resolve(conn: &mut PgConnection, key: &str) -> sqlx::Result<Option<i64>> {
    let key = key.trim();
    if let Ok(id) = key.parse::<i64>() {
        return sqlx::query_scalar("SELECT id FROM requests WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await;
    }
    sqlx::query_scalar("SELECT id FROM requests WHERE upper(reference) = upper($1)")
        .bind(key)
        .fetch_optional(conn)
        .await
}

pub async fn request_detail(
    conn: &mut PgConnection,
    calendar: &Calendar,
    id: i64,
) -> sqlx::Result<Option<RequestDetail>> {
    let Some(r) = sqlx::query(
        "SELECT r.id, r.reference, r.kind, r.language, r.status, r.review, r.subject, r.created_at,
                r.due_at, r.sender, r.acknowledged_at, r.understanding, m.id AS inbound_id,
                m.received_at, m.raw, m.purged_at, r.subject_match,
                r.linked_subject IS NOT NULL AS linked, r.approval, r.failure
         FROM requests r JOIN inbound_messages m ON m.id = r.inbound_message_id
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let due_at: DateTime<Utc> = r.try_get("due_at")?;
    let raw: Vec<u8> = r.try_get("raw")?;
    let mut item = QueueItem {
        id,
        reference: r.try_get("reference")?,
        kind: r.try_get("kind")?,
        language: r.try_get("language")?,
        status: r.try_get("status")?,
        review: r.try_get("review")?,
        subject: r.try_get("subject")?,
        created_at: r.try_get("created_at")?,
        due_at,
        days_left: calendar.working_days_left(Utc::now(), due_at),
    };
    let events = sqlx::query(
        "SELECT at, event, detail FROM request_events WHERE request_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|e| {
        Ok(EventView {
            at: e.try_get("at")?,
            event: e.try_get("event")?,
            detail: e.try_get("detail")?,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    // The codes this request was sent: masked in anything the subject wrote back.
    let sent_codes: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT code_hash FROM verifications WHERE request_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    item.subject = mask::sent_codes(&item.subject, &sent_codes).into_owned();
    let emails = sqlx::query(
        "SELECT created_at, sent_at, status, dedupe_key, payload, last_error FROM outbox
         WHERE request_id = $1 AND channel = 'email' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|e| {
        let payload: serde_json::Value = e.try_get("payload")?;
        let key: String = e.try_get("dedupe_key")?;
        Ok(EmailView {
            created_at: e.try_get("created_at")?,
            sent_at: e.try_get("sent_at")?,
            status: e.try_get("status")?,
            kind: key.split(':').next().unwrap_or_default().to_owned(),
            subject: mask::codes(payload["subject"].as_str().unwrap_or_default()).into_owned(),
            body: mask::codes(payload["body"].as_str().unwrap_or_default()).into_owned(),
            last_error: e.try_get("last_error")?,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    let mut audit = audit::for_request(&mut *conn, id).await?;
    for entry in &mut audit {
        mask::codes_in_json(&mut entry.before);
        mask::codes_in_json(&mut entry.after);
    }
    let events = events
        .into_iter()
        .map(|mut e| {
            mask::codes_in_json(&mut e.detail);
            e
        })
        .collect();
    let matched = subject_match::MatchView::parse(
        r.try_get::<Option<serde_json::Value>, _>("subject_match")?
            .as_ref(),
    );
    let store_tasks = store_tasks(&mut *conn, id, &matched).await?;
    let mut message = match r.try_get("purged_at")? {
        Some(at) => message::MessageView::purged(at),
        None => message::MessageView::parse(&raw),
    };
    message.mask_codes(&sent_codes);
    Ok(Some(RequestDetail {
        item,
        sender: r.try_get("sender")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        understanding: r.try_get("understanding")?,
        inbound_id: r.try_get("inbound_id")?,
        received_at: r.try_get("received_at")?,
        message,
        events,
        emails,
        audit,
        store_tasks,
        subject_match: matched,
        linked: r.try_get("linked")?,
        approval: r.try_get("approval")?,
        failure: r.try_get("failure")?,
    }))
}

/// The raw bytes of the message behind a request.
pub async fn raw_message(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "SELECT m.raw FROM requests r JOIN inbound_messages m ON m.id = r.inbound_message_id
         WHERE r.id = $1",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

#[cfg(test)]
mod tests {
    use crate::domain::Language;
    use crate::outbound::templates::Templates;

    #[test]
    fn console_templates_render_in_every_language() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = Templates::load(&dir).unwrap();
        let base = serde_json::json!({
            "reference": "DSR-2026-000123", "kind": "erasure", "original_subject": "x",
            "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
            "reason": "REASON-TEXT", "question": "QUESTION-TEXT",
            "day": "2026-11-24", "overdue": 1,
            "lines": [{"reference": "DSR-2026-000123", "kind": "erasure", "status": "needs_review",
                       "due": "2026-11-25 23:59", "days_left": -1, "overdue": true}],
        });
        for lang in [Language::Kk, Language::Ru, Language::En, Language::Mixed] {
            let r = t.render("rejection", lang, &base).unwrap();
            assert!(r.subject.contains("DSR-2026-000123") && r.body.contains("REASON-TEXT"));
            let r = t.render("more_information", lang, &base).unwrap();
            assert!(r.subject.contains("DSR-2026-000123") && r.body.contains("QUESTION-TEXT"));
            let r = t.render("digest", lang, &base).unwrap();
            assert!(r.subject.contains("2026-11-24") && r.body.contains("DSR-2026-000123"));
            for what in ["disputed", "failed", "inbound_failed", "email_failed"] {
                let alert = serde_json::json!({
                    "what": what, "reference": if what == "inbound_failed" { "" } else { "DSR-2026-000123" },
                    "status": "failed", "message_id": 7, "reason": "REASON-TEXT",
                    "link": "https://dsr.nlg.kz/requests/123", "company": "NLG.KZ LLP",
                });
                let r = t.render("alert", lang, &alert).unwrap();
                assert!(
                    r.body.contains("https://dsr.nlg.kz/requests/123"),
                    "{what}: {}",
                    r.body
                );
                assert!(r.body.contains("REASON-TEXT"), "{what}");
                assert!(!r.subject.contains("{{"), "{what}: {}", r.subject);
                if what == "inbound_failed" {
                    assert!(
                        r.body.contains('7') && !r.subject.contains("DSR-"),
                        "{}",
                        r.subject
                    );
                } else {
                    assert!(r.subject.contains("DSR-2026-000123"), "{}", r.subject);
                }
            }
        }
    }
}
