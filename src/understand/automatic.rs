//! Machine-generated mail that must never be answered (RFC 3834): bounces and auto-replies.
//!
//! Headers decide first (they are hard to get wrong); the usual subjects in kk/ru/en catch the
//! auto-replies of systems that set no header. A reply to either would start a mail loop.

use mail_parser::{HeaderValue, Message, MimeHeaders};

use super::Envelope;
use crate::domain::MailKind;

/// `Some(Bounce | AutoReply)` for machine-generated mail.
pub fn detect(message: &Message<'_>, envelope: &Envelope) -> Option<MailKind> {
    if is_bounce(message, envelope) {
        return Some(MailKind::Bounce);
    }
    if is_auto_reply(message, envelope) {
        return Some(MailKind::AutoReply);
    }
    None
}

fn header_text(message: &Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_ascii_lowercase())
}

fn is_bounce(message: &Message<'_>, envelope: &Envelope) -> bool {
    let report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if report {
        return true;
    }
    let has_dsn_part = message.parts.iter().any(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("delivery-status"))
        })
    });
    if has_dsn_part || message.header_raw("X-Failed-Recipients").is_some() {
        return true;
    }
    let local = envelope
        .from
        .as_ref()
        .map(|a| a.local_part().to_ascii_lowercase())
        .unwrap_or_default();
    let daemon_sender = local == "mailer-daemon" || local == "postmaster";
    let null_return_path = header_text(message, "Return-Path").is_some_and(|r| r == "<>");
    let subject = envelope.subject.to_lowercase();
    const BOUNCE_SUBJECTS: &[&str] = &[
        "undelivered mail",
        "undeliverable",
        "delivery status notification",
        "mail delivery failed",
        "delivery failure",
        "returned mail",
        "failure notice",
        "недоставленное сообщение",
        "не доставлено",
        "сообщение не доставлено",
        "ошибка доставки",
        "жеткізілмеді",
        "жеткізу қатесі",
    ];
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s));
    daemon_sender || (null_return_path && bounce_subject)
}

fn is_auto_reply(message: &Message<'_>, envelope: &Envelope) -> bool {
    // RFC 3834: any Auto-Submitted value other than "no" marks automatic mail.
    if header_text(message, "Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    for name in [
        "X-Autoreply",
        "X-Autorespond",
        "X-Autoresponder",
        "X-Auto-Reply",
    ] {
        if message.header_raw(name).is_some() {
            return true;
        }
    }
    if header_text(message, "Precedence").is_some_and(|p| p == "auto_reply") {
        return true;
    }
    if matches!(
        message.header("X-Auto-Response-Suppress"),
        Some(HeaderValue::Text(_))
    ) && auto_subject(&envelope.subject)
    {
        return true;
    }
    auto_subject(&envelope.subject)
}

/// Subjects of out-of-office and other automatic replies in kk/ru/en.
pub fn auto_subject(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    const PREFIXES: &[&str] = &[
        "automatic reply",
        "auto reply",
        "auto-reply",
        "autoreply",
        "auto:",
        "out of office",
        "out of the office",
        "autosvar",
        "автоответ",
        "автоматический ответ",
        "автоматты жауап",
        "автожауап",
    ];
    const ANYWHERE: &[&str] = &[
        "out of office",
        "out-of-office",
        "i am away",
        "i'm away",
        "on vacation",
        "on annual leave",
        "нахожусь в отпуске",
        "вне офиса",
        "меня нет на месте",
        "в отпуске до",
        "демалыстамын",
        "кеңседе жоқпын",
        "жұмыс орнында жоқпын",
    ];
    PREFIXES.iter().any(|p| s.starts_with(p)) || ANYWHERE.iter().any(|p| s.contains(p))
}

/// Mailing-list and bulk mail (RFC 2369 `List-*`, `Precedence: bulk|list|junk`): newsletters
/// and notices, never a data subject writing in person.
pub fn is_bulk(message: &Message<'_>) -> bool {
    message.header_raw("List-Unsubscribe").is_some()
        || message.header_raw("List-Id").is_some()
        || header_text(message, "Precedence")
            .is_some_and(|p| matches!(p.as_str(), "bulk" | "list" | "junk"))
}
