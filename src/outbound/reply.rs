//! Templated answers about a request, written to the outbox inside the caller's transaction,
//! once per purpose (`dedupe` key), within the per-recipient limit on automatic mail.
//!
//! Who an answer goes to is part of the binding rule: anything that shows the subject's data or
//! says what was done with it goes to the *verified* address only ([`To::Verified`]); the
//! sender's own address gets acknowledgements, code requests and answers that reveal nothing
//! about records it has not proven ([`To::Sender`]).

use std::sync::Arc;

use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::config::company::CompanySettings;
use crate::monitoring::metrics::{Metrics, Suppressed};
use crate::outbound::dedupe::DedupeKey;
use crate::outbound::outbox::{self, Attachment, OutgoingEmail, Queued, Urgency};
use crate::outbound::templates::Templates;
use crate::request::RequestRow;

/// Who an answer goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// The `From:` of the request, threaded to it.
    Sender,
    /// The verified address (the sender's, or the contact on file that confirmed).
    Verified,
    /// Another address: the contact on file we ask to confirm (a new thread).
    OnFile(String),
}

#[derive(Clone)]
pub struct Replier {
    templates: Arc<Templates>,
    company: CompanySettings,
    /// Automatic e-mails per recipient per hour (every purpose, every request).
    per_recipient_per_hour: i64,
    metrics: Metrics,
}

impl Replier {
    pub fn new(templates: Arc<Templates>, company: CompanySettings) -> Self {
        Self {
            templates,
            company,
            per_recipient_per_hour: i64::MAX,
            metrics: Metrics::default(),
        }
    }

    /// Counts suppressed e-mails in the worker's metrics.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Caps automatic e-mails to any one address (`worker.replies_per_sender_per_hour`).
    pub fn with_limit(mut self, per_recipient_per_hour: i64) -> Self {
        self.per_recipient_per_hour = per_recipient_per_hour;
        self
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    pub fn company(&self) -> &CompanySettings {
        &self.company
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

    /// Renders `template` in the request's language into an e-mail to the sender, threaded to
    /// their message; its Message-ID is derived from `dedupe`, so distinct e-mails never share one.
    pub fn compose(
        &self,
        request: &RequestRow,
        template: &str,
        dedupe: &DedupeKey,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<OutgoingEmail> {
        self.compose_to(request, &To::Sender, template, dedupe, extra, attachments)
    }

    pub fn compose_to(
        &self,
        request: &RequestRow,
        to: &To,
        template: &str,
        dedupe: &DedupeKey,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<OutgoingEmail> {
        let rendered =
            self.templates
                .render(template, request.language, self.context(request, extra))?;
        Ok(self.email_to(
            request,
            to,
            &dedupe.message_id_part(),
            rendered.subject,
            rendered.body,
            attachments,
        ))
    }

    /// [`Replier::send_to`] the sender, as an ordinary automatic answer.
    pub async fn send(
        &self,
        conn: &mut PgConnection,
        request: &RequestRow,
        template: &str,
        dedupe: &DedupeKey,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<Queued> {
        self.send_to(
            conn,
            request,
            &To::Sender,
            Urgency::Ordinary,
            template,
            dedupe,
            extra,
            attachments,
        )
        .await
    }

    /// Composes and enqueues an automatic answer; `false` if this `dedupe` key was sent
    /// before. Over the per-recipient limit an ordinary answer is suppressed (recorded, not
    /// sent) and the result of a verified request waits for the window to free.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_to(
        &self,
        conn: &mut PgConnection,
        request: &RequestRow,
        to: &To,
        urgency: Urgency,
        template: &str,
        dedupe: &DedupeKey,
        extra: Value,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<Queued> {
        let email = self.compose_to(request, to, template, dedupe, extra, attachments)?;
        self.enqueue(conn, request, &email, dedupe, urgency).await
    }

    /// Enqueues an already composed automatic e-mail under the per-recipient limit.
    pub async fn enqueue(
        &self,
        conn: &mut PgConnection,
        request: &RequestRow,
        email: &OutgoingEmail,
        dedupe: &DedupeKey,
        urgency: Urgency,
    ) -> anyhow::Result<Queued> {
        let queued = outbox::enqueue_automatic(
            conn,
            dedupe.as_str(),
            Some(request.id),
            email,
            urgency,
            self.per_recipient_per_hour,
        )
        .await?;
        if queued == Queued::Suppressed {
            self.metrics.email_suppressed(Suppressed::RateLimit);
        }
        Ok(queued)
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
        self.email_to(request, &To::Sender, purpose, subject, body, attachments)
    }

    fn email_to(
        &self,
        request: &RequestRow,
        to: &To,
        purpose: &str,
        subject: String,
        body: String,
        attachments: Vec<Attachment>,
    ) -> OutgoingEmail {
        let verified_elsewhere = request
            .verified_address
            .as_deref()
            .filter(|v| !v.eq_ignore_ascii_case(&request.sender));
        let (address, threaded) = match (to, verified_elsewhere) {
            (To::Sender, _) | (To::Verified, None) => (request.sender.clone(), true),
            (To::Verified, Some(v)) => (v.to_owned(), false),
            (To::OnFile(a), _) => (a.clone(), false),
        };
        let (in_reply_to, references) = if threaded {
            // Threaded to the message being answered: the sender's latest one that moved the
            // request on, else the first; the References chain holds both.
            let mut references = request.sender_references.clone();
            for parent in [&request.sender_message_id, &request.answering_message_id]
                .into_iter()
                .flatten()
            {
                if !references.contains(parent) {
                    references.push(parent.clone());
                }
            }
            let parent = request
                .answering_message_id
                .clone()
                .or_else(|| request.sender_message_id.clone());
            (parent, references)
        } else {
            // A new thread with the contact on file: it never sees the stranger's message.
            let contact = self.message_id(request, "contact");
            (None, vec![contact])
        };
        OutgoingEmail {
            to: address,
            subject,
            body,
            message_id: self.message_id(request, purpose),
            in_reply_to,
            references,
            language: request.language.reply_language().as_str().to_owned(),
            auto_replied: true,
            attachments,
        }
    }

    /// `dsr-2026-000123.<purpose>@<message_id_domain>`: replies to it name their request.
    pub fn message_id(&self, request: &RequestRow, purpose: &str) -> String {
        format!(
            "{}.{}@{}",
            request.reference.to_ascii_lowercase(),
            purpose.replace('_', "-"),
            self.company.message_id_domain
        )
    }
}

/// The request reference named by one of our Message-IDs (`dsr-2026-000123.ack@nlg.kz` →
/// `DSR-2026-000123`), if `id` is ours.
pub fn reference_of_message_id(id: &str, message_id_domain: &str) -> Option<String> {
    let id = id.trim().trim_matches(|c| c == '<' || c == '>');
    let (local, domain) = id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(message_id_domain) {
        return None;
    }
    let reference = local.split('.').next()?;
    let mut parts = reference.split('-');
    let (Some(prefix), Some(year), Some(number), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (prefix.eq_ignore_ascii_case("dsr")
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 6
        && number.bytes().all(|b| b.is_ascii_digit()))
    .then(|| format!("DSR-{year}-{number}"))
}

/// References `[DSR-2026-000123]` written in a subject line.
pub fn references_in_subject(subject: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\bDSR-\d{4}-\d{6,}\b").expect("regex"));
    RE.find_iter(subject)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_name_their_request() {
        assert_eq!(
            reference_of_message_id("<dsr-2026-000123.confirm-42@nlg.kz>", "nlg.kz").as_deref(),
            Some("DSR-2026-000123")
        );
        assert_eq!(
            reference_of_message_id("dsr-2026-000123.ack@NLG.KZ", "nlg.kz").as_deref(),
            Some("DSR-2026-000123")
        );
        assert!(reference_of_message_id("dsr-2026-000123.ack@evil.kz", "nlg.kz").is_none());
        assert!(reference_of_message_id("abc@nlg.kz", "nlg.kz").is_none());
        assert!(reference_of_message_id("dsr-26-1.ack@nlg.kz", "nlg.kz").is_none());
        assert_eq!(
            references_in_subject("Re: [DSR-2026-000007] Подтвердите"),
            vec!["DSR-2026-000007".to_owned()]
        );
    }
}
