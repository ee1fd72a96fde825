//! The daily e-mail digest to staff of requests close to or past their statutory deadline.
//!
//! Once per Almaty calendar day, after `console.digest_hour`, one worker claims the day in
//! `console_digests` (primary key: the date) and writes one e-mail per recipient to the outbox
//! (`digest:<day>:<recipient>`), so any number of workers send it once. The digest names
//! requests by reference, kind and deadline only — no subject's personal data.
//!
//! The same loop runs the [`super::alerts`] sweep, so staff hear of disputes and failures
//! within [`super::alerts::SWEEP_INTERVAL`].

use std::sync::Arc;

use chrono::{NaiveDate, Timelike, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::config::{CompanySettings, ConsoleSettings};
use crate::domain::Language;
use crate::outbound::outbox::{self, OutgoingEmail};
use crate::outbound::templates::Templates;
use crate::request::deadline::{almaty, Calendar};

#[derive(Debug, Clone, Serialize)]
pub struct DigestLine {
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub due: String,
    pub days_left: i64,
    pub overdue: bool,
}

pub struct Digest {
    pool: PgPool,
    templates: Arc<Templates>,
    company: CompanySettings,
    console: ConsoleSettings,
    calendar: Calendar,
    alerts: super::alerts::Alerts,
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestOutcome {
    NotYet,
    AlreadySent,
    Sent { requests: usize, recipients: usize },
}

impl Digest {
    pub fn new(
        pool: PgPool,
        templates: Arc<Templates>,
        company: CompanySettings,
        console: ConsoleSettings,
        calendar: Calendar,
    ) -> Self {
        let alerts = super::alerts::Alerts::new(
            pool.clone(),
            templates.clone(),
            company.clone(),
            console.clone(),
        );
        Self {
            pool,
            templates,
            company,
            console,
            calendar,
            alerts,
        }
    }

    /// The alerts swept by [`Digest::run`].
    pub fn alerts(&self) -> &super::alerts::Alerts {
        &self.alerts
    }

    /// The open requests within `console.digest_days_left` working days of their deadline.
    pub async fn lines(&self) -> sqlx::Result<Vec<DigestLine>> {
        let filter = super::QueueFilter {
            status: Some("all".into()),
            kind: None,
            limit: 1000,
        };
        let mut conn = self.pool.acquire().await?;
        let items = super::queue(&mut conn, &self.calendar, &filter).await?;
        Ok(items
            .into_iter()
            .filter(|i| !super::FINISHED.contains(&i.status.as_str()))
            .filter(|i| i.days_left <= self.console.digest_days_left || i.due_at < Utc::now())
            .map(|i| DigestLine {
                overdue: i.due_at < Utc::now(),
                due: i
                    .due_at
                    .with_timezone(&almaty())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                reference: i.reference,
                kind: i.kind,
                status: i.status,
                days_left: i.days_left,
            })
            .collect())
    }

    /// Sends today's digest if it is time and nobody has yet.
    pub async fn run_once(&self, now: chrono::DateTime<Utc>) -> anyhow::Result<DigestOutcome> {
        let local = now.with_timezone(&almaty());
        if local.hour() < self.console.digest_hour {
            return Ok(DigestOutcome::NotYet);
        }
        self.send_for(local.date_naive()).await
    }

    /// Claims `day` and enqueues its digest (nothing when no request is near its deadline).
    pub async fn send_for(&self, day: NaiveDate) -> anyhow::Result<DigestOutcome> {
        let sent: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM console_digests WHERE day = $1)")
                .bind(day)
                .fetch_one(&self.pool)
                .await?;
        if sent {
            return Ok(DigestOutcome::AlreadySent);
        }
        let lines = self.lines().await?;
        let recipients = if lines.is_empty() {
            0
        } else {
            self.console.digest_recipients.len()
        };
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO console_digests (day, requests, recipients) VALUES ($1, $2, $3)
             ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(lines.len() as i32)
        .bind(recipients as i32)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !claimed {
            return Ok(DigestOutcome::AlreadySent);
        }
        if recipients > 0 {
            let language: Language = self.console.digest_language.parse().unwrap_or(Language::Ru);
            let rendered = self.templates.render(
                "digest",
                language,
                serde_json::json!({
                    "day": day.to_string(),
                    "lines": lines,
                    "overdue": lines.iter().filter(|l| l.overdue).count(),
                    "company": self.company.name,
                }),
            )?;
            for to in &self.console.digest_recipients {
                let email = OutgoingEmail {
                    to: to.clone(),
                    subject: rendered.subject.clone(),
                    body: rendered.body.clone(),
                    message_id: format!(
                        "digest-{day}-{}@{}",
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
                    &format!("digest:{day}:{}", to.to_lowercase()),
                    None,
                    &email,
                    None,
                )
                .await?;
            }
        }
        tx.commit().await?;
        tracing::info!(%day, requests = lines.len(), recipients, "digest: deadlines digest queued");
        Ok(DigestOutcome::Sent {
            requests: lines.len(),
            recipients,
        })
    }

    /// Sweeps alerts and checks the digest every [`super::alerts::SWEEP_INTERVAL`] until
    /// `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.console.digest_recipients.is_empty() {
            return;
        }
        loop {
            if let Err(e) = self.alerts.sweep().await {
                tracing::warn!("alerts: {e:#}");
            }
            if let Err(e) = self.run_once(Utc::now()).await {
                tracing::warn!("digest: {e:#}");
            }
            tokio::select! {
                _ = tokio::time::sleep(super::alerts::SWEEP_INTERVAL) => {},
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
