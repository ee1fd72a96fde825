//! The console's pages: minijinja templates in `templates/console/*.html`, embedded in the
//! binary (a deployment without the templates directory still serves the console) and
//! HTML-escaped by their extension. Strings come from [`super::i18n`] through `t("key")`.
//!
//! What a template is given is prepared here: the request as the database read it, plus what
//! the page decides on (which decisions the status allows, the identifiers to list).

use chrono::{DateTime, Utc};
use minijinja::value::{Value, ViaDeserialize};
use minijinja::{Environment, Error, ErrorKind, State};
use serde::Serialize;
use std::sync::LazyLock;

use super::i18n;
use crate::domain::{Language, RequestKind, RequestStatus};
use crate::request::deadline::almaty;
use crate::review::audit::{AuditEntry, Verification};
use crate::review::auth::{Role, Session};
use crate::review::decisions::Decision;
use crate::review::{Dashboard, FailedItem, QueueItem, RequestDetail, Stage, STATUSES};

/// The console templates, by name.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../templates/console/base.html"),
    ),
    (
        "macros.html",
        include_str!("../../../templates/console/macros.html"),
    ),
    (
        "login.html",
        include_str!("../../../templates/console/login.html"),
    ),
    (
        "error.html",
        include_str!("../../../templates/console/error.html"),
    ),
    (
        "queue.html",
        include_str!("../../../templates/console/queue.html"),
    ),
    (
        "request.html",
        include_str!("../../../templates/console/request.html"),
    ),
    (
        "request_decide.html",
        include_str!("../../../templates/console/request_decide.html"),
    ),
    (
        "request_match.html",
        include_str!("../../../templates/console/request_match.html"),
    ),
    (
        "failures.html",
        include_str!("../../../templates/console/failures.html"),
    ),
    (
        "audit.html",
        include_str!("../../../templates/console/audit.html"),
    ),
    (
        "staff.html",
        include_str!("../../../templates/console/staff.html"),
    ),
];

/// The page's language, as the templates' `lang`.
fn language_of(state: &State) -> Language {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(Language::Ru)
}

/// `t("key")`: the string of the page's language; a key no strings file defines is an error
/// (the unit tests render every page, so it never reaches staff).
fn t(state: &State, key: &str) -> Result<String, Error> {
    i18n::get(language_of(state), key)
        .map(str::to_owned)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UndefinedError,
                format!("no console string `{key}`"),
            )
        })
}

/// `label("status", value)`: a machine value's label, or the value itself.
fn label(state: &State, prefix: &str, value: &str) -> String {
    i18n::label(language_of(state), prefix, value).into_owned()
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `|when`: a timestamp in Almaty time, to the minute (text that is not one, as it is).
fn when(value: &str) -> String {
    match parse_time(value) {
        Some(at) => at
            .with_timezone(&almaty())
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        None => value.to_owned(),
    }
}

/// `is past`: a timestamp before now.
fn is_past(value: &str) -> bool {
    parse_time(value).is_some_and(|at| at < Utc::now())
}

fn json(value: ViaDeserialize<serde_json::Value>) -> String {
    serde_json::to_string(&*value).unwrap_or_default()
}

fn json_pretty(value: ViaDeserialize<serde_json::Value>) -> String {
    serde_json::to_string_pretty(&*value).unwrap_or_default()
}

/// The console's template environment (built once).
pub fn environment() -> &'static Environment<'static> {
    static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Errors never carry the context's values (they would reach the log).
        env.set_debug(false);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("console template {name}: {e}"));
        }
        env.add_function("t", t);
        env.add_function("label", label);
        env.add_filter("when", when);
        env.add_filter("json", json);
        env.add_filter("json_pretty", json_pretty);
        env.add_test("past", is_past);
        env
    });
    &ENV
}

/// Who is signed in, as the page frame shows it.
#[derive(Serialize)]
struct SessionView<'a> {
    email: &'a str,
    csrf: &'a str,
    admin: bool,
}

impl<'a> SessionView<'a> {
    fn of(s: &'a Session) -> Self {
        Self {
            email: &s.staff.email,
            csrf: &s.csrf_token,
            admin: s.staff.role == Role::Admin,
        }
    }
}

/// Renders `name` with the frame's values (`lang`, `session`) and the page's own.
fn render(
    name: &str,
    lang: Language,
    session: Option<&Session>,
    page: impl Serialize,
) -> Result<String, Error> {
    let frame = minijinja::context! {
        lang => lang.reply_language().as_str(),
        session => session.map(SessionView::of),
    };
    environment()
        .get_template(name)?
        .render(minijinja::context! { ..frame, ..Value::from_serialize(page) })
}

pub fn login(lang: Language, csrf: &str, error: Option<&str>) -> Result<String, Error> {
    render(
        "login.html",
        lang,
        None,
        minijinja::context! { csrf, error },
    )
}

pub fn error(lang: Language, session: Option<&Session>, message: &str) -> Result<String, Error> {
    render("error.html", lang, session, minijinja::context! { message })
}

pub struct QueuePage<'a> {
    pub dashboard: &'a Dashboard,
    pub items: &'a [QueueItem],
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
}

fn kinds() -> Vec<&'static str> {
    RequestKind::ALL.iter().map(|k| k.as_str()).collect()
}

pub fn queue(lang: Language, session: &Session, page: &QueuePage<'_>) -> Result<String, Error> {
    render(
        "queue.html",
        lang,
        Some(session),
        minijinja::context! {
            dashboard => page.dashboard,
            items => page.items,
            status => page.status,
            kind => page.kind,
            statuses => STATUSES,
            kinds => kinds(),
        },
    )
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

/// Which decisions the request's status allows.
#[derive(Serialize, Default)]
struct DecideView {
    open: bool,
    received: bool,
    executing: bool,
    approve: bool,
    retry: bool,
    link: bool,
    ask: bool,
}

impl DecideView {
    fn of(status: &str) -> Self {
        let Some(status) = status
            .parse::<RequestStatus>()
            .ok()
            .filter(|s| !s.is_final())
        else {
            return Self::default();
        };
        let can = |decision: &Decision| decision.allowed_in(status);
        Self {
            open: true,
            received: status == RequestStatus::Received,
            executing: status == RequestStatus::Executing,
            approve: can(&Decision::Approve {
                kind: RequestKind::Erasure,
                fingerprint: String::new(),
                override_conflicts: false,
                override_obligations: false,
            }),
            retry: can(&Decision::RetryRequest),
            link: can(&Decision::LinkSubject {
                subject: Default::default(),
            }),
            ask: can(&Decision::AskInformation {
                question: String::new(),
            }),
        }
    }
}

/// What staff approved, on which facts (`requests.approval`).
#[derive(Serialize)]
struct ApprovalView {
    by: String,
    kind: String,
    /// The first 12 characters of the approved match's fingerprint.
    fingerprint: String,
    override_conflicts: bool,
    override_obligations: bool,
}

impl ApprovalView {
    fn of(approval: &serde_json::Value) -> Self {
        let text = |key: &str| approval[key].as_str().unwrap_or_default().to_owned();
        Self {
            by: text("by"),
            kind: text("kind"),
            fingerprint: text("fingerprint").chars().take(12).collect(),
            override_conflicts: approval["override_conflicts"].as_bool() == Some(true),
            override_obligations: approval["override_obligations"].as_bool() == Some(true),
        }
    }
}

pub fn request(
    lang: Language,
    session: &Session,
    d: &RequestDetail,
    done: Option<&str>,
) -> Result<String, Error> {
    let u = &d.understanding;
    let done_key = done
        .map(|done| format!("done.{done}"))
        .filter(|key| i18n::get(lang, key).is_some());
    let identifiers: Vec<(&str, String)> = [
        ("req.iin", "iin"),
        ("req.bin", "bin"),
        ("req.phones", "phones"),
        ("req.invalid_iin", "invalid_iin"),
        ("req.also", "also"),
    ]
    .into_iter()
    .filter_map(|(key, field)| {
        let mut values = list_of(&u[field]);
        if field == "also" {
            values = values
                .iter()
                .map(|k| i18n::label(lang, "kind", k).into_owned())
                .collect();
        }
        (!values.is_empty()).then(|| (key, values.join(", ")))
    })
    .collect();
    render(
        "request.html",
        lang,
        Some(session),
        minijinja::context! {
            d,
            done_key,
            reasons => list_of(&u["reasons"]),
            identifiers,
            decide => DecideView::of(&d.item.status),
            approval => d.approval.as_ref().map(ApprovalView::of),
            match_empty => d.subject_match.stores.iter().all(|s| s.tables.is_empty()),
            kinds => kinds(),
        },
    )
}

/// The failed items of one stage (from the dashboard).
pub fn failures(
    lang: Language,
    session: &Session,
    stage: Stage,
    items: &[FailedItem],
) -> Result<String, Error> {
    let (title, hint) = match stage {
        Stage::Inbound => ("dash.failed_inbound", "failures.inbound_hint"),
        Stage::StoreTasks => ("dash.failed_store_tasks", "failures.tasks_hint"),
        Stage::Emails => ("dash.failed_emails", "failures.emails_hint"),
    };
    render(
        "failures.html",
        lang,
        Some(session),
        minijinja::context! { title, hint, items, inbound => stage == Stage::Inbound },
    )
}

pub fn audit(
    lang: Language,
    session: &Session,
    verification: &Verification,
    entries: &[AuditEntry],
) -> Result<String, Error> {
    let chain = match verification {
        Verification::Intact { entries, head } => {
            minijinja::context! { intact => true, entries, head }
        }
        Verification::Broken { id, reason, .. } => {
            minijinja::context! { intact => false, id, reason }
        }
    };
    render(
        "audit.html",
        lang,
        Some(session),
        minijinja::context! { chain, entries },
    )
}

#[derive(Serialize)]
pub struct StaffRow {
    pub email: String,
    pub role: String,
    pub active: bool,
}

pub fn staff(
    lang: Language,
    session: &Session,
    rows: &[StaffRow],
    added: bool,
) -> Result<String, Error> {
    render(
        "staff.html",
        lang,
        Some(session),
        minijinja::context! { staff => rows, added },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::subject_match::MatchView;

    /// A request as the page shows it: every section filled, hostile text in the fields.
    fn sample_detail(status: &str) -> RequestDetail {
        use crate::review::message::{AttachmentView, MessageView};
        use crate::review::subject_match::{StoreMatchView, TableMatch};
        use crate::review::{EmailView, EventView, StoreTaskView};
        let now = Utc::now();
        let hostile = r#"<script>alert("x")</script><img src=x onerror=alert(1)> & 'y'"#;
        let item = QueueItem {
            id: 42,
            reference: "DSR-2026-000042".into(),
            kind: "erasure".into(),
            language: "ru".into(),
            status: status.into(),
            review: true,
            subject: hostile.into(),
            created_at: now,
            due_at: now + chrono::Duration::days(3),
            days_left: 3,
        };
        let entry = AuditEntry {
            id: 7,
            at: now,
            actor: "aigerim@nlg.kz".into(),
            action: "approve".into(),
            request_id: Some(42),
            before: serde_json::json!({"status": "needs_review"}),
            after: serde_json::json!({"status": "approved", "note": hostile}),
            prev_hash: "0".repeat(64),
            hash: "ab".repeat(32),
        };
        RequestDetail {
            item,
            sender: "subject@subjects.test".into(),
            acknowledged_at: Some(now),
            understanding: serde_json::json!({
                "reasons": ["several intents in one message", hostile],
                "iin": ["870221304582"], "bin": [], "phones": ["+77015558023"],
                "invalid_iin": ["123"], "also": ["marketing_opt_out"],
            }),
            inbound_id: 9,
            received_at: now,
            message: MessageView {
                from: "subject@subjects.test".into(),
                to: "info@nlg.kz".into(),
                date: "Mon, 1 Jun 2026 10:00:00 +0500".into(),
                subject: hostile.into(),
                text: format!("Please delete my data.\n{hostile}\n").repeat(20),
                html_source: Some(format!("<html><body>{hostile}</body></html>")),
                attachments: vec![AttachmentView {
                    index: 0,
                    filename: "a\"b<c>.pdf".into(),
                    content_type: "application/pdf".into(),
                    size: 1234,
                }],
                unparsed: false,
                purged_at: None,
            },
            events: (0..10)
                .map(|i| EventView {
                    at: now,
                    event: format!("event_{i}"),
                    detail: serde_json::json!({"n": i, "x": hostile}),
                })
                .collect(),
            emails: vec![EmailView {
                created_at: now,
                sent_at: None,
                status: "failed".into(),
                kind: "acknowledgement".into(),
                subject: "Re: [DSR-2026-000042]".into(),
                body: hostile.into(),
                last_error: Some(hostile.into()),
            }],
            audit: vec![entry.clone(), entry],
            store_tasks: ["failed", "waiting_manual", "done"]
                .iter()
                .enumerate()
                .map(|(i, s)| StoreTaskView {
                    id: i as i64 + 1,
                    store: format!("shop{i}"),
                    status: s.to_string(),
                    attempts: 2,
                    last_error: Some(hostile.into()),
                    plan: serde_json::json!({"delete": ["customers"], "x": hostile}),
                    matched_subjects: vec!["customers: 1".into()],
                })
                .collect(),
            subject_match: MatchView {
                shape: "detailed",
                fingerprint: Some("f".repeat(64)),
                at: Some(now.to_rfc3339()),
                anchor: Some("verified".into()),
                stores: vec![StoreMatchView {
                    store: "shop".into(),
                    tables: vec![TableMatch {
                        table: "customers".into(),
                        bound: 1,
                        email: Some(1),
                        iin: Some(0),
                        phone: None,
                        outside: Some(2),
                        via: Some("orders".into()),
                    }],
                }],
                conflicts: vec![hostile.into()],
                obligations: vec!["unpaid invoice".into()],
                unreached: vec!["crm".into()],
            },
            linked: true,
            approval: Some(serde_json::json!({
                "by": "aigerim@nlg.kz", "kind": "erasure", "fingerprint": "f".repeat(64),
                "override_conflicts": true, "override_obligations": false,
            })),
            failure: Some(hostile.into()),
        }
    }

    fn sample_session(role: crate::review::auth::Role) -> Session {
        Session {
            staff: crate::review::auth::Staff {
                id: 1,
                email: "aigerim@nlg.kz".into(),
                role,
            },
            csrf_token: "tok\"en<".into(),
        }
    }

    const HOSTILE: &str = r#"<script>alert("x")</script><img src=x onerror=alert(1)> & 'y'"#;

    fn assert_inert(page: &str, what: &str) {
        let lower = page.to_lowercase();
        for markup in ["<script", "<img", "onerror=alert(1)>"] {
            assert!(!lower.contains(markup), "{what}: {markup} reached the page");
        }
    }

    /// Every page, in every language, in every state that shows different strings.
    fn every_page(lang: Language) -> Vec<(String, String)> {
        let admin = sample_session(Role::Admin);
        let reviewer = sample_session(Role::Reviewer);
        let mut pages = vec![
            ("login".into(), login(lang, "tok", None).unwrap()),
            (
                "login error".into(),
                login(lang, "tok", Some(HOSTILE)).unwrap(),
            ),
            ("error".into(), error(lang, None, HOSTILE).unwrap()),
            (
                "error signed in".into(),
                error(lang, Some(&reviewer), "x").unwrap(),
            ),
        ];
        let dashboard = Dashboard {
            flagged: 2,
            overdue: 1,
            ..Dashboard::default()
        };
        let d = sample_detail("needs_review");
        let mut overdue = d.item.clone();
        overdue.due_at = Utc::now() - chrono::Duration::days(1);
        overdue.days_left = -1;
        overdue.status = "disputed".into();
        let items = [d.item.clone(), overdue];
        for (status, kind, items) in [
            (None, None, &items[..]),
            (Some("all"), Some("erasure"), &items[..]),
            (Some("failed"), None, &[][..]),
        ] {
            let page = QueuePage {
                dashboard: &dashboard,
                items,
                status,
                kind,
            };
            pages.push((
                format!("queue {status:?}"),
                queue(lang, &admin, &page).unwrap(),
            ));
        }
        for status in RequestStatus::ALL {
            let mut d = sample_detail(status.as_str());
            if status == RequestStatus::Received {
                d.subject_match = MatchView::default();
                d.approval = None;
                d.emails.clear();
                d.store_tasks.clear();
                d.understanding = serde_json::json!({});
            }
            for done in [
                None,
                Some("approved"),
                Some("linked"),
                Some("no_such_outcome"),
            ] {
                pages.push((
                    format!("request {status:?} {done:?}"),
                    request(lang, &reviewer, &d, done).unwrap(),
                ));
            }
        }
        let mut empty = sample_detail("needs_review");
        empty.subject_match.stores.clear();
        empty.subject_match.conflicts.clear();
        empty.subject_match.obligations.clear();
        empty.subject_match.anchor = Some("staff_link".into());
        empty.message.html_source = None;
        empty.message.attachments.clear();
        pages.push((
            "request empty match".into(),
            request(lang, &admin, &empty, None).unwrap(),
        ));
        let failed = FailedItem {
            id: 3,
            at: Utc::now(),
            request_id: Some(42),
            reference: Some("DSR-2026-000042".into()),
            what: HOSTILE.into(),
            attempts: 5,
            error: HOSTILE.into(),
        };
        for stage in [Stage::Inbound, Stage::StoreTasks, Stage::Emails] {
            for items in [vec![], vec![failed.clone()]] {
                pages.push((
                    format!("failures {stage:?} {}", items.len()),
                    failures(lang, &admin, stage, &items).unwrap(),
                ));
            }
        }
        let entries = sample_detail("needs_review").audit;
        for v in [
            Verification::Intact {
                entries: 2,
                head: "ab".repeat(32),
            },
            Verification::Broken {
                id: 2,
                reason: HOSTILE.into(),
                checked: 2,
            },
        ] {
            pages.push((
                format!("audit {v:?}"),
                audit(lang, &admin, &v, &entries).unwrap(),
            ));
        }
        pages.push((
            "audit empty".into(),
            audit(
                lang,
                &admin,
                &Verification::Intact {
                    entries: 0,
                    head: String::new(),
                },
                &[],
            )
            .unwrap(),
        ));
        let rows = [StaffRow {
            email: HOSTILE.into(),
            role: "admin".into(),
            active: false,
        }];
        for added in [false, true] {
            pages.push((
                format!("staff {added}"),
                staff(lang, &admin, &rows, added).unwrap(),
            ));
        }
        pages
    }

    #[test]
    fn every_page_renders_in_every_language_and_shows_text_inert() {
        for lang in i18n::LANGUAGES {
            for (what, page) in every_page(lang) {
                assert!(page.starts_with("<!DOCTYPE html>"), "{lang} {what}");
                assert!(
                    page.contains(&format!(r#"<html lang="{lang}">"#)),
                    "{lang} {what}"
                );
                assert!(!page.contains(">?<"), "{lang} {what}: a missing string");
                assert!(!page.contains(">…<"), "{lang} {what}: a missing string");
                assert_inert(&page, &format!("{lang} {what}"));
            }
        }
        let page = request(
            Language::En,
            &sample_session(Role::Reviewer),
            &sample_detail("needs_review"),
            Some("approved"),
        )
        .unwrap();
        assert!(
            page.contains("&lt;script&gt;"),
            "the HTML source is shown escaped"
        );
        assert!(page.contains(r#"<p class="notice" role="status">Approved: the request"#));
        assert!(page.contains(r#"id="status">needs review</span>"#));
        assert!(
            page.contains(r#"id="override-conflicts""#)
                && page.contains(r#"id="override-obligations""#)
        );
        assert!(page.contains(
            "<td>customers</td><td><strong>1</strong></td><td>1</td><td>0</td><td>—</td>"
        ));
        assert!(page.contains(r#"<input type="hidden" name="csrf" value="tok&quot;en&lt;">"#));
        assert!(
            !page.contains(r#"href="/staff""#),
            "a reviewer has no staff link"
        );
        let kk = login(Language::Kk, "tok", None).unwrap();
        assert!(kk.contains("Қош келдіңіз"));
        let mixed = login(Language::Mixed, "tok", None).unwrap();
        assert!(mixed.contains(r#"<html lang="kk">"#));
    }

    /// Every `t("key")` a template names, and every key the handlers name, is defined in every
    /// language (keys built at run time are covered by rendering every page above).
    #[test]
    fn every_key_used_is_defined() {
        let key = regex::Regex::new(r#"\bt\("([a-z_.]+)"\)"#).unwrap();
        let mut used: Vec<(String, String)> = vec![];
        for (name, source) in TEMPLATES {
            for c in key.captures_iter(source) {
                used.push((name.to_string(), c[1].to_owned()));
            }
        }
        let code = regex::Regex::new(r#"i18n::text\(\s*lang,\s*"([a-z_.]+)""#).unwrap();
        for c in code.captures_iter(include_str!("mod.rs")) {
            used.push(("mod.rs".into(), c[1].to_owned()));
        }
        assert!(used.len() > 100, "{}", used.len());
        assert!(used.iter().any(|(n, _)| n == "mod.rs"));
        for lang in i18n::LANGUAGES {
            for (name, k) in &used {
                assert!(
                    i18n::get(lang, k).is_some(),
                    "{name} uses `{k}`, missing in {lang}.toml"
                );
            }
        }
    }

    /// Render time of the request page (`cargo test --lib request_page_render_time -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore]
    fn request_page_render_time() {
        let d = sample_detail("needs_review");
        let s = sample_session(Role::Admin);
        let n = 500;
        let start = std::time::Instant::now();
        let mut len = 0;
        for _ in 0..n {
            len += request(Language::Ru, &s, &d, Some("approved"))
                .unwrap()
                .len();
        }
        let each = start.elapsed() / n;
        println!(
            "request page: {each:?} per render ({} bytes)",
            len / n as usize
        );
        if let Ok(path) = std::env::var("DSR_DUMP_PAGE") {
            std::fs::write(
                path,
                request(Language::En, &s, &d, Some("approved")).unwrap(),
            )
            .unwrap();
        }
    }
}
