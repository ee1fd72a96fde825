//! Machine-generated mail that must never be answered (RFC 3834): bounces and auto-replies.
//!
//! Headers and MIME structure decide first (they are hard to get wrong): delivery status
//! reports (RFC 3464), read receipts (MDN, RFC 8098), `Auto-Submitted` and its relatives. Then
//! the text of systems that set no header: out-of-office subjects, read receipts sent as plain
//! text ("Read:", "Прочитано:", "Оқылды:" and a "was read" body), ticket-system
//! acknowledgements ("Your request #48213 has been received", "Ваше обращение № … зарегистрировано",
//! "Сіздің № … өтінішіңіз тіркелді") and delivery reports without `multipart/report` (a bounce
//! subject with SMTP status codes or DSN fields in the body). Only the message's own new words
//! are read, so a person's reply that quotes our acknowledgement (which says "зарегистрировали")
//! stays a person's reply; our own reference (`DSR-2026-000123`) is never a ticket number. A reply
//! to any machine mail would start a mail loop.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use mail_parser::{HeaderValue, Message, MimeHeaders};

use super::normalise::lowercase;
use super::text::Body;
use super::Envelope;
use crate::domain::MailKind;

/// `Some(Bounce | AutoReply)` for machine-generated mail.
pub fn detect(message: &Message<'_>, envelope: &Envelope, body: &Body) -> Option<MailKind> {
    if is_bounce(message, envelope, body) {
        return Some(MailKind::Bounce);
    }
    if is_auto_reply(message, envelope)
        || is_read_receipt(message, envelope, body)
        || says_it_is_automatic(body)
    {
        return Some(MailKind::AutoReply);
    }
    if is_ticket_acknowledgement(envelope, body) {
        return Some(MailKind::AutoReply);
    }
    None
}

fn has_part(message: &Message<'_>, ctype: &str, subtype: &str) -> bool {
    message.parts.iter().any(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case(ctype)
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
        })
    })
}

fn report_type(message: &Message<'_>) -> Option<String> {
    message.content_type().and_then(|ct| {
        (ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report")))
        .then(|| ct.attribute("report-type").map(str::to_ascii_lowercase))
        .flatten()
    })
}

fn header_text(message: &Message<'_>, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_ascii_lowercase())
}

fn is_bounce(message: &Message<'_>, envelope: &Envelope, body: &Body) -> bool {
    if report_type(message).as_deref() == Some("delivery-status") {
        return true;
    }
    if has_part(message, "message", "delivery-status")
        || message.header_raw("X-Failed-Recipients").is_some()
    {
        return true;
    }
    let local = envelope
        .from
        .as_ref()
        .map(|a| a.local_part().to_ascii_lowercase())
        .unwrap_or_default();
    let daemon_sender = matches!(
        local.as_str(),
        "mailer-daemon" | "mailer_daemon" | "maildaemon" | "mail-daemon" | "postmaster"
    );
    let daemon_name = envelope.from_name.as_deref().is_some_and(|n| {
        let n = n.to_lowercase();
        n.contains("mail delivery") || n.contains("mailer-daemon") || n.contains("почтовая система")
    });
    let null_return_path = header_text(message, "Return-Path").is_some_and(|r| r == "<>");
    let subject = envelope.subject.trim().to_lowercase();
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|s| subject.starts_with(s))
        || (!starts_as_human(&subject) && BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s)));
    if daemon_sender || (null_return_path && bounce_subject) {
        return true;
    }
    if bounce_subject || daemon_name {
        return delivery_evidence(&body.own) > 0;
    }
    // Without a telling subject or sender: a status code and a second kind of evidence.
    smtp_status_code(&body.own) && delivery_evidence(&body.own) >= 2
}

const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "undelivered:",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "delivery has failed",
    "delivery delayed",
    "returned mail",
    "failure notice",
    "warning: message",
    "message not delivered",
    "недоставленное сообщение",
    "не доставлено",
    "сообщение не доставлено",
    "ошибка доставки",
    "не удалось доставить",
    "возврат письма",
    "жеткізілмеді",
    "хат жеткізілмеді",
    "жеткізу қатесі",
];

/// A subject a person writes: a reply or a forward.
fn starts_as_human(subject: &str) -> bool {
    ["re:", "fwd:", "fw:", "ответ:", "пересл:", "отв:", "жауап:"]
        .iter()
        .any(|p| subject.starts_with(p))
}

/// How many kinds of delivery-failure evidence a report's own text carries: SMTP status codes
/// ("550 5.1.1"), DSN fields (Final-Recipient, Diagnostic-Code, Action: failed) and the fixed
/// sentences of mail servers in kk/ru/en.
fn delivery_evidence(text: &str) -> usize {
    let lower = lowercase(text);
    let mut n = 0;
    if smtp_status_code(text) {
        n += 1;
    }
    const FIELDS: &[&str] = &[
        "final-recipient:",
        "diagnostic-code:",
        "action: failed",
        "action: delayed",
        "remote-mta:",
        "reporting-mta:",
        "status: 5.",
        "status: 4.",
    ];
    if FIELDS.iter().any(|f| lower.contains(f)) {
        n += 1;
    }
    const SENTENCES: &[&str] = &[
        "could not be delivered",
        "couldn't be delivered",
        "couldn\u{2019}t be delivered",
        "delivery has failed",
        "delivery to the following recipient",
        "has been delayed",
        "was not delivered",
        "permanent error",
        "message could not be sent",
        "this is the mail system at host",
        "delivery status notification",
        "mailbox unavailable",
        "mailbox full",
        "user unknown",
        "address you entered couldn",
        "не было доставлено",
        "не может быть доставлено",
        "не удалось доставить",
        "доставка не удалась",
        "не доставлено",
        "жеткізілмеді",
        "жеткізу мүмкін болмады",
    ];
    if SENTENCES.iter().any(|s| lower.contains(s)) {
        n += 1;
    }
    n
}

/// "550 5.1.1", "552-5.2.2", "#5.1.1", "4.4.7": an SMTP reply or enhanced status code.
fn smtp_status_code(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(5).enumerate().any(|(i, w)| {
        let enhanced = matches!(w[0], b'2' | b'4' | b'5')
            && w[1] == b'.'
            && w[2].is_ascii_digit()
            && w[3] == b'.'
            && w[4].is_ascii_digit();
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit() && b[i - 1] != b'.';
        enhanced && before_ok
    })
}

/// An automatic reply that says so in its own words ("Это автоматический ответ: …",
/// "Бұл автоматты жауап", "This is an automatic reply"). Only the self-description counts: a
/// person mentioning "your automatic reply" is no machine.
fn says_it_is_automatic(body: &Body) -> bool {
    const SELF: &[&str] = &[
        "это автоматический ответ",
        "это автоматическое сообщение",
        "это автоответ",
        "данное письмо является автоматическим",
        "бұл автоматты жауап",
        "бұл автоматты хабарлама",
        "бұл автожауап",
        "this is an automatic reply",
        "this is an automated reply",
        "this is an auto-reply",
        "this is an autoreply",
        "this is an automatic response",
        "this is an automated response",
        "this is an automated message",
        "this is an automatic message",
    ];
    // Cheap test first: every self-description has one of these (any case).
    let raw = &body.own;
    let hint = ["втомат", "втоответ", "втожауап"]
        .iter()
        .any(|h| raw.contains(h))
        || contains_ascii_ci(raw, "automat")
        || contains_ascii_ci(raw, "auto-repl")
        || contains_ascii_ci(raw, "autorepl");
    if !hint {
        return false;
    }
    let own = lowercase(raw);
    SELF.iter().any(|s| own.contains(s))
}

/// `needle` (lower-case ASCII) in `hay`, ignoring ASCII case, without allocating.
fn contains_ascii_ci(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
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

/// A read receipt: an MDN (RFC 8098) or a client's plain-text "was read" notice.
fn is_read_receipt(message: &Message<'_>, envelope: &Envelope, body: &Body) -> bool {
    if report_type(message).as_deref() == Some("disposition-notification")
        || has_part(message, "message", "disposition-notification")
    {
        return true;
    }
    let subject = envelope.subject.trim().to_lowercase();
    const PREFIXES: &[&str] = &[
        "read:",
        "read -",
        "not read:",
        "read receipt",
        "return receipt",
        "displayed:",
        "прочитано:",
        "прочитано -",
        "не прочитано:",
        "уведомление о прочтении",
        "отчет о прочтении",
        "отчёт о прочтении",
        "оқылды:",
        "оқылды -",
        "оқылмады:",
        "оқылғаны туралы",
    ];
    if !PREFIXES.iter().any(|p| subject.starts_with(p)) {
        return false;
    }
    let own = lowercase(&body.own);
    const READ: &[&str] = &[
        "was read",
        "was displayed",
        "has been read",
        "disposition:",
        "was opened",
        "was viewed",
        "прочитано",
        "было прочитано",
        "открыто",
        "просмотрено",
        "получателем",
        "оқылды",
        "оқылған",
        "ашылды",
        "алушы",
    ];
    READ.iter().any(|r| own.contains(r))
}

/// A help desk's "your request #123 has been received": a ticket number and "received" in one
/// line of the message's own words, said to the recipient ("your", "ваше", "сіздің") or in a
/// notice that says it was sent automatically.
fn is_ticket_acknowledgement(envelope: &Envelope, body: &Body) -> bool {
    // Cheap test first, on the text as written: no "received" word, no acknowledgement.
    if !RECEIVED_ANY_CASE.is_match(&body.own) && !RECEIVED_ANY_CASE.is_match(&envelope.subject) {
        return false;
    }
    let subject = lowercase(&envelope.subject);
    let own = lowercase(&body.own);
    let reply = starts_as_human(subject.trim());
    // Cheap test first: no "received" word, no acknowledgement.
    if !RECEIVED_AC.is_match(&own) && (reply || !RECEIVED_AC.is_match(&subject)) {
        return false;
    }
    let automated = AUTOMATED.iter().any(|a| own.contains(a));
    let lines = std::iter::once(subject.as_str())
        .filter(|_| !reply)
        .chain(own.lines());
    for line in lines {
        if line.contains("dsr-") || !RECEIVED_AC.is_match(line) {
            continue;
        }
        let yours = YOURS.iter().any(|y| line.contains(y));
        if (yours || automated) && ticket_number(line) {
            return true;
        }
    }
    false
}

static RECEIVED_AC: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(RECEIVED).expect("valid patterns"));

/// The "received" words as written: any ASCII case, and Cyrillic lower or capitalised.
static RECEIVED_ANY_CASE: LazyLock<AhoCorasick> = LazyLock::new(|| {
    let mut patterns: Vec<String> = Vec::new();
    for p in RECEIVED {
        patterns.push((*p).to_owned());
        let mut c = p.chars();
        if let Some(f) = c.next() {
            patterns.push(f.to_uppercase().chain(c).collect());
        }
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&patterns)
        .expect("valid patterns")
});

const RECEIVED: &[&str] = &[
    "has been received",
    "logged by",
    "was logged",
    "received by our",
    "registered by",
    "is registered",
    "have received your",
    "we received your",
    "received your request",
    "has been registered",
    "has been created",
    "has been logged",
    "has been opened",
    "is being processed",
    "зарегистрирован",
    "принят",
    "получен",
    "создан",
    "присвоен",
    "тіркелді",
    "тіркелген",
    "қабылданды",
    "алынды",
];

const YOURS: &[&str] = &[
    "your ",
    "ваше ",
    "ваша ",
    "ваш ",
    "вашему ",
    "вашей ",
    "сіздің",
    "өтінішіңіз",
    "сұрауыңыз",
    "өтініміңіз",
];

const AUTOMATED: &[&str] = &[
    "do not reply",
    "generated by the system",
    "generated by our system",
    "was generated by",
    "system-generated",
    "сформировано системой",
    "создано автоматически",
    "сформировано автоматически",
    "жүйе автоматты",
    "жүйемен жіберілді",
    "don't reply",
    "please do not respond",
    "this is an automated",
    "this is an automatic",
    "automatically generated",
    "сформировано автоматически",
    "отправлено автоматически",
    "не отвечайте на",
    "автоматическое уведомление",
    "автоматты түрде",
    "жауап бермеңіз",
];

/// `#48213`, `№ 2025-11873`, `No. 5521`, `ticket 4821`: a number of at least three digits after
/// a number sign or a ticket word.
fn ticket_number(line: &str) -> bool {
    const MARKS: &[&str] = &[
        "#",
        "№",
        "no.",
        "n°",
        "ticket",
        "case",
        "заявк",
        "обращени",
        "запрос",
        "тикет",
        "өтініш",
    ];
    MARKS.iter().any(|m| {
        line.match_indices(m).any(|(i, _)| {
            let rest = &line[i + m.len()..];
            let rest = rest.trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ':' | '#' | '№' | '[')
            });
            let digits = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .filter(char::is_ascii_digit)
                .count();
            digits >= 3
                && rest
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
    })
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
        "орнымда жоқпын",
        "нет на месте",
        "іссапардамын",
        "в командировке",
        "on a business trip",
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
