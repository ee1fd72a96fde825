//! Templated answers to a request's sender, written to the outbox inside the caller's
//! transaction, threaded to the subject's message, once per purpose (`dedupe` key).

use std::sync::Arc;

use serde_json::{json, Value};
use sqlx::{PgConnection, Row};

use crate::config::CompanySettings;
use crate::domain::Language;
use crate::outbound::outbox::{self, Attachment, OutgoingEmail};
use crate::outbound::templates::Templates;

/// The parts of a request every step needs.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub language: Language,
    pub review: bool,
    pub status: String,
    pub sender: String,
    pub sender_message_id: Option<String>,
    pub sender_references: Vec<String>,
    pub understanding: Value,
    pub inbound_message_id: i64,
    pub verified: bool,
    pub approved: bool,
    /// Identifiers staff linked the request to (replace the sender's own when looking up).
    pub linked_subject: Option<Value>,
}

impl RequestRow {
    /// Loads and locks a request; `None` if it does not exist. `FOR NO KEY UPDATE` does not
    /// conflict with the key-share locks that inserts referencing the request take, so two
    /// store tasks of one request finishing together queue up instead of deadlocking.
    pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Self>> {
        let Some(row) = sqlx::query(
            "SELECT id, reference, kind, language, review, status, sender, sender_message_id,
                    sender_references, understanding, inbound_message_id,
                    verified_at IS NOT NULL AS verified,
approved_by IS NOT NULL AS approved,
                    linked_subject
             FROM requests WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(conn)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            id: row.try_get("id")?,
            reference: row.try_get("reference")?,
            kind: row.try_get("kind")?,
            language: row
                .try_get::<String, _>("language")?
                .parse()
                .unwrap_or(Language::Kk),
            review: row.try_get("review")?,
            status: row.try_get("status")?,
            sender: row.try_get("sender")?,
            sender_message_id: row.try_get("sender_message_id")?,
            sender_references: row.try_get("sender_references")?,
            understanding: row.try_get("understanding")?,
            inbound_message_id: row.try_get("inbound_message_id")?,
            verified: row.try_get("verified")?,
            approved: row.try_get("approved")?,
            linked_subject: row.try_get("linked_subject")?,
        }))
    }

    /// Who to look for in the stores: the identifiers staff linked, or the sender's address with
    /// the IINs and phones they gave.
    pub fn subject_ids(&self) -> crate::stores::SubjectIds {
        if let Some(linked) = self
            .linked_subject
            .as_ref()
            .and_then(|v| serde_json::from_value::<crate::stores::SubjectIds>(v.clone()).ok())
        {
            return linked;
        }
        crate::stores::SubjectIds {
            emails: vec![self.sender.clone()],
            iins: self.understood("iin"),
            phones: self.understood("phones"),
        }
    }

    /// Strings of an understanding field (`iin`, `phones`, ...).
    pub fn understood(&self, field: &str) -> Vec<String> {
        self.understanding
            .get(field)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Appends an event to the request's timeline.
pub async fn event(
    conn: &mut PgConnection,
    request_id: i64,
    event: &str,
    detail: Value,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO request_events (request_id, event, detail) VALUES ($1, $2, $3)")
        .bind(request_id)
        .bind(event)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Clone)]
pub struct Replier {
    templates: Arc<Templates>,
    company: CompanySettings,
}

impl Replier {
    pub fn new(templates: Arc<Templates>, company: CompanySettings) -> Self {
        Self { templates, company }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Context every template gets, merged under `extra`.
    pub fn context(&self, request: &RequestRow, extra: Value) -> Value {
        let mut base = json!({
            "reference": request.reference,
            "kind": request.kind,
            "company": self.company.name,
            "company_mailbox": self.company.mailbox,
        });
        if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
            base.extend(extra);
        }
        base
    }

    /// Renders `template` in the request's language into an e-mail threaded to the sender's
    /// message; its Message-ID is derived from `dedupe`, so distinct e-mails never share one.
    pub fn compose(
        &self,
        request: &RequestRow,
        template: &str,
        dedupe: &str,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<OutgoingEmail> {
        let rendered =
            self.templates
                .render(template, request.language, self.context(request, extra))?;
        Ok(self.email(
            request,
            &dedupe.replace(':', "-"),
            rendered.subject,
            rendered.body,
            attachments,
        ))
    }

    /// [`Replier::compose`] and enqueue; `false` if this `dedupe` key was sent before.
    pub async fn send(
        &self,
        conn: &mut PgConnection,
        request: &RequestRow,
        template: &str,
        dedupe: &str,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<bool> {
        let email = self.compose(request, template, dedupe, extra, attachments)?;
        Ok(outbox::enqueue_email(conn, dedupe, Some(request.id), &email, None).await?)
    }

    /// An e-mail to the request's sender, threaded to their message.
    pub fn email(
        &self,
        request: &RequestRow,
        purpose: &str,
        subject: String,
        body: String,
        attachments: Vec<Attachment>,
    ) -> OutgoingEmail {
        let mut references = request.sender_references.clone();
        if let Some(parent) = &request.sender_message_id {
            if !references.contains(parent) {
                references.push(parent.clone());
            }
        }
        OutgoingEmail {
            to: request.sender.clone(),
            subject,
            body,
            message_id: format!(
                "{}.{}@{}",
                request.reference.to_ascii_lowercase(),
                purpose.replace('_', "-"),
                self.company.message_id_domain
            ),
            in_reply_to: request.sender_message_id.clone(),
            references,
            language: request.language.reply_language().as_str().to_owned(),
            auto_replied: true,
            attachments,
        }
    }
}
