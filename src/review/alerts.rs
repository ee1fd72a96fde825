//! Telling staff at once when something needs them: a request the person disputes, a request
//! whose processing failed for good, a stored message triage gave up on, an e-mail that could
//! not be sent.
//!
//! A sweep (every [`SWEEP_INTERVAL`], next to the digest, by every worker that serves the
//! console) finds such events of the last [`LOOKBACK_DAYS`] days, claims each in `staff_alerts`
//! (primary key: `request:<event id>`, `inbound:<message id>` or `email:<outbox id>`) and, in
//! the same transaction, writes one e-mail per `console.digest_recipients` address to the
//! outbox (`alert:<key>:<recipient>`). So an event is announced once, whatever the number of
//! workers; a dispute after a retry is a new event and is announced again. An alert names the
//! request by reference and status and carries the reason with addresses and long numbers
//! masked, and a console link: no personal data.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use regex::Regex;
use serde_json::json;
use sqlx::{PgPool, Row};

use super::mask;
use crate::config::{CompanySettings, ConsoleSettings};
use crate::domain::Language;
use crate::outbound::outbox::{self, OutgoingEmail};
use crate::outbound::templates::Templates;
use crate::redact;

/// How often the sweep looks for new events.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(15);

/// Older events are not announced (e.g. when recipients are configured for the first time).
pub const LOOKBACK_DAYS: i32 = 7;

/// At most this many alerts per sweep (the rest wait for the next one).
const BATCH: i64 = 100;

/// Longest reason an alert carries.
const MAX_REASON_CHARS: usize = 300;

/// One thing to tell staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The claim key in `staff_alerts`.
    pub key: String,
    /// `disputed`, `failed`, `inbound_failed` or `email_failed`.
    pub what: &'static str,
    pub request_id: Option<i64>,
    pub reference: Option<String>,
    pub status: Option<String>,
    /// The stored message, for `inbound_failed`.
    pub message_id: Option<i64>,
    /// Already scrubbed of personal data.
    pub reason: String,
}

#[derive(Clone)]
pub struct Alerts {
    pool: PgPool,
    templates: Arc<Templates>,
    company: CompanySettings,
    console: ConsoleSettings,
}

impl Alerts {
    pub fn new(
        pool: PgPool,
        templates: Arc<Templates>,
        company: CompanySettings,
        console: ConsoleSettings,
    ) -> Self {
        Self {
            pool,
            templates,
            company,
            console,
        }
    }

    /// Events not yet announced, oldest first.
    pub async fn pending(&self) -> sqlx::Result<Vec<Alert>> {
        let mut out = vec![];
        let rows = sqlx::query(
            "SELECT e.id, e.request_id, e.detail ->> 'to' AS status, r.reference, r.failure
             FROM request_events e JOIN requests r ON r.id = e.request_id
             WHERE e.detail ->> 'to' IN ('disputed', 'failed')
               AND e.at > now() - make_interval(days => $1)
               AND NOT EXISTS (SELECT 1 FROM staff_alerts a WHERE a.key = 'request:' || e.id)
             ORDER BY e.id LIMIT $2",
        )
        .bind(LOOKBACK_DAYS)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let status: String = r.try_get("status")?;
            let what = if status == "disputed" {
                "disputed"
            } else {
                "failed"
            };
            let failure: Option<String> = r.try_get("failure")?;
            out.push(Alert {
                key: format!("request:{}", r.try_get::<i64, _>("id")?),
                what,
                request_id: Some(r.try_get("request_id")?),
                reference: Some(r.try_get("reference")?),
                status: Some(status),
                message_id: None,
                reason: if what == "failed" {
                    scrub(failure.as_deref().unwrap_or(""))
                } else {
                    String::new()
                },
            });
        }
        let rows = sqlx::query(
            "SELECT m.id, m.request_id, r.reference, r.status, m.failure
             FROM inbound_messages m LEFT JOIN requests r ON r.id = m.request_id
             WHERE m.status = 'failed'
               AND coalesce(m.processed_at, m.received_at) > now() - make_interval(days => $1)
               AND NOT EXISTS (SELECT 1 FROM staff_alerts a WHERE a.key = 'inbound:' || m.id)
             ORDER BY m.id LIMIT $2",
        )
        .bind(LOOKBACK_DAYS)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            out.push(Alert {
                key: format!("inbound:{id}"),
                what: "inbound_failed",
                request_id: r.try_get("request_id")?,
                reference: r.try_get("reference")?,
                status: r.try_get("status")?,
                message_id: Some(id),
                reason: scrub(
                    r.try_get::<Option<String>, _>("failure")?
                        .as_deref()
                        .unwrap_or(""),
                ),
            });
        }
        // E-mails to staff themselves are left out: an alert about an alert that cannot be
        // sent would only pile up.
        let rows = sqlx::query(
            "SELECT o.id, o.request_id, r.reference, r.status, o.last_error,
                    split_part(o.dedupe_key, ':', 1) AS purpose
             FROM outbox o LEFT JOIN requests r ON r.id = o.request_id
             WHERE o.channel = 'email' AND o.status = 'failed'
               AND o.dedupe_key NOT LIKE 'alert:%' AND o.dedupe_key NOT LIKE 'digest:%'
               AND o.created_at > now() - make_interval(days => $1)
               AND NOT EXISTS (SELECT 1 FROM staff_alerts a WHERE a.key = 'email:' || o.id)
             ORDER BY o.id LIMIT $2",
        )
        .bind(LOOKBACK_DAYS)
        .bind(BATCH)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let purpose: String = r.try_get("purpose")?;
            let error: Option<String> = r.try_get("last_error")?;
            out.push(Alert {
                key: format!("email:{}", r.try_get::<i64, _>("id")?),
                what: "email_failed",
                request_id: r.try_get("request_id")?,
                reference: r.try_get("reference")?,
                status: r.try_get("status")?,
                message_id: None,
                reason: scrub(&format!("{purpose}: {}", error.as_deref().unwrap_or(""))),
            });
        }
        Ok(out)
    }

    /// Announces every pending event once; returns how many were announced now.
    pub async fn sweep(&self) -> anyhow::Result<usize> {
        if self.console.digest_recipients.is_empty() {
            return Ok(0);
        }
        let mut announced = 0;
        for alert in self.pending().await? {
            if self.announce(&alert).await? {
                announced += 1;
            }
        }
        if announced > 0 {
            tracing::info!(alerts = announced, "alerts: staff told");
        }
        Ok(announced)
    }

    /// Claims `alert` and queues its e-mails, in one transaction; `false` if another worker
    /// announced it first.
    pub async fn announce(&self, alert: &Alert) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO staff_alerts (key, request_id, what, recipients) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&alert.key)
        .bind(alert.request_id)
        .bind(alert.what)
        .bind(self.console.digest_recipients.len() as i32)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            return Ok(false);
        }
        let base = self.console.base_url();
        let link = match (alert.what, alert.request_id) {
            ("inbound_failed", _) => format!("{base}/failures/inbound"),
            (_, Some(id)) => format!("{base}/requests/{id}"),
            (_, None) => format!("{base}/failures/emails"),
        };
        let language: Language = self.console.digest_language.parse().unwrap_or(Language::Ru);
        let rendered = self.templates.render(
            "alert",
            language,
            json!({
                "what": alert.what,
                "reference": alert.reference.clone().unwrap_or_default(),
                "status": alert.status.clone().unwrap_or_default(),
                "message_id": alert.message_id.unwrap_or_default(),
                "reason": alert.reason,
                "link": link,
                "company": self.company.name,
            }),
        )?;
        for to in &self.console.digest_recipients {
            let to_key = to.to_lowercase();
            let email = OutgoingEmail {
                to: to.clone(),
                subject: rendered.subject.clone(),
                body: rendered.body.clone(),
                message_id: format!(
                    "alert-{}-{}@{}",
                    alert.key.replace(':', "-"),
                    super::auth::random_token()[..12].to_ascii_lowercase(),
                    self.company.message_id_domain
                ),
                in_reply_to: None,
                references: vec![],
                language: language.reply_language().as_str().to_owned(),
                auto_replied: false,
                attachments: vec![],
            };
            outbox::enqueue_email(
                &mut tx,
                &format!("alert:{}:{to_key}", alert.key),
                None,
                &email,
                None,
            )
            .await?;
        }
        if let Some(request_id) = alert.request_id {
            crate::request::lifecycle::event(
                &mut tx,
                request_id,
                "staff_alerted",
                json!({ "what": alert.what, "key": alert.key,
                        "recipients": self.console.digest_recipients.len() }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// A reason fit for an e-mail to staff: addresses and long numbers (IINs, phones) masked,
/// codes masked, one line, at most [`MAX_REASON_CHARS`] characters.
pub fn scrub(reason: &str) -> String {
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    static NUMBER: OnceLock<Regex> = OnceLock::new();
    let email = EMAIL.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+").expect("valid regex")
    });
    let number = NUMBER.get_or_init(|| Regex::new(r"\+?\d[\d \-()]{8,}\d").expect("valid regex"));
    let text = reason.replace(['\r', '\n', '\t'], " ");
    let text = email.replace_all(&text, |c: &regex::Captures<'_>| redact::email(&c[0]));
    let text = number.replace_all(&text, |c: &regex::Captures<'_>| {
        if c[0].chars().filter(char::is_ascii_digit).count() >= 10 {
            redact::digits(&c[0])
        } else {
            c[0].to_owned()
        }
    });
    let text = mask::codes(&text);
    let mut out: String = text.trim().chars().take(MAX_REASON_CHARS).collect();
    if text.trim().chars().count() > MAX_REASON_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_lose_their_personal_data() {
        let s = scrub(
            "store crm: duplicate key (email)=(aigerim.n@mail.kz), iin 870221304582,\nphone +7 701 555 80 23, code ABCD-EFGH; 3 attempts",
        );
        for clear in ["aigerim", "870221304582", "555 80 23", "ABCD-EFGH", "\n"] {
            assert!(!s.contains(clear), "{clear} in {s}");
        }
        assert!(s.contains("store crm") && s.contains("3 attempts"), "{s}");
        assert!(s.contains("**********82"), "{s}");
        let long = scrub(&"x".repeat(1000));
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 1);
    }
}
