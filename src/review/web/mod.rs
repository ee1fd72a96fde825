//! The console over HTTP (axum): server-rendered pages, forms with CSRF tokens, no JavaScript.
//!
//! Routes (all but `/login` and `/static/*` need a session; every POST needs the CSRF token):
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | GET | `/login` | sign-in form |
//! | POST | `/login` | sign in (lockout after `console.lockout_attempts` failures) |
//! | POST | `/logout` | sign out |
//! | GET | `/` | dashboard counts and the queue (`?status=`, `?kind=`), by deadline |
//! | GET | `/requests/{id}` | one request: message as text, understanding, timeline, e-mails, audit |
//! | GET | `/requests/{id}/raw` | the original .eml, as a download |
//! | GET | `/requests/{id}/attachments/{n}` | attachment `n`, as a download |
//! | POST | `/requests/{id}/approve` | approve as `kind` on the match `fingerprint` shown (`override_conflicts`, `override_obligations`) |
//! | POST | `/requests/{id}/close` | close without action (`note`) |
//! | POST | `/requests/{id}/retry` | send a failed request back through processing |
//! | POST | `/requests/{id}/link` | link to a subject (`email`, `iin`, `phone`) |
//! | POST | `/requests/{id}/tasks/{task_id}/retry` | replay a failed store task |
//! | POST | `/requests/{id}/tasks/{task_id}/done` | mark a manual / processor task done (`note`) |
//! | POST | `/requests/{id}/reject` | reject with `reason` |
//! | POST | `/requests/{id}/ask` | ask the sender `question` |
//! | GET | `/failures/{stage}` | failed items of a stage: `inbound`, `tasks`, `emails` |
//! | GET | `/inbound/{id}/raw` | a stored message triage gave up on, as a download |
//! | GET | `/audit` | the audit log and the chain's verification |
//! | GET, POST | `/staff` | staff accounts (admin only) |
//! | GET | `/static/console.css` | the style sheet |
//!
//! Every response carries a strict Content-Security-Policy, `nosniff`, `no-referrer`, and
//! (except the style sheet) `Cache-Control: no-store`.

// Handlers return early with a ready `Response` as the error: that is how axum reads best.
#![allow(clippy::result_large_err)]

pub mod i18n;
pub mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tokio_util::sync::CancellationToken;
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth::{self, LoginOutcome, LoginPolicy, Role, Session};
use super::decisions::{Decider, Decision, DecisionError};
use crate::config::ConsoleSettings;
use crate::domain::{Language, RequestKind};

pub const SESSION_COOKIE: &str = "dsr_session";
pub const LOGIN_CSRF_COOKIE: &str = "dsr_login_csrf";
pub const LANG_COOKIE: &str = "dsr_lang";

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSS: &str = include_str!("console.css");

#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

struct Inner {
    decider: Decider,
    settings: ConsoleSettings,
}

impl Console {
    pub fn new(decider: Decider, settings: ConsoleSettings) -> Self {
        Self {
            inner: Arc::new(Inner { decider, settings }),
        }
    }

    fn pool(&self) -> &sqlx::PgPool {
        self.inner.decider.pool()
    }

    fn policy(&self) -> LoginPolicy {
        let s = &self.inner.settings;
        LoginPolicy {
            lockout_attempts: s.lockout_attempts,
            lockout_minutes: s.lockout_minutes,
            session_minutes: s.session_minutes,
        }
    }

    /// A session or CSRF cookie: `HttpOnly`, `SameSite=Strict`, `Secure` when configured;
    /// `max_age_secs` 0 removes it.
    fn cookie(&self, name: &'static str, value: String, max_age_secs: u64) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(cookie_age(max_age_secs))
            .secure(self.inner.settings.secure_cookie)
            .build()
    }

    /// The router, with security headers on every response.
    pub fn router(self) -> Router {
        Router::new()
            .route("/login", get(login_form).post(login_submit))
            .route("/logout", post(logout))
            .route("/", get(queue_page))
            .route("/requests/{id}", get(request_page))
            .route("/requests/{id}/raw", get(raw_download))
            .route(
                "/requests/{id}/attachments/{index}",
                get(attachment_download),
            )
            .route("/requests/{id}/approve", post(approve))
            .route("/requests/{id}/reject", post(reject))
            .route("/requests/{id}/close", post(close))
            .route("/requests/{id}/retry", post(retry_request))
            .route("/failures/{stage}", get(failures_page))
            .route("/inbound/{id}/raw", get(inbound_raw_download))
            .route("/requests/{id}/ask", post(ask))
            .route("/requests/{id}/link", post(link_subject))
            .route("/requests/{id}/tasks/{task_id}/retry", post(retry_task))
            .route("/requests/{id}/tasks/{task_id}/done", post(task_done))
            .route("/audit", get(audit_page))
            .route("/staff", get(staff_page).post(staff_add))
            .route("/static/console.css", get(stylesheet))
            .fallback(not_found)
            .layer(middleware::from_fn(remember_language))
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            // The style sheet sets its own (public, cached).
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            .with_state(self)
    }
}

fn cookie_age(secs: u64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `?lang=` on any page is remembered in the `dsr_lang` cookie (for a year).
async fn remember_language(request: Request, next: Next) -> Response {
    let lang = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("lang="))
            .and_then(i18n::parse_language)
    });
    let response = next.run(request).await;
    match lang {
        Some(lang) => {
            let cookie = Cookie::build((LANG_COOKIE, lang.as_str()))
                .path("/")
                .same_site(SameSite::Strict)
                .max_age(cookie_age(31_536_000));
            (CookieJar::new().add(cookie), response).into_response()
        }
        None => response,
    }
}

fn language(jar: &CookieJar, headers: &HeaderMap, query: &HashMap<String, String>) -> Language {
    query
        .get("lang")
        .and_then(|l| i18n::parse_language(l))
        .or_else(|| {
            jar.get(LANG_COOKIE)
                .and_then(|c| i18n::parse_language(c.value()))
        })
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(i18n::from_accept_language)
        })
        .unwrap_or(Language::Ru)
}

/// Either a page to show or an early response (redirect to sign in, error page).
type Page = Result<Response, Response>;

/// A rendered page; a template that fails to render (a bug the unit tests exist to catch) is
/// logged without the page's values and answered with a bare 500.
fn html(status: StatusCode, body: Result<String, minijinja::Error>) -> Response {
    match body {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            // The kind and place only: the error's detail could quote the page's values.
            tracing::error!(
                "console: template {} line {}: {}",
                e.name().unwrap_or("?"),
                e.line().unwrap_or(0),
                e.kind()
            );
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!DOCTYPE html><title>500</title><p>Internal error.</p>"),
            )
                .into_response()
        }
    }
}

/// The error page with one of the console's own messages.
fn error_page(
    status: StatusCode,
    lang: Language,
    session: Option<&Session>,
    message: &str,
) -> Response {
    html(status, pages::error(lang, session, message))
}

fn internal(lang: Language, session: Option<&Session>, e: impl std::fmt::Display) -> Response {
    tracing::error!("console: {e}");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        lang,
        session,
        i18n::text(lang, "error.internal"),
    )
}

async fn require_session(
    console: &Console,
    jar: &CookieJar,
    lang: Language,
) -> Result<Session, Response> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Err(Redirect::to("/login").into_response());
    };
    match auth::session(console.pool(), cookie.value()).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(internal(lang, None, e)),
    }
}

fn check_csrf(
    session: &Session,
    form: &HashMap<String, String>,
    lang: Language,
) -> Result<(), Response> {
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    if auth::tokens_equal(sent, &session.csrf_token) {
        Ok(())
    } else {
        tracing::warn!(
            staff_id = session.staff.id,
            "console: POST without a valid CSRF token"
        );
        Err(html(
            StatusCode::FORBIDDEN,
            pages::error(lang, Some(session), i18n::text(lang, "error.csrf")),
        ))
    }
}

async fn login_form(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let lang = language(&jar, &headers, &query);
    let token = auth::random_token();
    let page = html(StatusCode::OK, pages::login(lang, &token, None));
    let jar = jar.add(console.cookie(LOGIN_CSRF_COOKIE, token, 3600));
    (jar, page).into_response()
}

async fn login_submit(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let lang = language(&jar, &headers, &HashMap::new());
    let cookie_token = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let sent = form.get("csrf").map(String::as_str).unwrap_or("");
    if cookie_token.is_empty() || !auth::tokens_equal(sent, &cookie_token) {
        return html(
            StatusCode::FORBIDDEN,
            pages::error(lang, None, i18n::text(lang, "error.csrf")),
        );
    }
    let email = form.get("email").map(String::as_str).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let outcome = match auth::login(console.pool(), email, password, console.policy()).await {
        Ok(o) => o,
        Err(e) => return internal(lang, None, e),
    };
    let again = |message: String| {
        let token = auth::random_token();
        let page = html(
            StatusCode::UNAUTHORIZED,
            pages::login(lang, &token, Some(&message)),
        );
        let jar = CookieJar::new().add(console.cookie(LOGIN_CSRF_COOKIE, token, 3600));
        (jar, page).into_response()
    };
    match outcome {
        LoginOutcome::Success { cookie, session } => {
            tracing::info!(staff_id = session.staff.id, "console: signed in");
            let jar = CookieJar::new()
                .add(console.cookie(
                    SESSION_COOKIE,
                    cookie,
                    console.inner.settings.session_minutes * 60,
                ))
                .add(console.cookie(LOGIN_CSRF_COOKIE, String::new(), 0));
            (jar, Redirect::to("/")).into_response()
        }
        LoginOutcome::Invalid => again(i18n::text(lang, "login.invalid").to_owned()),
        LoginOutcome::Locked { until } => again(format!(
            "{} {}.",
            i18n::text(lang, "login.locked"),
            until
                .with_timezone(&crate::request::deadline::almaty())
                .format("%H:%M")
        )),
    }
}

async fn logout(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    check_csrf(&session, &form, lang)?;
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        auth::logout(console.pool(), cookie.value())
            .await
            .map_err(|e| internal(lang, None, e))?;
    }
    let jar = CookieJar::new().add(console.cookie(SESSION_COOKIE, String::new(), 0));
    Ok((jar, Redirect::to("/login")).into_response())
}

fn non_empty(query: &HashMap<String, String>, key: &str) -> Option<String> {
    query
        .get(key)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

async fn queue_page(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &query);
    let session = require_session(&console, &jar, lang).await?;
    let status =
        non_empty(&query, "status").filter(|s| s == "all" || super::STATUSES.contains(&s.as_str()));
    let kind = non_empty(&query, "kind").filter(|k| k.parse::<RequestKind>().is_ok());
    let filter = super::QueueFilter {
        status: status.clone(),
        kind: kind.clone(),
        limit: 500,
    };
    let fail = |e: sqlx::Error| internal(lang, Some(&session), e);
    let mut conn = console.pool().acquire().await.map_err(fail)?;
    let dashboard = super::dashboard(&mut conn).await.map_err(fail)?;
    let items = super::queue(&mut conn, console.inner.decider.calendar(), &filter)
        .await
        .map_err(fail)?;
    Ok(html(
        StatusCode::OK,
        pages::queue(
            lang,
            &session,
            &pages::QueuePage {
                dashboard: &dashboard,
                items: &items,
                status: status.as_deref(),
                kind: kind.as_deref(),
            },
        ),
    ))
}

async fn request_page(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &query);
    let session = require_session(&console, &jar, lang).await?;
    let mut conn = console
        .pool()
        .acquire()
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    let detail = super::request_detail(&mut conn, console.inner.decider.calendar(), id)
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    let Some(detail) = detail else {
        return Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        ));
    };
    let done = query.get("done").map(String::as_str);
    Ok(html(
        StatusCode::OK,
        pages::request(lang, &session, &detail, done),
    ))
}

fn download(name: &str, bytes: Vec<u8>) -> Response {
    // Only a safe subset of the name reaches the header; the bytes are opaque.
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

async fn raw_download(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    let mut conn = console
        .pool()
        .acquire()
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    match super::raw_message(&mut conn, id).await {
        Ok(Some(raw)) => Ok(download(&format!("request-{id}.eml"), raw)),
        Ok(None) => Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        )),
        Err(e) => Err(internal(lang, Some(&session), e)),
    }
}

async fn attachment_download(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, index)): Path<(i64, usize)>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    let mut conn = console
        .pool()
        .acquire()
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    let raw = super::raw_message(&mut conn, id)
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    match raw.and_then(|raw| super::message::attachment(&raw, index)) {
        Some((name, bytes)) => Ok(download(&name, bytes)),
        None => Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        )),
    }
}

async fn decide(
    console: Console,
    jar: CookieJar,
    headers: HeaderMap,
    id: i64,
    form: HashMap<String, String>,
    make: impl FnOnce(&HashMap<String, String>) -> Result<Decision, String>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    check_csrf(&session, &form, lang)?;
    let decision = make(&form).map_err(|m| {
        html(
            StatusCode::BAD_REQUEST,
            pages::error(lang, Some(&session), &m),
        )
    })?;
    match console
        .inner
        .decider
        .decide(&session.staff, id, decision)
        .await
    {
        Ok(done) => {
            Ok(Redirect::to(&format!("/requests/{id}?done={}", done.outcome)).into_response())
        }
        Err(DecisionError::NotFound) => Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        )),
        Err(e @ (DecisionError::NotAllowed(_) | DecisionError::Invalid(_))) => Err(html(
            StatusCode::CONFLICT,
            pages::error(lang, Some(&session), &e.to_string()),
        )),
        Err(DecisionError::Failed(e)) => Err(internal(lang, Some(&session), format!("{e:#}"))),
    }
}

async fn approve(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        let kind = f.get("kind").map(String::as_str).unwrap_or("");
        let ticked = |name: &str| f.get(name).is_some_and(|v| !v.is_empty() && v != "0");
        kind.parse::<RequestKind>()
            .map(|kind| Decision::Approve {
                kind,
                fingerprint: f.get("fingerprint").cloned().unwrap_or_default(),
                override_conflicts: ticked("override_conflicts"),
                override_obligations: ticked("override_obligations"),
            })
            .map_err(|e| e.to_string())
    })
    .await
}

async fn close(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        Ok(Decision::Close {
            note: f.get("note").cloned().unwrap_or_default(),
        })
    })
    .await
}

async fn retry_request(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |_| {
        Ok(Decision::RetryRequest)
    })
    .await
}

async fn failures_page(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(stage): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &query);
    let session = require_session(&console, &jar, lang).await?;
    let Some(stage) = super::Stage::parse(&stage) else {
        return Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        ));
    };
    let fail = |e: sqlx::Error| internal(lang, Some(&session), e);
    let mut conn = console.pool().acquire().await.map_err(fail)?;
    let items = super::failed(&mut conn, stage, 500).await.map_err(fail)?;
    Ok(html(
        StatusCode::OK,
        pages::failures(lang, &session, stage, &items),
    ))
}

async fn inbound_raw_download(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    let mut conn = console
        .pool()
        .acquire()
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    match super::failed_inbound_raw(&mut conn, id).await {
        Ok(Some(raw)) => Ok(download(&format!("message-{id}.eml"), raw)),
        Ok(None) => Err(html(
            StatusCode::NOT_FOUND,
            pages::error(lang, Some(&session), i18n::text(lang, "error.not_found")),
        )),
        Err(e) => Err(internal(lang, Some(&session), e)),
    }
}

async fn link_subject(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        let field = |name: &str| f.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut subject = crate::stores::SubjectIds::default();
        if let Some(email) = field("email") {
            let email = crate::domain::EmailAddress::parse(email)
                .map_err(|_| "the e-mail address is not valid".to_owned())?;
            subject.emails.push(email.to_string());
        }
        if let Some(iin) = field("iin") {
            let iin = crate::domain::Iin::parse(iin).map_err(|e| format!("IIN: {e}"))?;
            subject.iins.push(iin.to_string());
        }
        if let Some(phone) = field("phone") {
            let phone = crate::domain::Phone::parse(phone)
                .ok_or_else(|| "the phone number is not valid".to_owned())?;
            subject.phones.push(phone.to_string());
        }
        Ok(Decision::LinkSubject { subject })
    })
    .await
}

async fn retry_task(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, task_id)): Path<(i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |_| {
        Ok(Decision::RetryStoreTask { task_id })
    })
    .await
}

async fn task_done(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((id, task_id)): Path<(i64, i64)>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        Ok(Decision::MarkStoreTaskDone {
            task_id,
            note: f.get("note").cloned().unwrap_or_default(),
        })
    })
    .await
}

async fn reject(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        Ok(Decision::Reject {
            reason: f.get("reason").cloned().unwrap_or_default(),
        })
    })
    .await
}

async fn ask(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    decide(console, jar, headers, id, form, |f| {
        Ok(Decision::AskInformation {
            question: f.get("question").cloned().unwrap_or_default(),
        })
    })
    .await
}

async fn audit_page(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &query);
    let session = require_session(&console, &jar, lang).await?;
    let fail = |e: sqlx::Error| internal(lang, Some(&session), e);
    let mut conn = console.pool().acquire().await.map_err(fail)?;
    let verification = super::audit::verify(&mut conn).await.map_err(fail)?;
    let mut entries = super::audit::recent(&mut conn, 200).await.map_err(fail)?;
    for e in &mut entries {
        super::mask::codes_in_json(&mut e.before);
        super::mask::codes_in_json(&mut e.after);
    }
    Ok(html(
        StatusCode::OK,
        pages::audit(lang, &session, &verification, &entries),
    ))
}

async fn staff_rows(console: &Console) -> sqlx::Result<Vec<pages::StaffRow>> {
    use sqlx::Row;
    sqlx::query("SELECT email, role, active FROM staff ORDER BY lower(email)")
        .fetch_all(console.pool())
        .await?
        .into_iter()
        .map(|r| {
            Ok(pages::StaffRow {
                email: r.try_get("email")?,
                role: r.try_get("role")?,
                active: r.try_get("active")?,
            })
        })
        .collect()
}

fn require_admin(session: &Session, lang: Language) -> Result<(), Response> {
    if session.staff.role == Role::Admin {
        Ok(())
    } else {
        Err(html(
            StatusCode::FORBIDDEN,
            pages::error(lang, Some(session), i18n::text(lang, "error.forbidden")),
        ))
    }
}

async fn staff_page(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &query);
    let session = require_session(&console, &jar, lang).await?;
    require_admin(&session, lang)?;
    let rows = staff_rows(&console)
        .await
        .map_err(|e| internal(lang, Some(&session), e))?;
    Ok(html(
        StatusCode::OK,
        pages::staff(lang, &session, &rows, query.contains_key("added")),
    ))
}

async fn staff_add(
    State(console): State<Console>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    let lang = language(&jar, &headers, &HashMap::new());
    let session = require_session(&console, &jar, lang).await?;
    check_csrf(&session, &form, lang)?;
    require_admin(&session, lang)?;
    let role = form
        .get("role")
        .and_then(|r| r.parse::<Role>().ok())
        .unwrap_or(Role::Reviewer);
    let result = auth::add_staff(
        console.pool(),
        form.get("email").map(String::as_str).unwrap_or(""),
        role,
        form.get("password").map(String::as_str).unwrap_or(""),
        &session.staff.email,
    )
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/staff?added=1").into_response()),
        Err(e) => Err(html(
            StatusCode::BAD_REQUEST,
            pages::error(lang, Some(&session), &e.to_string()),
        )),
    }
}

async fn stylesheet() -> Response {
    let mut r = CSS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

async fn not_found(jar: CookieJar, headers: HeaderMap) -> Response {
    let lang = language(&jar, &headers, &HashMap::new());
    html(
        StatusCode::NOT_FOUND,
        pages::error(lang, None, i18n::text(lang, "error.not_found")),
    )
}

/// Serves the console on `console.bind` until `shutdown`. When the address is taken (another
/// worker on this host serves it) it retries every 30 s rather than stopping the worker.
pub async fn serve(console: Console, bind: SocketAddr, shutdown: CancellationToken) {
    let mut warned = false;
    let listener = loop {
        match tokio::net::TcpListener::bind(bind).await {
            Ok(l) => break l,
            Err(e) => {
                if !warned {
                    tracing::warn!(
                        "console: cannot listen on {bind} (console.bind): {e}; retrying every 30 s"
                    );
                    warned = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {},
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    };
    tracing::info!("console: serving on http://{bind}/");
    let app = console.router();
    let stop = shutdown.clone();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::warn!("console: server stopped: {e}");
    }
}
