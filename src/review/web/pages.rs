//! Server-rendered HTML. Every value from the database or the request goes through [`esc`].

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::i18n::Lang;
use crate::domain::RequestKind;
use crate::review::audit::{AuditEntry, Verification};
use crate::review::auth::Session;
use crate::review::decisions::Decision;
use crate::review::subject_match::MatchView;
use crate::review::{Dashboard, FailedItem, QueueItem, RequestDetail, Stage, STATUSES};
use crate::workflow::deadline::almaty;
use crate::workflow::status::RequestStatus;

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&almaty())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The page frame: header with navigation, language switch, sign-out.
pub fn layout(lang: Lang, title: &str, session: Option<&Session>, body: &str) -> String {
    let mut nav = String::new();
    if let Some(s) = session {
        let _ = write!(
            nav,
            r#"<nav><a href="/">{queue}</a> <a href="/audit">{audit}</a>{staff}
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="link">{logout}</button></form>
<span class="who">{who}</span></nav>"#,
            queue = lang.t("nav.queue"),
            audit = lang.t("nav.audit"),
            staff = if s.staff.role == crate::review::auth::Role::Admin {
                format!(r#" <a href="/staff">{}</a>"#, lang.t("nav.staff"))
            } else {
                String::new()
            },
            csrf = esc(&s.csrf_token),
            logout = lang.t("logout"),
            who = esc(&s.staff.email),
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="{code}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — {app}</title>
<link rel="stylesheet" href="/static/console.css">
</head><body>
<header><a class="brand" href="/">{app}</a>
<span class="langs"><a href="?lang=kk">ҚАЗ</a> <a href="?lang=ru">РУС</a> <a href="?lang=en">ENG</a></span>
{nav}</header>
<main>
{body}
</main></body></html>"#,
        code = lang.code(),
        title = esc(title),
        app = lang.t("app"),
    )
}

pub fn login(lang: Lang, csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let body = format!(
        r#"<section class="login"><h1>{welcome}</h1><h2>{title}</h2>{error}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{csrf}">
<label>{email}<input type="email" name="email" id="email" autocomplete="username" required></label>
<label>{password}<input type="password" name="password" id="password" autocomplete="current-password" required></label>
<button type="submit" id="login">{submit}</button>
</form></section>"#,
        welcome = lang.t("welcome"),
        title = lang.t("login.title"),
        email = lang.t("login.email"),
        password = lang.t("login.password"),
        submit = lang.t("login.submit"),
        csrf = esc(csrf),
    );
    layout(lang, lang.t("login.title"), None, &body)
}

pub fn error(lang: Lang, session: Option<&Session>, message: &str) -> String {
    let body = format!(
        r#"<h1>{}</h1><p class="error">{}</p><p><a href="/">{}</a></p>"#,
        lang.t("error.title"),
        esc(message),
        lang.t("back")
    );
    layout(lang, lang.t("error.title"), session, &body)
}

fn days_cell(lang: Lang, item: &QueueItem) -> String {
    if item.due_at < Utc::now() {
        format!(
            r#"<span class="badge overdue">{} ({})</span>"#,
            lang.t("overdue"),
            item.days_left
        )
    } else {
        item.days_left.to_string()
    }
}

pub struct QueuePage<'a> {
    pub dashboard: &'a Dashboard,
    pub items: &'a [QueueItem],
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
}

pub fn queue(lang: Lang, session: &Session, page: &QueuePage<'_>) -> String {
    let d = page.dashboard;
    let mut body = String::new();
    body.push_str(r#"<section class="cards">"#);
    for (key, value, alert, href) in [
        ("dash.received_today", d.received_today, false, None),
        ("dash.automated", d.automated, false, None),
        ("dash.flagged", d.flagged, d.flagged > 0, Some("/")),
        ("dash.overdue", d.overdue, d.overdue > 0, None),
        (
            "dash.disputed",
            d.disputed,
            d.disputed > 0,
            Some("/?status=disputed"),
        ),
        (
            "dash.failed_inbound",
            d.failed_inbound,
            d.failed_inbound > 0,
            Some("/failures/inbound"),
        ),
        (
            "dash.failed_requests",
            d.failed_requests,
            d.failed_requests > 0,
            Some("/?status=failed"),
        ),
        (
            "dash.failed_store_tasks",
            d.failed_store_tasks,
            d.failed_store_tasks > 0,
            Some("/failures/tasks"),
        ),
        (
            "dash.failed_emails",
            d.failed_emails,
            d.failed_emails > 0,
            Some("/failures/emails"),
        ),
    ] {
        let class = if alert { "card alert" } else { "card" };
        let id = key.replace('.', "-");
        let inner = format!(
            r#"<span class="n">{value}</span><span>{}</span>"#,
            lang.t(key)
        );
        let _ = match href {
            Some(href) => write!(
                body,
                r#"<a class="{class}" href="{href}" id="{id}">{inner}</a>"#
            ),
            None => write!(body, r#"<div class="{class}" id="{id}">{inner}</div>"#),
        };
    }
    body.push_str("</section>");

    // Filters.
    let mut status_options = format!(
        r#"<option value="">{}</option><option value="all"{}>{}</option>"#,
        lang.t("filter.attention"),
        if page.status == Some("all") {
            " selected"
        } else {
            ""
        },
        lang.t("filter.all")
    );
    for s in STATUSES {
        let _ = write!(
            status_options,
            r#"<option value="{s}"{}>{}</option>"#,
            if page.status == Some(s) {
                " selected"
            } else {
                ""
            },
            esc(&lang.label("status", s))
        );
    }
    let mut kind_options = format!(r#"<option value="">{}</option>"#, lang.t("filter.all"));
    for k in RequestKind::ALL {
        let _ = write!(
            kind_options,
            r#"<option value="{k}"{}>{}</option>"#,
            if page.kind == Some(k.as_str()) {
                " selected"
            } else {
                ""
            },
            esc(&lang.label("kind", k.as_str()))
        );
    }
    let heading = if page.status.is_none() {
        lang.t("queue.title")
    } else {
        lang.t("queue.all")
    };
    let _ = write!(
        body,
        r#"<h1>{heading}</h1>
<form method="get" action="/" class="filters">
<label>{ls}<select name="status">{status_options}</select></label>
<label>{lk}<select name="kind">{kind_options}</select></label>
<button type="submit">{apply}</button></form>"#,
        ls = lang.t("filter.status"),
        lk = lang.t("filter.kind"),
        apply = lang.t("filter.apply"),
    );
    if page.items.is_empty() {
        let _ = write!(body, r#"<p class="empty">{}</p>"#, lang.t("queue.empty"));
    } else {
        let _ = write!(
            body,
            r#"<div class="scroll"><table class="queue"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            lang.t("col.reference"),
            lang.t("col.kind"),
            lang.t("col.status"),
            lang.t("col.language"),
            lang.t("col.received"),
            lang.t("col.due"),
            lang.t("col.days_left"),
        );
        for item in page.items {
            let overdue = item.due_at < Utc::now();
            let _ = write!(
                body,
                r#"<tr class="{cls}"><td><a href="/requests/{id}">{reference}</a>{flag}</td><td>{kind}</td><td>{status}</td><td>{language}</td><td>{received}</td><td>{due}</td><td>{days}</td></tr>"#,
                cls = if overdue { "overdue" } else { "" },
                id = item.id,
                reference = esc(&item.reference),
                flag = if item.review {
                    format!(r#" <span class="badge flag">{}</span>"#, lang.t("flagged"))
                } else {
                    String::new()
                },
                kind = esc(&lang.label("kind", &item.kind)),
                status = status_cell(lang, &item.status),
                language = esc(&item.language),
                received = when(item.created_at),
                due = when(item.due_at),
                days = days_cell(lang, item),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    layout(lang, lang.t("nav.queue"), Some(session), &body)
}

/// A status, marked when staff must act on it at once.
fn status_cell(lang: Lang, status: &str) -> String {
    let label = esc(&lang.label("status", status));
    if matches!(status, "disputed" | "failed") {
        format!(r#"<span class="badge {status}">{label}</span>"#)
    } else {
        label
    }
}

fn list_of(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn request(lang: Lang, session: &Session, d: &RequestDetail, done: Option<&str>) -> String {
    let item = &d.item;
    let u = &d.understanding;
    let mut body = String::new();
    if let Some(done) = done {
        let key = format!("done.{done}");
        let text = lang.t(&key);
        if text != "?" {
            let _ = write!(body, r#"<p class="notice" role="status">{text}</p>"#);
        }
    }
    let _ = write!(
        body,
        r#"<h1>{reference} <span class="badge status" id="status">{status}</span>{flag}</h1>
<dl class="facts">
<dt>{lk}</dt><dd>{kind}</dd>
<dt>{ll}</dt><dd>{language}</dd>
<dt>{ls}</dt><dd>{sender}</dd>
<dt>{lr}</dt><dd>{received}</dd>
<dt>{ld}</dt><dd class="{due_cls}">{due} · {ldl}: {days}</dd>
</dl>"#,
        reference = esc(&item.reference),
        status = esc(&lang.label("status", &item.status)),
        flag = if item.review {
            format!(r#" <span class="badge flag">{}</span>"#, lang.t("flagged"))
        } else {
            String::new()
        },
        lk = lang.t("col.kind"),
        kind = esc(&lang.label("kind", &item.kind)),
        ll = lang.t("col.language"),
        language = esc(&item.language),
        ls = lang.t("req.sender"),
        sender = esc(&d.sender),
        lr = lang.t("col.received"),
        received = when(d.received_at),
        ld = lang.t("col.due"),
        ldl = lang.t("col.days_left"),
        due_cls = if item.due_at < Utc::now() {
            "overdue"
        } else {
            ""
        },
        due = when(item.due_at),
        days = days_cell(lang, item),
    );

    if let Some(failure) = d.failure.as_deref().filter(|_| item.status == "failed") {
        let _ = write!(
            body,
            r#"<p class="error" id="failure"><strong>{}</strong> {}</p>"#,
            lang.t("req.failure"),
            esc(failure)
        );
    }
    if item.status == "disputed" {
        let _ = write!(
            body,
            r#"<p class="error" id="disputed">{}</p>"#,
            lang.t("req.disputed")
        );
    }

    // Decisions first on a phone: that is what the page is for; the facts they rest on next.
    body.push_str(&decisions(lang, session, d));
    body.push_str(&subject_match(lang, d));

    // Understanding.
    let reasons = list_of(&u["reasons"]);
    let _ = write!(
        body,
        r#"<section><h2>{}</h2><h3>{}</h3>"#,
        lang.t("req.understood"),
        lang.t("req.reasons")
    );
    if reasons.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("req.no_reasons"));
    } else {
        body.push_str(r#"<ul class="reasons">"#);
        for r in &reasons {
            let _ = write!(body, "<li>{}</li>", esc(r));
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        r#"<h3>{}</h3><dl class="facts">"#,
        lang.t("req.identifiers")
    );
    for (key, field) in [
        ("req.iin", "iin"),
        ("req.bin", "bin"),
        ("req.phones", "phones"),
        ("req.invalid_iin", "invalid_iin"),
        ("req.also", "also"),
    ] {
        let mut values = list_of(&u[field]);
        if field == "also" {
            values = values
                .iter()
                .map(|k| lang.label("kind", k).into_owned())
                .collect();
        }
        if !values.is_empty() {
            let _ = write!(
                body,
                "<dt>{}</dt><dd>{}</dd>",
                lang.t(key),
                esc(&values.join(", "))
            );
        }
    }
    body.push_str("</dl></section>");

    // The original message, as text.
    let m = &d.message;
    let _ = write!(
        body,
        r#"<section><h2>{title}</h2><p class="hint">{note}</p>
<dl class="facts"><dt>From</dt><dd>{from}</dd><dt>To</dt><dd>{to}</dd><dt>Date</dt><dd>{date}</dd><dt>{ls}</dt><dd>{subject}</dd></dl>
<pre class="mail" id="message-text">{text}</pre>"#,
        title = lang.t("req.message"),
        note = lang.t("req.message_note"),
        from = esc(&m.from),
        to = esc(&m.to),
        date = esc(&m.date),
        ls = lang.t("col.subject"),
        subject = esc(&m.subject),
        text = esc(&m.text),
    );
    if let Some(html) = &m.html_source {
        let _ = write!(
            body,
            r#"<details><summary>{}</summary><pre class="mail">{}</pre></details>"#,
            lang.t("req.html_source"),
            esc(html)
        );
    }
    if !m.attachments.is_empty() {
        let _ = write!(body, "<h3>{}</h3><ul>", lang.t("req.attachments"));
        for a in &m.attachments {
            let _ = write!(
                body,
                r#"<li><a href="/requests/{id}/attachments/{i}" download>{name}</a> ({ct}, {size} B)</li>"#,
                id = item.id,
                i = a.index,
                name = esc(&a.filename),
                ct = esc(&a.content_type),
                size = a.size,
            );
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        r#"<p><a href="/requests/{}/raw" download>{}</a></p></section>"#,
        item.id,
        lang.t("req.download_raw")
    );

    // Stores (issue 4 fills `store_tasks`).
    let _ = write!(
        body,
        r#"<section id="stores"><h2>{}</h2>"#,
        lang.t("req.stores")
    );
    if d.store_tasks.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("req.stores_empty"));
    } else {
        body.push_str(r#"<div class="scroll"><table><tbody>"#);
        let csrf = esc(&session.csrf_token);
        for t in &d.store_tasks {
            let action = match t.status.as_str() {
                "failed" => format!(
                    r#"<form method="post" action="/requests/{rid}/tasks/{tid}/retry"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" id="retry-{tid}">{label}</button></form>"#,
                    rid = d.item.id,
                    tid = t.id,
                    label = lang.t("act.retry_task"),
                ),
                "waiting_manual" | "waiting_confirmation" => format!(
                    r#"<form method="post" action="/requests/{rid}/tasks/{tid}/done"><input type="hidden" name="csrf" value="{csrf}"><input name="note" required maxlength="4000" placeholder="{hint}"><button type="submit" id="done-{tid}">{label}</button></form>"#,
                    rid = d.item.id,
                    tid = t.id,
                    hint = lang.t("act.task_note"),
                    label = lang.t("act.task_done"),
                ),
                _ => String::new(),
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td><td>{}</td><td>{}</td></tr>",
                esc(&t.store),
                esc(&lang.label("status", &t.status)),
                t.attempts,
                esc(&t.matched_subjects.join(", ")),
                esc(&json_text(&t.plan)),
                esc(t.last_error.as_deref().unwrap_or("")),
                action,
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>");

    // Timeline.
    let _ = write!(
        body,
        r#"<section><h2>{}</h2><ol class="timeline">"#,
        lang.t("req.timeline")
    );
    for e in &d.events {
        let _ = write!(
            body,
            r#"<li><time>{}</time> <strong>{}</strong> <code>{}</code></li>"#,
            when(e.at),
            esc(&e.event),
            esc(&serde_json::to_string(&e.detail).unwrap_or_default()),
        );
    }
    body.push_str("</ol></section>");

    // E-mails.
    let _ = write!(body, r#"<section><h2>{}</h2>"#, lang.t("req.emails"));
    if d.emails.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("req.emails_empty"));
    }
    for e in &d.emails {
        let _ = write!(
            body,
            r#"<details class="email"><summary>{} · {} · {} · {}</summary><pre class="mail">{}</pre>{}</details>"#,
            when(e.created_at),
            esc(&e.kind),
            esc(&e.status),
            esc(&e.subject),
            esc(&e.body),
            e.last_error
                .as_deref()
                .map(|x| format!(r#"<p class="error">{}</p>"#, esc(x)))
                .unwrap_or_default(),
        );
    }
    body.push_str("</section>");

    // Audit.
    let _ = write!(body, r#"<section><h2>{}</h2>"#, lang.t("req.audit"));
    body.push_str(&audit_table(lang, &d.audit));
    body.push_str("</section>");
    layout(lang, &item.reference, Some(session), &body)
}

fn decisions(lang: Lang, session: &Session, d: &RequestDetail) -> String {
    let item = &d.item;
    let mut out = format!(
        r#"<section class="decide" id="decide"><h2>{}</h2>"#,
        lang.t("req.decide")
    );
    let Ok(status) = item.status.parse::<RequestStatus>() else {
        let _ = write!(out, "<p>{}</p></section>", lang.t("req.not_decidable"));
        return out;
    };
    if status.is_final() {
        let _ = write!(out, "<p>{}</p></section>", lang.t("req.not_decidable"));
        return out;
    }
    if status == RequestStatus::Received {
        let _ = write!(
            out,
            r#"<p class="hint">{}</p>"#,
            lang.t("req.not_acknowledged")
        );
    }
    let can = |decision: &Decision| decision.allowed_in(status);
    let csrf = esc(&session.csrf_token);
    let id = item.id;
    let approve = Decision::Approve {
        kind: RequestKind::Erasure,
        fingerprint: String::new(),
        override_conflicts: false,
        override_obligations: false,
    };
    if can(&approve) {
        out.push_str(&approve_form(lang, &csrf, d));
    }
    if can(&Decision::RetryRequest) {
        let _ = write!(
            out,
            r#"<form method="post" action="/requests/{id}/retry" class="row">
<input type="hidden" name="csrf" value="{csrf}">
<p class="hint">{hint}</p>
<button type="submit" id="retry-request" class="primary">{button}</button></form>"#,
            hint = lang.t("act.retry_request_hint"),
            button = lang.t("act.retry_request"),
        );
    }
    let link = Decision::LinkSubject {
        subject: Default::default(),
    };
    if can(&link) {
        let _ = write!(
            out,
            r#"<details><summary>{link}</summary><form method="post" action="/requests/{id}/link">
<input type="hidden" name="csrf" value="{csrf}">
<p class="hint">{hint}</p>
<label>e-mail <input name="email" type="email" maxlength="254"></label>
<label>ИИН/ЖСН <input name="iin" inputmode="numeric" pattern="[0-9]{{12}}" maxlength="12"></label>
<label>tel. <input name="phone" maxlength="20"></label>
<button type="submit" id="link">{button}</button></form></details>"#,
            link = lang.t("act.link"),
            hint = lang.t("act.link_hint"),
            button = lang.t("act.link_button"),
        );
    }
    if can(&Decision::AskInformation {
        question: String::new(),
    }) {
        let _ = write!(
            out,
            r#"<details><summary>{ask}</summary><form method="post" action="/requests/{id}/ask">
<input type="hidden" name="csrf" value="{csrf}">
<textarea name="question" rows="4" required maxlength="4000"></textarea>
<button type="submit">{ask_button}</button></form></details>"#,
            ask = lang.t("act.ask"),
            ask_button = lang.t("act.ask_button"),
        );
    }
    let ends_tasks = if status == RequestStatus::Executing {
        format!(r#"<p class="hint">{}</p>"#, lang.t("act.ends_tasks"))
    } else {
        String::new()
    };
    let _ = write!(
        out,
        r#"<details><summary>{reject}</summary><form method="post" action="/requests/{id}/reject">
<input type="hidden" name="csrf" value="{csrf}">
<p class="hint">{hint}</p>{ends_tasks}
<textarea name="reason" rows="4" required maxlength="4000"></textarea>
<button type="submit" class="danger" id="reject">{reject_button}</button></form></details>
<details><summary>{close}</summary><form method="post" action="/requests/{id}/close">
<input type="hidden" name="csrf" value="{csrf}">
<p class="hint">{close_hint}</p>{ends_tasks}
<textarea name="note" rows="3" required maxlength="4000"></textarea>
<button type="submit" class="danger" id="close">{close_button}</button></form></details></section>"#,
        reject = lang.t("act.reject"),
        reject_button = lang.t("act.reject_button"),
        hint = lang.t("act.reason_hint"),
        close = lang.t("act.close"),
        close_hint = lang.t("act.close_hint"),
        close_button = lang.t("act.close_button"),
    );
    out
}

/// Approve as a kind, on the store match shown: the form carries that match's fingerprint, and
/// offers to override conflicts and obligations only when there are some.
fn approve_form(lang: Lang, csrf: &str, d: &RequestDetail) -> String {
    let item = &d.item;
    let m = &d.subject_match;
    let Some(fingerprint) = &m.fingerprint else {
        return format!(
            r#"<p class="notice" id="approve-blocked">{}</p>"#,
            lang.t("req.not_searched")
        );
    };
    let mut options = String::new();
    for k in RequestKind::ALL {
        let _ = write!(
            options,
            r#"<option value="{k}"{}>{}</option>"#,
            if item.kind == k.as_str() {
                " selected"
            } else {
                ""
            },
            esc(&lang.label("kind", k.as_str()))
        );
    }
    let mut overrides = String::new();
    if !m.conflicts.is_empty() {
        let _ = write!(
            overrides,
            r#"<div class="override-box"><label class="override"><input type="checkbox" name="override_conflicts" value="1" id="override-conflicts"> {}</label><p class="hint">{}</p></div>"#,
            lang.t("act.override_conflicts"),
            lang.t("act.override_conflicts_hint"),
        );
    }
    if !m.obligations.is_empty() {
        let _ = write!(
            overrides,
            r#"<div class="override-box"><label class="override"><input type="checkbox" name="override_obligations" value="1" id="override-obligations"> {}</label><p class="hint">{}</p></div>"#,
            lang.t("act.override_obligations"),
            lang.t("act.override_obligations_hint"),
        );
    }
    format!(
        r#"<form method="post" action="/requests/{id}/approve" class="row">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="fingerprint" value="{fingerprint}">
<label>{label} <select name="kind" id="approve-kind">{options}</select></label>
{overrides}<button type="submit" id="approve" class="primary">{button}</button></form>"#,
        id = item.id,
        fingerprint = esc(fingerprint),
        label = lang.t("act.approve"),
        button = lang.t("act.approve_button"),
    )
}

fn count_cell(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "—".into())
}

/// What the stores hold of the subject: per store and table, the rows the request would act
/// on and which identifier matched them; conflicts and open obligations.
fn subject_match(lang: Lang, d: &RequestDetail) -> String {
    let m: &MatchView = &d.subject_match;
    let mut out = format!(r#"<section id="match"><h2>{}</h2>"#, lang.t("match.title"));
    if !m.looked_up() {
        let _ = write!(
            out,
            r#"<p id="match-none">{}</p></section>"#,
            lang.t("req.not_searched")
        );
        return out;
    }
    let mut facts = String::new();
    if let Some(anchor) = &m.anchor {
        let _ = write!(
            facts,
            "<dt>{}</dt><dd>{}</dd>",
            lang.t("match.anchor"),
            esc(&lang.label("anchor", anchor))
        );
    }
    if let Some(at) = &m.at {
        let shown = DateTime::parse_from_rfc3339(at)
            .map(|t| when(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| at.clone());
        let _ = write!(
            facts,
            "<dt>{}</dt><dd>{}</dd>",
            lang.t("match.at"),
            esc(&shown)
        );
    }
    if let Some(f) = &m.fingerprint {
        let _ = write!(
            facts,
            r#"<dt>{}</dt><dd><code id="fingerprint" title="{f}">{short}…</code></dd>"#,
            lang.t("match.fingerprint"),
            f = esc(f),
            short = esc(&f[..12.min(f.len())]),
        );
    }
    if let Some(approval) = &d.approval {
        let _ = write!(
            facts,
            r#"<dt>{}</dt><dd id="approval">{} · {} · <code>{}…</code>{}{}</dd>"#,
            lang.t("match.approved"),
            esc(approval["by"].as_str().unwrap_or_default()),
            esc(&lang.label("kind", approval["kind"].as_str().unwrap_or_default())),
            esc(&approval["fingerprint"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .take(12)
                .collect::<String>()),
            if approval["override_conflicts"].as_bool() == Some(true) {
                format!(" · {}", lang.t("match.overrode_conflicts"))
            } else {
                String::new()
            },
            if approval["override_obligations"].as_bool() == Some(true) {
                format!(" · {}", lang.t("match.overrode_obligations"))
            } else {
                String::new()
            },
        );
    }
    if !facts.is_empty() {
        let _ = write!(out, r#"<dl class="facts">{facts}</dl>"#);
    }
    if d.linked && m.anchor.as_deref() != Some("staff_link") {
        let _ = write!(
            out,
            r#"<p class="hint">{}</p>"#,
            lang.t("match.before_link")
        );
    }
    if m.stores.iter().all(|s| s.tables.is_empty()) {
        let _ = write!(out, r#"<p id="match-empty">{}</p>"#, lang.t("match.nobody"));
    } else {
        let _ = write!(
            out,
            r#"<div class="scroll"><table class="match"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>e-mail</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
            lang.t("match.store"),
            lang.t("match.table"),
            lang.t("match.bound"),
            lang.t("req.iin"),
            lang.t("match.phone"),
            lang.t("match.outside"),
            lang.t("match.via"),
        );
        for s in &m.stores {
            for t in &s.tables {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td><strong>{}</strong></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s.store),
                    esc(&t.table),
                    t.bound,
                    count_cell(t.email),
                    count_cell(t.iin),
                    count_cell(t.phone),
                    count_cell(t.outside),
                    esc(t.via.as_deref().unwrap_or("")),
                );
            }
        }
        out.push_str("</tbody></table></div>");
        let _ = write!(out, r#"<p class="hint">{}</p>"#, lang.t("match.legend"));
    }
    for (key, id, items) in [
        ("match.conflicts", "match-conflicts", &m.conflicts),
        ("match.obligations", "match-obligations", &m.obligations),
        ("match.unreached", "match-unreached", &m.unreached),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<h3>{}</h3><ul class="error" id="{id}">"#,
            lang.t(key)
        );
        for i in items {
            let _ = write!(out, "<li>{}</li>", esc(i));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}

/// The failed items of one stage (from the dashboard).
pub fn failures(lang: Lang, session: &Session, stage: Stage, items: &[FailedItem]) -> String {
    let title = lang.t(match stage {
        Stage::Inbound => "dash.failed_inbound",
        Stage::StoreTasks => "dash.failed_store_tasks",
        Stage::Emails => "dash.failed_emails",
    });
    let mut body = format!(r#"<h1>{}</h1>"#, esc(title));
    let _ = write!(
        body,
        r#"<p class="hint">{}</p>"#,
        lang.t(match stage {
            Stage::Inbound => "failures.inbound_hint",
            Stage::StoreTasks => "failures.tasks_hint",
            Stage::Emails => "failures.emails_hint",
        })
    );
    if items.is_empty() {
        let _ = write!(body, r#"<p class="empty">{}</p>"#, lang.t("queue.empty"));
        return layout(lang, title, Some(session), &body);
    }
    let _ = write!(
        body,
        r#"<div class="scroll"><table class="failures"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        lang.t("col.at"),
        lang.t("col.request"),
        lang.t("failures.what"),
        lang.t("failures.attempts"),
        lang.t("failures.error"),
    );
    for i in items {
        let request = match (i.request_id, &i.reference) {
            (Some(id), Some(reference)) => {
                format!(r#"<a href="/requests/{id}">{}</a>"#, esc(reference))
            }
            _ => String::new(),
        };
        let action = if stage == Stage::Inbound {
            format!(
                r#"<a href="/inbound/{}/raw" download>{}</a>"#,
                i.id,
                lang.t("req.download_raw")
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{request}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{action}</td></tr>",
            i.id,
            when(i.at),
            esc(&i.what),
            i.attempts,
            esc(&i.error),
        );
    }
    body.push_str("</tbody></table></div>");
    layout(lang, title, Some(session), &body)
}

fn audit_table(lang: Lang, entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return format!("<p>{}</p>", lang.t("queue.empty"));
    }
    let mut out = format!(
        r#"<div class="scroll"><table class="audit"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>hash</th></tr></thead><tbody>"#,
        lang.t("col.at"),
        lang.t("col.actor"),
        lang.t("col.action"),
        lang.t("col.request"),
        lang.t("col.before"),
        lang.t("col.after"),
    );
    for e in entries {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td><code title="{}">{}…</code></td></tr>"#,
            e.id,
            when(e.at),
            esc(&e.actor),
            esc(&e.action),
            e.request_id
                .map(|id| format!(r#"<a href="/requests/{id}">{id}</a>"#))
                .unwrap_or_default(),
            esc(&serde_json::to_string(&e.before).unwrap_or_default()),
            esc(&serde_json::to_string(&e.after).unwrap_or_default()),
            esc(&e.hash),
            esc(&e.hash[..12.min(e.hash.len())]),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

pub fn audit(
    lang: Lang,
    session: &Session,
    verification: &Verification,
    entries: &[AuditEntry],
) -> String {
    let mut body = format!("<h1>{}</h1>", lang.t("audit.title"));
    match verification {
        Verification::Intact { entries, head } => {
            let _ = write!(
                body,
                r#"<p class="notice" id="chain">{} ({entries} {}) · head <code>{}</code></p>"#,
                lang.t("audit.intact"),
                lang.t("audit.entries"),
                esc(head)
            );
        }
        Verification::Broken { id, reason, .. } => {
            let _ = write!(
                body,
                r#"<p class="error" id="chain">{} {id}: {}</p>"#,
                lang.t("audit.broken"),
                esc(reason)
            );
        }
    }
    body.push_str(&audit_table(lang, entries));
    layout(lang, lang.t("audit.title"), Some(session), &body)
}

pub fn staff(
    lang: Lang,
    session: &Session,
    rows: &[(String, String, bool)],
    message: Option<&str>,
) -> String {
    let mut body = format!("<h1>{}</h1>", lang.t("nav.staff"));
    if let Some(m) = message {
        let _ = write!(body, r#"<p class="notice">{}</p>"#, esc(m));
    }
    let _ = write!(
        body,
        r#"<div class="scroll"><table><thead><tr><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        lang.t("col.email"),
        lang.t("col.role")
    );
    for (email, role, active) in rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(email),
            esc(role),
            if *active { "" } else { "inactive" }
        );
    }
    let _ = write!(
        body,
        r#"</tbody></table></div><h2>{add}</h2><form method="post" action="/staff">
<input type="hidden" name="csrf" value="{csrf}">
<label>{le}<input type="email" name="email" required></label>
<label>{lr}<select name="role"><option value="reviewer">reviewer</option><option value="admin">admin</option></select></label>
<label>{lp}<input type="password" name="password" minlength="12" required autocomplete="new-password"></label>
<p class="hint">{hint}</p><button type="submit">{add}</button></form>"#,
        add = lang.t("staff.add"),
        csrf = esc(&session.csrf_token),
        le = lang.t("col.email"),
        lr = lang.t("col.role"),
        lp = lang.t("login.password"),
        hint = lang.t("staff.password_hint"),
    );
    layout(lang, lang.t("nav.staff"), Some(session), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
