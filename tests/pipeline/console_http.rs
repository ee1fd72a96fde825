//! The staff review console over real HTTP: every route needs a session, every POST a CSRF
//! token, hostile HTML mail is shown as inert text, decisions land in the database with their
//! audit entries, and the audit chain detects tampering.
//!
//! The console runs as `dsr-worker console` would (console + digest only) on a free port of a
//! fresh deployment; requests are written straight into the database, so these tests do not
//! depend on the classifier's current judgement.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dsr_worker::review::audit::{self, Verification};
use dsr_worker::review::auth::{self, Role};
use sqlx::{PgPool, Row};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::helpers::*;

pub const PASSWORD: &str = "correct horse battery staple";

/// A free loopback port (bound and released; the console binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    async fn read(r: reqwest::Response) -> Self {
        let status = r.status().as_u16();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = r.bytes().await.expect("response body").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }
}

/// A client of the console (reqwest) that keeps its cookies itself, so tests see and set them
/// explicitly: reqwest's own cookie store is off, and redirects are returned, not followed.
pub struct Client {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
    pub extra: Vec<(&'static str, String)>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: HashMap::new(),
            extra: vec![],
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("http://{}{path}", self.addr));
        for (k, v) in &self.extra {
            r = r.header(*k, v);
        }
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            r = r.header(reqwest::header::COOKIE, c);
        }
        r
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> HttpResponse {
        let r = HttpResponse::read(r.send().await.expect("the console answers")).await;
        self.keep(&r);
        r
    }

    fn keep(&mut self, r: &HttpResponse) {
        for c in r.all("set-cookie") {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> HttpResponse {
        let r = self.request(reqwest::Method::GET, path);
        self.send(r).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
        let r = self.request(reqwest::Method::POST, path).form(fields);
        self.send(r).await
    }

    /// Signs in through the login form; returns the final response of the POST.
    pub async fn login(&mut self, email: &str, password: &str) -> HttpResponse {
        let form = self.get("/login").await;
        let csrf = csrf_of(&form.text());
        self.post(
            "/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }
}

/// The CSRF token of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A deployment with only the console running on a free port.
pub struct Site {
    pub d: Deployment,
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Site {
    pub async fn start(extra: Vec<(&str, String)>) -> Self {
        let port = free_port();
        let mut env = vec![
            ("DSR__CONSOLE__BIND", format!("127.0.0.1:{port}")),
            ("DSR__CONSOLE__ENABLED", "true".to_owned()),
        ];
        env.extend(extra);
        let d = Deployment::with_env(env).await;
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(dsr_worker::pipeline::wiring::run_console(
            d.settings(),
            shutdown.clone(),
        ));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_listening(addr).await;
        Self {
            d,
            addr,
            shutdown,
            handle,
        }
    }

    pub async fn staff(&self, email: &str, role: Role) {
        auth::add_staff(&self.d.pool, email, role, PASSWORD, "test")
            .await
            .unwrap();
    }

    pub async fn signed_in(&self, email: &str, role: Role) -> Client {
        self.staff(email, role).await;
        let mut c = Client::new(self.addr);
        let r = c.login(email, PASSWORD).await;
        assert_eq!(r.status, 303, "login redirects: {}", r.text());
        c
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(25), self.handle).await;
        self.d.cleanup().await;
    }
}

pub async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes a stored message and its request straight into the database.
pub async fn insert_request(
    pool: &PgPool,
    raw: &[u8],
    status: &str,
    review: bool,
    language: &str,
    due_in: chrono::Duration,
) -> i64 {
    use sha2::Digest;
    let sha = sha2::Sha256::digest(raw).to_vec();
    let inbound: i64 = sqlx::query_scalar(
        "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid, status,
                                       kind, processed_at)
         VALUES ($1, $2, $3, 'INBOX', 1, (SELECT count(*) + 1 FROM inbound_messages), 'request',
                 'erasure', now())
         RETURNING id",
    )
    .bind(&sha)
    .bind(raw)
    .bind(raw.len() as i64)
    .fetch_one(pool)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (reference, inbound_message_id, kind, language, review, status, sender,
                               sender_message_id, subject, understanding, due_at, acknowledged_at)
         VALUES ('DSR-2026-' || lpad($1::text, 6, '0'), $1, 'erasure', $2, $3, $4,
                 'subject-x@subjects.test', $5, 'Subject', $6, now() + $7, now())
         RETURNING id",
    )
    .bind(inbound)
    .bind(language)
    .bind(review)
    .bind(status)
    .bind(format!("{}@subjects.test", token()))
    .bind(serde_json::json!({
        "kind": "erasure", "also": ["marketing_opt_out"], "review": review, "reply": true,
        "language": language, "iin": ["870221304582"], "bin": [], "phones": ["+77015558023"],
        "invalid_iin": [], "reasons": ["several intents in one message"],
    }))
    .bind(due_in)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO request_events (request_id, event, detail) VALUES ($1, 'received', '{}')",
    )
    .bind(id)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// What the processor records of a request's subject (`requests.subject_match`, the current
/// shape): `rows` are the bound (store, table, key) rows, each matched by the address.
pub fn store_match(
    rows: &[(&str, &str, &str)],
    conflicts: &[&str],
    obligations: &[&str],
) -> serde_json::Value {
    let mut stores = serde_json::Map::new();
    for (store, table, _) in rows {
        let tables = stores
            .entry(store.to_string())
            .or_insert_with(|| serde_json::json!({}));
        let t = tables
            .as_object_mut()
            .unwrap()
            .entry(table.to_string())
            .or_insert_with(
                || serde_json::json!({"bound": 0, "email": 0, "iin": 0, "phone": 0, "outside": 0}),
            );
        t["bound"] = serde_json::json!(t["bound"].as_i64().unwrap() + 1);
        t["email"] = serde_json::json!(t["email"].as_i64().unwrap() + 1);
    }
    serde_json::json!({
        "fingerprint": dsr_worker::request::approval::fingerprint(rows.iter().copied()),
        "at": chrono::Utc::now().to_rfc3339(),
        "anchor": "verified",
        "stores": stores,
        "conflicts": conflicts,
        "obligations": obligations,
        "unreached": [],
    })
}

/// Writes `subject_match` as the processor would after looking the subject up.
pub async fn record_match(pool: &PgPool, id: i64, subject_match: &serde_json::Value) {
    sqlx::query("UPDATE requests SET subject_match = $2 WHERE id = $1")
        .bind(id)
        .bind(subject_match)
        .execute(pool)
        .await
        .unwrap();
}

/// The value of the first `<input name="NAME" value="...">` on a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

fn flagged_message() -> Vec<u8> {
    message(
        "client-lawyer@subjects.test",
        "info@nlg.kz",
        "Erasure on behalf of my client",
        "I am a lawyer acting on behalf of my client. Please delete all personal data you hold \
         about him, and unsubscribe him from your newsletters.",
    )
}

fn assert_security_headers(r: &HttpResponse, what: &str) {
    assert_eq!(
        r.header("content-security-policy"),
        Some(dsr_worker::review::web::CSP),
        "{what}: CSP"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}: nosniff"
    );
}

/// Without a session every page redirects to the sign-in form and every POST changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_requires_a_session() {
    let site = Site::start(vec![]).await;
    let id = insert_request(
        &site.d.pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(1),
    )
    .await;
    let mut anon = Client::new(site.addr);
    for path in [
        "/".to_owned(),
        "/?status=all".to_owned(),
        format!("/requests/{id}"),
        format!("/requests/{id}/raw"),
        format!("/requests/{id}/attachments/0"),
        "/audit".to_owned(),
        "/staff".to_owned(),
        "/failures/inbound".to_owned(),
        "/failures/tasks".to_owned(),
        "/failures/emails".to_owned(),
        "/inbound/1/raw".to_owned(),
    ] {
        let r = anon.get(&path).await;
        assert_eq!(r.status, 303, "GET {path}");
        assert_eq!(r.header("location"), Some("/login"), "GET {path}");
        assert_security_headers(&r, &path);
        assert!(!r.text().contains("subject-x@"), "GET {path} leaks nothing");
    }
    for (path, fields) in [
        (format!("/requests/{id}/approve"), vec![("kind", "erasure")]),
        (format!("/requests/{id}/reject"), vec![("reason", "no")]),
        (format!("/requests/{id}/close"), vec![("note", "spam")]),
        (format!("/requests/{id}/retry"), vec![]),
        (format!("/requests/{id}/ask"), vec![("question", "who?")]),
        (
            format!("/requests/{id}/link"),
            vec![("email", "x@subjects.test")],
        ),
        (format!("/requests/{id}/tasks/1/retry"), vec![]),
        (
            format!("/requests/{id}/tasks/1/done"),
            vec![("note", "done")],
        ),
        ("/staff".to_owned(), vec![("email", "x@nlg.kz")]),
        ("/logout".to_owned(), vec![]),
    ] {
        let mut fields = fields.clone();
        fields.push(("csrf", "anything"));
        let r = anon.post(&path, &fields).await;
        assert_eq!(r.status, 303, "POST {path}");
        assert_eq!(r.header("location"), Some("/login"), "POST {path}");
    }
    let status: String = sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    assert_eq!(status, "needs_review");
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    assert_eq!(audit, 0);
    // What is public: the sign-in form, the style sheet, and a 404.
    let login = anon.get("/login").await;
    assert_eq!(login.status, 200);
    assert_security_headers(&login, "/login");
    let set_cookie = login.all("set-cookie").join("\n");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let css = anon.get("/static/console.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(anon.get("/nope").await.status, 404);
    site.stop().await;
}

/// Every POST needs the session's own CSRF token (and the login form its cookie's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_is_enforced_on_every_form() {
    let site = Site::start(vec![]).await;
    let id = insert_request(
        &site.d.pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(1),
    )
    .await;
    site.staff("admin@nlg.kz", Role::Admin).await;

    // Login without the login form's token, or with another one.
    let mut c = Client::new(site.addr);
    let r = c
        .post(
            "/login",
            &[("email", "admin@nlg.kz"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    c.get("/login").await;
    let r = c
        .post(
            "/login",
            &[
                ("csrf", "forged"),
                ("email", "admin@nlg.kz"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!c.cookies.contains_key("dsr_session"));

    let r = c.login("admin@nlg.kz", PASSWORD).await;
    assert_eq!(r.status, 303);
    let page = c.get(&format!("/requests/{id}")).await;
    assert_eq!(page.status, 200);
    let token = csrf_of(&page.text());
    for (path, fields) in [
        (format!("/requests/{id}/approve"), vec![("kind", "erasure")]),
        (format!("/requests/{id}/reject"), vec![("reason", "no")]),
        (format!("/requests/{id}/close"), vec![("note", "spam")]),
        (format!("/requests/{id}/retry"), vec![]),
        (format!("/requests/{id}/ask"), vec![("question", "who?")]),
        (
            format!("/requests/{id}/link"),
            vec![("email", "x@subjects.test")],
        ),
        (format!("/requests/{id}/tasks/1/retry"), vec![]),
        (
            format!("/requests/{id}/tasks/1/done"),
            vec![("note", "done")],
        ),
        (
            "/staff".to_owned(),
            vec![
                ("email", "new@nlg.kz"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        ),
        ("/logout".to_owned(), vec![]),
    ] {
        let r = c.post(&path, &fields).await;
        assert_eq!(r.status, 403, "POST {path} without a token");
        let mut forged = fields.clone();
        forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
        let r = c.post(&path, &forged).await;
        assert_eq!(r.status, 403, "POST {path} with another token");
    }
    let status: String = sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    assert_eq!(status, "needs_review", "nothing was decided");
    let staff: i64 = sqlx::query_scalar("SELECT count(*) FROM staff")
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    assert_eq!(staff, 1, "nobody was added");
    // With the token the same session works, and logout ends it.
    assert_eq!(c.get("/").await.status, 200);
    let r = c.post("/logout", &[("csrf", &token)]).await;
    assert_eq!(r.status, 303);
    assert!(!c.cookies.contains_key("dsr_session"));
    site.stop().await;
}

/// Hostile HTML mail is shown as escaped text: no markup, no remote content, and attachments
/// only as opaque downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_html_email_is_shown_inert() {
    let site = Site::start(vec![]).await;
    let raw = "From: \"<script>alert('from')</script>\" <evil@subjects.test>\r\n\
        To: info@nlg.kz\r\nSubject: <img src=x onerror=alert(1)> delete me\r\n\
        Message-ID: <hostile@subjects.test>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=XX\r\n\r\n\
        --XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <html><body><p>Please <b>delete</b> my data</p><script>alert(document.cookie)</script>\
        <img src=\"http://tracker.example/pixel.png\"><iframe src=\"http://evil.example/\"></iframe>\
        <a href=\"javascript:alert(2)\">click</a><style>body{display:none}</style></body></html>\r\n\
        --XX\r\nContent-Type: text/html; name=\"page.html\"\r\n\
        Content-Disposition: attachment; filename=\"page.html\"\r\n\r\n\
        <script>alert('attachment')</script>\r\n--XX--\r\n";
    let id = insert_request(
        &site.d.pool,
        raw.as_bytes(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(1),
    )
    .await;
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let started = Instant::now();
    let page = c.get(&format!("/requests/{id}?lang=en")).await;
    let elapsed = started.elapsed();
    eprintln!("request page rendered in {elapsed:?}");
    assert_eq!(page.status, 200);
    assert_security_headers(&page, "request page");
    let html = page.text();
    let lower = html.to_lowercase();
    for markup in ["<script", "<img", "<iframe", "<style", "href=\"javascript:"] {
        assert!(
            !lower.contains(markup),
            "{markup} reached the page as markup"
        );
    }
    assert!(html.contains("Please delete my data") || html.contains("delete"));
    assert!(
        html.contains("&lt;script&gt;"),
        "the HTML source is shown escaped"
    );
    assert!(html.contains("page.html"));
    // The attachment is a download of opaque bytes.
    let a = c.get(&format!("/requests/{id}/attachments/0")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert!(a
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_security_headers(&a, "attachment");
    assert!(a.text().contains("<script>"), "bytes as they are");
    assert_eq!(
        c.get(&format!("/requests/{id}/attachments/9")).await.status,
        404
    );
    let eml = c.get(&format!("/requests/{id}/raw")).await;
    assert_eq!(eml.header("content-type"), Some("application/octet-stream"));
    assert_eq!(eml.body, raw.as_bytes());
    site.stop().await;
}

/// Failed logins lock the account; unknown accounts get the same answer; sessions end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_after_repeated_failures_and_logout() {
    let site = Site::start(vec![
        ("DSR__CONSOLE__LOCKOUT_ATTEMPTS", "3".to_owned()),
        ("DSR__CONSOLE__LOCKOUT_MINUTES", "10".to_owned()),
    ])
    .await;
    site.staff("reviewer@nlg.kz", Role::Reviewer).await;
    let mut c = Client::new(site.addr);
    c.extra.push(("Accept-Language", "en".to_owned()));
    let unknown = c.login("nobody@nlg.kz", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.text().contains("Wrong e-mail or password."));
    for i in 0..2 {
        let r = c.login("reviewer@nlg.kz", "wrong password here").await;
        assert_eq!(r.status, 401, "attempt {i}");
        assert!(r.text().contains("Wrong e-mail or password."));
    }
    let r = c.login("reviewer@nlg.kz", "wrong password here").await;
    assert!(r.text().contains("locked"), "third failure locks");
    let r = c.login("reviewer@nlg.kz", PASSWORD).await;
    assert_eq!(r.status, 401, "locked: even the right password is refused");
    assert!(r.text().contains("locked"));
    assert!(!c.cookies.contains_key("dsr_session"));
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM staff_login_attempts WHERE NOT success")
            .fetch_one(&site.d.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 5);

    // Unlocked (time passes), the right password works; the session cookie is hardened.
    sqlx::query("UPDATE staff SET locked_until = now() - interval '1 second'")
        .execute(&site.d.pool)
        .await
        .unwrap();
    let r = c.login("reviewer@nlg.kz", PASSWORD).await;
    assert_eq!(r.status, 303);
    let cookie = r
        .all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("dsr_session="))
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let value = cookie.split(';').next().unwrap()["dsr_session=".len()..].to_owned();
    assert_eq!(value.len(), 43, "256-bit id");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT id_hash FROM staff_sessions")
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    assert_ne!(stored, value.as_bytes(), "only a hash is stored");
    let home = c.get("/").await;
    assert_eq!(home.status, 200);
    let token = csrf_of(&home.text());
    assert_eq!(c.post("/logout", &[("csrf", &token)]).await.status, 303);
    // The old cookie is dead even if a client keeps it.
    let mut replay = Client::new(site.addr);
    replay.cookies.insert("dsr_session".into(), value);
    assert_eq!(replay.get("/").await.status, 303);
    site.stop().await;
}

/// Approve, reject and ask through the console; each is one transaction with its event, audit
/// entry and outbox row. Then the audit chain verifies, and tampering is detected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_are_recorded_and_the_audit_chain_detects_tampering() {
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let approve_id = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let reject_id = insert_request(
        &pool,
        &message(
            "a@subjects.test",
            "info@nlg.kz",
            "Удалите",
            "Удалите мои данные.",
        ),
        "needs_review",
        true,
        "ru",
        chrono::Duration::days(-1),
    )
    .await;
    let ask_id = insert_request(
        &pool,
        &message(
            "b@subjects.test",
            "info@nlg.kz",
            "Жою",
            "Деректерімді жойыңыз.",
        ),
        "needs_review",
        true,
        "kk",
        chrono::Duration::days(3),
    )
    .await;
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;

    // The queue: by deadline, overdue first and highlighted; dashboard counts.
    let queue = c.get("/?lang=en").await.text();
    let (p_reject, p_approve) = (
        queue.find(&format!("/requests/{reject_id}\"")).unwrap(),
        queue.find(&format!("/requests/{approve_id}\"")).unwrap(),
    );
    assert!(p_reject < p_approve, "ordered by deadline");
    assert!(queue.contains(r#"<tr class="overdue">"#));
    assert!(queue.contains(r#"id="dash-flagged"><span class="n">3</span>"#));
    assert!(queue.contains(r#"id="dash-overdue"><span class="n">1</span>"#));
    assert!(queue.contains(r#"id="dash-failed_store_tasks"><span class="n">0</span>"#));
    // Filters.
    let filtered = c.get("/?status=approved").await.text();
    assert!(!filtered.contains(&format!("/requests/{approve_id}\"")));
    // Russian by default, English on request.
    assert!(c.get("/?lang=ru").await.text().contains("Очередь"));

    // The processor has looked the subject up: one customer.
    record_match(
        &pool,
        approve_id,
        &store_match(&[("crm", "customers", "7")], &[], &[]),
    )
    .await;
    let page = c.get(&format!("/requests/{approve_id}")).await.text();
    let token = csrf_of(&page);
    assert!(
        page.contains("several intents in one message"),
        "why flagged"
    );
    assert!(page.contains("870221304582"), "identifiers");
    let fingerprint = input_value(&page, "fingerprint").expect("the approval form");
    let r = c
        .post(
            &format!("/requests/{approve_id}/approve"),
            &[
                ("csrf", &token),
                ("kind", "marketing_opt_out"),
                ("fingerprint", &fingerprint),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let after = c.get(r.header("location").unwrap()).await.text();
    assert!(after.contains(r#"id="status">approved"#) || after.contains(r#"id="status">одобрен"#));
    let row = sqlx::query("SELECT kind, review, status FROM requests WHERE id = $1")
        .bind(approve_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("kind"), "marketing_opt_out");
    assert!(!row.get::<bool, _>("review"));
    assert_eq!(row.get::<String, _>("status"), "approved");
    let publish: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE channel = 'publish' AND request_id = $1
           AND dedupe_key LIKE 'publish:approve:%'",
    )
    .bind(approve_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(publish["routing_key"], "requests");
    assert_eq!(publish["body"]["request_id"], approve_id);
    assert_eq!(
        publish["exchange"].as_str().unwrap(),
        dsr_worker::queue::topology::WorkQueue::requests(&site.d.prefix, &[]).exchange()
    );
    // A second approval is refused (409), nothing doubles.
    let r = c
        .post(
            &format!("/requests/{approve_id}/approve"),
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &fingerprint),
            ],
        )
        .await;
    assert_eq!(r.status, 409);

    let r = c
        .post(
            &format!("/requests/{reject_id}/reject"),
            &[
                ("csrf", &token),
                ("reason", "Договор <b>действует</b> до 2027 года."),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let email: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE dedupe_key = $1 AND channel = 'email'",
    )
    .bind(format!("reject:{reject_id}"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(email["language"], "ru");
    assert!(email["body"]
        .as_str()
        .unwrap()
        .contains("Договор <b>действует</b> до 2027 года."));
    assert!(email["subject"].as_str().unwrap().contains("DSR-2026-"));
    assert!(email["in_reply_to"]
        .as_str()
        .unwrap()
        .ends_with("@subjects.test"));
    assert_eq!(email["auto_replied"], false);

    let r = c
        .post(
            &format!("/requests/{ask_id}/ask"),
            &[("csrf", &token), ("question", "Сіздің ЖСН қандай?")],
        )
        .await;
    assert_eq!(r.status, 303);
    let status: String = sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
        .bind(ask_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "awaiting_information");
    let body: String = sqlx::query_scalar(
        "SELECT payload ->> 'body' FROM outbox WHERE request_id = $1 AND dedupe_key LIKE 'info:%'",
    )
    .bind(ask_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(body.contains("Сіздің ЖСН қандай?") && body.contains("Сәлеметсіз бе"));
    // Empty reasons are refused.
    let r = c
        .post(
            &format!("/requests/{ask_id}/reject"),
            &[("csrf", &token), ("reason", "   ")],
        )
        .await;
    assert_eq!(r.status, 409);

    // Timeline and audit on the page.
    let page = c.get(&format!("/requests/{reject_id}")).await.text();
    assert!(page.contains("rejected"));
    assert!(page.contains("reviewer@nlg.kz"), "who decided");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM request_events WHERE event IN ('approved', 'rejected', 'information_requested')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 3);

    // The chain: intact, in the console and from the CLI.
    let mut conn = pool.acquire().await.unwrap();
    let v = audit::verify(&mut conn).await.unwrap();
    assert!(
        matches!(v, Verification::Intact { entries: 4, .. }),
        "{v:?}"
    );
    assert!(c
        .get("/audit")
        .await
        .text()
        .contains(r#"<p class="notice" id="chain">"#));
    let cli = cli_verify(&site).await;
    assert!(cli.0, "CLI says intact: {}", cli.1);

    // The trigger refuses edits and deletions...
    for sql in [
        "UPDATE audit_log SET actor = 'someone-else@nlg.kz' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 3",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    // ...and a superuser who goes around it is caught.
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE audit_log SET after = jsonb_set(after, '{kind}', '\"erasure\"') WHERE id = 2",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    let v = audit::verify(&mut conn).await.unwrap();
    assert!(matches!(v, Verification::Broken { id: 2, .. }), "{v:?}");
    let cli = cli_verify(&site).await;
    assert!(!cli.0, "CLI exits non-zero");
    assert!(cli.1.contains("BROKEN at entry 2"), "{}", cli.1);
    assert!(c
        .get("/audit")
        .await
        .text()
        .contains(r#"<p class="error" id="chain">"#));
    // Deleting the last entries is caught too, once a later entry exists; deleting one in
    // the middle breaks the ids.
    sqlx::query("DELETE FROM audit_log WHERE id = 3")
        .execute(&mut *conn)
        .await
        .unwrap();
    let v = audit::verify(&mut conn).await.unwrap();
    assert!(matches!(v, Verification::Broken { id: 2, .. }), "{v:?}");
    drop(conn);
    site.stop().await;
}

async fn cli_verify(site: &Site) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dsr-worker"))
        .args([
            "--config",
            root().join("config/local.toml").to_str().unwrap(),
        ])
        .args(["audit", "verify"])
        .env("DSR__DATABASE__URL", &site.d.database_url)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Reviewers decide; only admins manage staff. The CLI twin lists, shows and decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_the_cli_twin() {
    let site = Site::start(vec![]).await;
    let id = insert_request(
        &site.d.pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(1),
    )
    .await;
    let mut reviewer = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    assert_eq!(reviewer.get("/staff").await.status, 403);
    let token = csrf_of(&reviewer.get("/").await.text());
    let r = reviewer
        .post(
            "/staff",
            &[
                ("csrf", &token),
                ("email", "x@nlg.kz"),
                ("role", "admin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    let mut admin = site.signed_in("admin@nlg.kz", Role::Admin).await;
    let page = admin.get("/staff").await;
    assert_eq!(page.status, 200);
    let token = csrf_of(&page.text());
    let r = admin
        .post(
            "/staff",
            &[
                ("csrf", &token),
                ("email", "second@nlg.kz"),
                ("role", "reviewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(admin.get("/staff").await.text().contains("second@nlg.kz"));
    // Kazakh welcome on the sign-in page.
    let mut kk = Client::new(site.addr);
    kk.extra
        .push(("Accept-Language", "kk-KZ,ru;q=0.8".to_owned()));
    assert!(kk.get("/login").await.text().contains("Қош келдіңіз"));

    let run = |args: Vec<String>| {
        let url = site.d.database_url.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dsr-worker"))
                .args([
                    "--config",
                    root().join("config/local.toml").to_str().unwrap(),
                ])
                .args(&args)
                .env("DSR__DATABASE__URL", url)
                .env("DSR_STAFF_PASSWORD", PASSWORD)
                .output()
                .await
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        }
    };
    let (ok, out) = run(vec!["review".into(), "list".into(), "--json".into()]).await;
    assert!(ok, "{out}");
    assert!(out.contains(&format!("\"id\":{id}")), "{out}");
    let (ok, out) = run(vec!["review".into(), "show".into(), id.to_string()]).await;
    assert!(ok && out.contains("several intents"), "{out}");
    assert!(
        out.contains("the stores have not been searched yet"),
        "{out}"
    );
    let m = store_match(&[("crm", "customers", "1")], &[], &[]);
    record_match(&site.d.pool, id, &m).await;
    let fingerprint = m["fingerprint"].as_str().unwrap().to_owned();
    let (ok, out) = run(vec!["review".into(), "show".into(), id.to_string()]).await;
    assert!(
        ok && out.contains(&format!("fingerprint: {fingerprint}")),
        "{out}"
    );
    assert!(out.contains("crm.customers: 1 row(s) acted on"), "{out}");
    let (ok, out) = run(vec![
        "review".into(),
        "approve".into(),
        id.to_string(),
        "--kind".into(),
        "erasure".into(),
        "--fingerprint".into(),
        fingerprint.clone(),
        "--as".into(),
        "nobody@nlg.kz".into(),
    ])
    .await;
    assert!(!ok && out.contains("--as"), "unknown staff refused: {out}");
    let reference: String = sqlx::query_scalar("SELECT reference FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&site.d.pool)
        .await
        .unwrap();
    let (ok, out) = run(vec![
        "review".into(),
        "approve".into(),
        reference.clone(),
        "--kind".into(),
        "erasure".into(),
        "--fingerprint".into(),
        "0".repeat(64),
        "--as".into(),
        "reviewer@nlg.kz".into(),
    ])
    .await;
    assert!(
        !ok && out.contains("the store match changed; look again"),
        "a fingerprint not seen is refused: {out}"
    );
    let (ok, out) = run(vec![
        "review".into(),
        "approve".into(),
        reference,
        "--kind".into(),
        "erasure".into(),
        "--fingerprint".into(),
        fingerprint,
        "--as".into(),
        "reviewer@nlg.kz".into(),
    ])
    .await;
    assert!(ok && out.contains("approved"), "{out}");
    let (ok, out) = run(vec![
        "staff".into(),
        "add".into(),
        "cli@nlg.kz".into(),
        "--role".into(),
        "admin".into(),
    ])
    .await;
    assert!(ok, "{out}");
    // Deactivating an account ends its sessions at once.
    let (ok, out) = run(vec![
        "staff".into(),
        "deactivate".into(),
        "reviewer@nlg.kz".into(),
    ])
    .await;
    assert!(ok, "{out}");
    assert_eq!(reviewer.get("/").await.status, 303);
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_log WHERE action = 'approve' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&site.d.pool)
    .await
    .unwrap();
    assert_eq!(actor, "reviewer@nlg.kz");
    site.stop().await;
}

/// The daily digest goes once per day to the configured staff, naming requests by reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_digest_is_queued_once_per_day() {
    let site = Site::start(vec![]).await;
    insert_request(
        &site.d.pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(-2),
    )
    .await;
    let mut settings = site.d.settings();
    settings.console.digest_recipients = vec!["staff@nlg.kz".into()];
    settings.console.digest_language = "en".into();
    let templates = std::sync::Arc::new(
        dsr_worker::outbound::templates::Templates::load(&settings.templates_dir).unwrap(),
    );
    let digest = dsr_worker::review::digest::Digest::new(
        site.d.pool.clone(),
        templates,
        settings.company.clone(),
        settings.console.clone(),
        dsr_worker::request::deadline::Calendar::new(&settings.calendar),
    );
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let first = digest.send_for(day).await.unwrap();
    assert_eq!(
        first,
        dsr_worker::review::digest::DigestOutcome::Sent {
            requests: 1,
            recipients: 1
        }
    );
    assert_eq!(
        digest.send_for(day).await.unwrap(),
        dsr_worker::review::digest::DigestOutcome::AlreadySent
    );
    let payload: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE dedupe_key = 'digest:2026-11-24:staff@nlg.kz'",
    )
    .fetch_one(&site.d.pool)
    .await
    .unwrap();
    let body = payload["body"].as_str().unwrap();
    assert!(
        body.contains("OVERDUE") && body.contains("DSR-2026-"),
        "{body}"
    );
    assert!(
        !body.contains("subject-x@"),
        "no personal data in the digest"
    );
    site.stop().await;
}

// ---- Staff decide on the facts; nothing waits forever; staff are told (issue 8) ----

/// `dsr-worker ARGS...` against the site's database; (exit success, stdout + stderr).
async fn cli(site: &Site, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dsr-worker"))
        .args([
            "--config",
            root().join("config/local.toml").to_str().unwrap(),
        ])
        .args(args)
        .env("DSR__DATABASE__URL", &site.d.database_url)
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn status_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn insert_task(pool: &PgPool, request_id: i64, store: &str, status: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO store_tasks (request_id, store, status, plan)
         VALUES ($1, $2, $3, '{\"kind\": \"erasure\"}') RETURNING id",
    )
    .bind(request_id)
    .bind(store)
    .bind(status)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn task_status(pool: &PgPool, task: i64) -> String {
    sqlx::query_scalar("SELECT status FROM store_tasks WHERE id = $1")
        .bind(task)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn templates(site: &Site) -> std::sync::Arc<dsr_worker::outbound::templates::Templates> {
    std::sync::Arc::new(
        dsr_worker::outbound::templates::Templates::load(&site.d.settings().templates_dir).unwrap(),
    )
}

/// Approval is possible only once the stores were searched, names the match the staff member
/// saw (a stale one is refused), and overrides conflicts and obligations only explicitly; the
/// form offers those overrides only when there is something to override.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_rests_on_the_store_match_staff_saw() {
    use dsr_worker::request::approval::approval_covers;
    use dsr_worker::request::approval::fingerprint_of;
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let id = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let approve = format!("/requests/{id}/approve");

    // Not looked up yet: no approval form, and a forged POST is refused with the reason.
    let page = c.get(&format!("/requests/{id}?lang=en")).await.text();
    assert!(page.contains(r#"id="approve-blocked""#), "{page}");
    assert!(page.contains(r#"id="match-none""#));
    assert!(input_value(&page, "fingerprint").is_none());
    let token = csrf_of(&page);
    let r = c
        .post(
            &approve,
            &[("csrf", &token), ("kind", "erasure"), ("fingerprint", "")],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.text().contains("the stores have not been searched yet"),
        "{}",
        r.text()
    );

    // A conflict: its checkbox (with its explanation), none for obligations.
    let first = store_match(
        &[
            ("crm", "customers", "7"),
            ("crm", "invoices", "70"),
            ("crm", "invoices", "71"),
        ],
        &["the IIN and the address match different customers"],
        &[],
    );
    record_match(&pool, id, &first).await;
    let page = c.get(&format!("/requests/{id}?lang=en")).await.text();
    assert!(page.contains(r#"id="override-conflicts""#), "{page}");
    assert!(page.contains("Tick only if you have checked who the request is about"));
    assert!(!page.contains("override_obligations"));
    assert!(page.contains("the IIN and the address match different customers"));
    assert!(page.contains("<td>customers</td><td><strong>1</strong></td>"));
    assert!(page.contains("<td>invoices</td><td><strong>2</strong></td>"));
    let seen = input_value(&page, "fingerprint").unwrap();
    assert_eq!(seen, first["fingerprint"].as_str().unwrap());
    // Without the override: refused.
    let r = c
        .post(
            &approve,
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &seen),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("conflicts"), "{}", r.text());
    // The match changes after the page was shown: what was seen no longer holds.
    let second = store_match(
        &[("crm", "customers", "8")],
        &["the IIN and the address match different customers"],
        &[],
    );
    record_match(&pool, id, &second).await;
    let r = c
        .post(
            &approve,
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &seen),
                ("override_conflicts", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(
        r.text().contains("the store match changed; look again"),
        "{}",
        r.text()
    );
    assert_eq!(status_of(&pool, id).await, "needs_review");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM audit_log WHERE request_id = $1",
            id
        )
        .await,
        0,
        "nothing refused is audited as decided"
    );

    // Looking again and overriding explicitly: approved, on exactly those facts.
    let page = c.get(&format!("/requests/{id}")).await.text();
    let seen = input_value(&page, "fingerprint").unwrap();
    assert_eq!(seen, second["fingerprint"].as_str().unwrap());
    let r = c
        .post(
            &approve,
            &[
                ("csrf", &token),
                ("kind", "restriction"),
                ("fingerprint", &seen),
                ("override_conflicts", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let row = sqlx::query("SELECT status, approved_by, approval FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "approved");
    assert_eq!(
        row.get::<Option<String>, _>("approved_by").as_deref(),
        Some("reviewer@nlg.kz")
    );
    let approval: serde_json::Value = row.get("approval");
    let (audit_id, audit_after): (i64, serde_json::Value) = sqlx::query_as(
        "SELECT id, after FROM audit_log WHERE request_id = $1 AND action = 'approve'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let staff_id: i64 = sqlx::query_scalar("SELECT id FROM staff WHERE email = 'reviewer@nlg.kz'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(approval["by"], "reviewer@nlg.kz");
    assert_eq!(approval["staff_id"], staff_id);
    assert_eq!(approval["kind"], "restriction");
    assert_eq!(approval["fingerprint"], seen.as_str());
    assert_eq!(approval["override_conflicts"], true);
    assert_eq!(approval["override_obligations"], false);
    assert_eq!(approval["audit_id"], audit_id);
    assert!(chrono::DateTime::parse_from_rfc3339(approval["at"].as_str().unwrap()).is_ok());
    assert_eq!(audit_after["fingerprint"], seen.as_str());
    assert_eq!(audit_after["override_conflicts"], true);
    // The processor's re-check (same rule): these facts are covered, the earlier ones not.
    assert_eq!(approval_covers(&approval, &second), Ok(()));
    assert!(approval_covers(&approval, &first).is_err());
    let event: serde_json::Value = sqlx::query_scalar(
        "SELECT detail FROM request_events WHERE request_id = $1 AND event = 'approved'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(event["audit_id"], audit_id);
    assert!(c
        .get(&format!("/requests/{id}"))
        .await
        .text()
        .contains(r#"id="approval""#));

    // An open obligation, for an erasure: only its checkbox; the override must be explicit.
    let id2 = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    record_match(
        &pool,
        id2,
        &store_match(&[("crm", "customers", "9")], &[], &["unpaid invoice"]),
    )
    .await;
    let page = c.get(&format!("/requests/{id2}?lang=en")).await.text();
    assert!(page.contains(r#"id="override-obligations""#));
    assert!(page.contains("law 94-V art. 8(2)"));
    assert!(!page.contains("override_conflicts"));
    let seen = input_value(&page, "fingerprint").unwrap();
    let approve2 = format!("/requests/{id2}/approve");
    let r = c
        .post(
            &approve2,
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &seen),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("unpaid invoice"), "{}", r.text());
    let r = c
        .post(
            &approve2,
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &seen),
                ("override_obligations", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let approval: serde_json::Value =
        sqlx::query_scalar("SELECT approval FROM requests WHERE id = $1")
            .bind(id2)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(approval["override_obligations"], true);
    assert_eq!(approval["override_conflicts"], false);

    // Nothing to override: no checkbox at all. The older shape of the match is shown too.
    let id3 = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    record_match(&pool, id3, &store_match(&[], &[], &[])).await;
    let page = c.get(&format!("/requests/{id3}")).await.text();
    assert!(!page.contains("override_"));
    assert!(page.contains(r#"id="match-empty""#));
    let legacy = serde_json::json!({"crm": {"customers": 1}});
    let id4 = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    record_match(&pool, id4, &legacy).await;
    let page = c.get(&format!("/requests/{id4}")).await.text();
    assert!(page.contains("<td>customers</td><td><strong>1</strong></td><td>—</td>"));
    let seen = input_value(&page, "fingerprint").unwrap();
    assert_eq!(Some(seen.clone()), fingerprint_of(&legacy));
    let r = c
        .post(
            &format!("/requests/{id4}/approve"),
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &seen),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let mut conn = pool.acquire().await.unwrap();
    assert!(matches!(
        audit::verify(&mut conn).await.unwrap(),
        Verification::Intact { .. }
    ));
    drop(conn);
    site.stop().await;
}

/// Staff can reject (templated reply) or close (no reply) a request in every open status.
/// Ending an executing request cancels its open store tasks in the same transaction; a task
/// running at that moment is not waited for, and afterwards neither it nor a cancelled task
/// runs, and the request is never completed (no completion mail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_and_close_end_a_request_from_every_open_status() {
    use dsr_worker::outbound::reply::Replier;
    use dsr_worker::pipeline::store_actions::complete_if_done;
    use dsr_worker::pipeline::store_actions::Executor;
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let token = csrf_of(&c.get("/").await.text());

    let statuses = [
        "received",
        "accepted",
        "needs_review",
        "awaiting_information",
        "awaiting_confirmation",
        "confirmed",
        "approved",
        "executing",
        "disputed",
        "failed",
    ];
    for (i, status) in statuses.iter().enumerate() {
        for close in [false, true] {
            let id = insert_request(
                &pool,
                &flagged_message(),
                status,
                true,
                if i % 2 == 0 { "ru" } else { "en" },
                chrono::Duration::days(2),
            )
            .await;
            let page = c.get(&format!("/requests/{id}")).await.text();
            assert!(
                page.contains(r#"id="reject""#) && page.contains(r#"id="close""#),
                "{status}: both forms offered"
            );
            let r = if close {
                c.post(
                    &format!("/requests/{id}/close"),
                    &[
                        ("csrf", &token),
                        ("note", "duplicate of an earlier request"),
                    ],
                )
                .await
            } else {
                c.post(
                    &format!("/requests/{id}/reject"),
                    &[
                        ("csrf", &token),
                        ("reason", "The contract is still in force."),
                    ],
                )
                .await
            };
            assert_eq!(r.status, 303, "{status}: {}", r.text());
            let want = if close { "closed" } else { "rejected" };
            assert_eq!(status_of(&pool, id).await, want, "{status}");
            let action = if close { "close" } else { "reject" };
            assert_eq!(
                count(
                    &pool,
                    &format!(
                        "SELECT count(*) FROM audit_log WHERE request_id = $1 AND action = '{action}'"
                    ),
                    id
                )
                .await,
                1,
                "{status}: audited"
            );
            let mails = count(
                &pool,
                "SELECT count(*) FROM outbox WHERE request_id = $1 AND channel = 'email' AND dedupe_key = 'reject:' || $1",
                id,
            )
            .await;
            assert_eq!(
                mails,
                i64::from(!close),
                "{status}: rejection reply only on reject"
            );
            if close {
                assert_eq!(
                    count(
                        &pool,
                        "SELECT count(*) FROM outbox WHERE request_id = $1 AND channel = 'email'",
                        id
                    )
                    .await,
                    0,
                    "{status}: closing writes nothing to the subject"
                );
            }
            // Nothing more is decided on an ended request.
            let again = c
                .post(
                    &format!("/requests/{id}/close"),
                    &[("csrf", &token), ("note", "again")],
                )
                .await;
            assert_eq!(again.status, 409, "{status}");
        }
    }

    // A disputed request can only be ended: no approval, no question.
    let disputed = insert_request(
        &pool,
        &flagged_message(),
        "disputed",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    record_match(&pool, disputed, &store_match(&[], &[], &[])).await;
    let page = c.get(&format!("/requests/{disputed}?lang=en")).await.text();
    assert!(!page.contains(r#"id="approve""#) && !page.contains("/ask\""));
    assert!(page.contains(r#"id="disputed""#));
    let fingerprint = dsr_worker::request::approval::fingerprint([]);
    let r = c
        .post(
            &format!("/requests/{disputed}/approve"),
            &[
                ("csrf", &token),
                ("kind", "erasure"),
                ("fingerprint", &fingerprint),
            ],
        )
        .await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("disputes"), "{}", r.text());
    let r = c
        .post(
            &format!("/requests/{disputed}/ask"),
            &[("csrf", &token), ("question", "really?")],
        )
        .await;
    assert_eq!(r.status, 409);

    // Awaiting confirmation: closing also closes the verification and holds back the code
    // mail not yet sent (and nothing else).
    let waiting = insert_request(
        &pool,
        &flagged_message(),
        "awaiting_confirmation",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    sqlx::query(
        "INSERT INTO verifications (request_id, code_hash, expires_at, address)
         VALUES ($1, '\\x00', now() + interval '1 day', 'subject-x@subjects.test')",
    )
    .bind(waiting)
    .execute(&pool)
    .await
    .unwrap();
    let (code, _) = dsr_worker::request::verification::new_code();
    sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload, next_attempt_at)
         VALUES ('confirm:' || $1, 'email', $1, $2, now() + interval '1 hour'),
                ('other:' || $1, 'email', $1, '{\"body\": \"Nothing was done.\"}', now() + interval '1 hour')",
    )
    .bind(waiting)
    .bind(serde_json::json!({
        "to": "subject-x@subjects.test", "body": format!("Your code:\n\n    {code}\n"),
    }))
    .execute(&pool)
    .await
    .unwrap();
    let r = c
        .post(
            &format!("/requests/{waiting}/close"),
            &[("csrf", &token), ("note", "spoofed")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM verifications WHERE request_id = $1 AND closed_at IS NOT NULL",
            waiting
        )
        .await,
        1
    );
    let held: String =
        sqlx::query_scalar("SELECT status FROM outbox WHERE dedupe_key = 'confirm:' || $1")
            .bind(waiting)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        held, "suppressed",
        "the code is not sent for an ended request"
    );
    let other: String =
        sqlx::query_scalar("SELECT status FROM outbox WHERE dedupe_key = 'other:' || $1")
            .bind(waiting)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(other, "pending", "other replies still go");

    // Executing: open tasks are cancelled; the done one stays done; one is running right now
    // (its row locked by an executor) and is not waited for.
    let executing = insert_request(
        &pool,
        &flagged_message(),
        "executing",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let pending = insert_task(&pool, executing, "crm", "pending").await;
    let failed = insert_task(&pool, executing, "shop", "failed").await;
    let manual = insert_task(&pool, executing, "paper", "waiting_manual").await;
    let done = insert_task(&pool, executing, "mail", "done").await;
    let running = insert_task(&pool, executing, "billing", "pending").await;
    let mut executor_tx = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM store_tasks WHERE id = $1 FOR NO KEY UPDATE")
        .bind(running)
        .execute(&mut *executor_tx)
        .await
        .unwrap();
    let r = c
        .post(
            &format!("/requests/{executing}/close"),
            &[
                ("csrf", &token),
                ("note", "the person withdrew the request by phone"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    for task in [pending, failed, manual] {
        assert_eq!(task_status(&pool, task).await, "cancelled");
    }
    assert_eq!(task_status(&pool, done).await, "done");
    assert_eq!(
        task_status(&pool, running).await,
        "pending",
        "not waited for"
    );
    let event: serde_json::Value = sqlx::query_scalar(
        "SELECT detail FROM request_events WHERE request_id = $1 AND event = 'store_tasks_cancelled'",
    )
    .bind(executing)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(event["tasks"].as_array().unwrap().len(), 3, "{event}");
    assert_eq!(event["in_flight"], 1);
    executor_tx.rollback().await.unwrap();

    // Late deliveries of the tasks' queue messages: nothing runs, nothing completes.
    let settings = site.d.settings();
    let replier = Replier::new(templates(&site), settings.company.clone());
    let executor = Executor {
        metrics: Default::default(),
        pool: pool.clone(),
        registry: std::sync::Arc::new(dsr_worker::stores::Registry::new(&[]).unwrap()),
        replier: replier.clone(),
        hash_key: vec![],
    };
    let today = chrono::Utc::now().date_naive();
    for task in [running, pending, failed] {
        assert!(
            executor.run(task, today).await.is_ok(),
            "task {task} is not run"
        );
        assert_eq!(task_status(&pool, task).await, "cancelled");
    }
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM receipts WHERE request_id = $1",
            executing
        )
        .await,
        0
    );
    let mut conn = pool.acquire().await.unwrap();
    assert!(!complete_if_done(&mut conn, &replier, executing)
        .await
        .unwrap());
    drop(conn);
    assert_eq!(status_of(&pool, executing).await, "closed");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE request_id = $1 AND dedupe_key LIKE 'complete:%'",
            executing
        )
        .await,
        0,
        "no completion mail"
    );
    let mut conn = pool.acquire().await.unwrap();
    assert!(matches!(
        audit::verify(&mut conn).await.unwrap(),
        Verification::Intact { .. }
    ));
    drop(conn);
    site.stop().await;
}

/// A failed request is retried by staff: back to where the worker takes it up (never past
/// review), re-published to the requests queue through the outbox, audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_is_retried_and_published_again() {
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let token = csrf_of(&c.get("/").await.text());
    let failed = |review: bool| {
        let pool = pool.clone();
        async move {
            let id = insert_request(
                &pool,
                &flagged_message(),
                "failed",
                review,
                "en",
                chrono::Duration::days(2),
            )
            .await;
            sqlx::query(
                "UPDATE requests SET failure = 'store crm: statement timeout' WHERE id = $1",
            )
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
            id
        }
    };
    let plain = failed(false).await;
    let flagged = failed(true).await;
    let approved = failed(true).await;
    sqlx::query("UPDATE requests SET approval = '{\"kind\": \"erasure\"}' WHERE id = $1")
        .bind(approved)
        .execute(&pool)
        .await
        .unwrap();
    let unacknowledged = failed(false).await;
    sqlx::query("UPDATE requests SET acknowledged_at = NULL WHERE id = $1")
        .bind(unacknowledged)
        .execute(&pool)
        .await
        .unwrap();

    let page = c.get(&format!("/requests/{plain}?lang=en")).await.text();
    assert!(
        page.contains("store crm: statement timeout"),
        "the reason is shown"
    );
    assert!(page.contains(r#"id="retry-request""#));
    assert!(
        !page.contains(r#"id="approve""#),
        "a failed request is not approved"
    );
    for (id, want) in [
        (plain, "accepted"),
        (flagged, "needs_review"),
        (approved, "approved"),
        (unacknowledged, "received"),
    ] {
        let r = c
            .post(&format!("/requests/{id}/retry"), &[("csrf", &token)])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(status_of(&pool, id).await, want);
        let failure: Option<String> =
            sqlx::query_scalar("SELECT failure FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(failure, None);
        let publish: serde_json::Value = sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE channel = 'publish' AND request_id = $1
               AND dedupe_key LIKE 'publish:retry:%'",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(publish["body"]["request_id"], id);
        assert_eq!(publish["routing_key"], "requests");
        let after: serde_json::Value = sqlx::query_scalar(
            "SELECT after FROM audit_log WHERE request_id = $1 AND action = 'retry_request'",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(after["previous_failure"], "store crm: statement timeout");
        // Only a failed request is retried.
        let r = c
            .post(&format!("/requests/{id}/retry"), &[("csrf", &token)])
            .await;
        assert_eq!(r.status, 409);
    }
    site.stop().await;
}

/// From the command line, replaying a store task and marking one done are the same audited
/// decisions as in the console (`review retry|done --as`); the old unaudited `tasks
/// retry|done` refuse and say where they went. `review close` and `review retry-request` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_task_and_ending_decisions_from_the_cli_are_audited() {
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    site.staff("reviewer@nlg.kz", Role::Reviewer).await;
    let id = insert_request(
        &pool,
        &flagged_message(),
        "executing",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let manual = insert_task(&pool, id, "paper", "waiting_manual").await;
    let failed = insert_task(&pool, id, "crm", "failed").await;
    let (manual_s, failed_s) = (manual.to_string(), failed.to_string());

    let (ok, out) = cli(&site, &["tasks", "retry", &failed_s, "--by", "ops"]).await;
    assert!(
        !ok && out.contains("review retry TASK --as STAFF_EMAIL"),
        "{out}"
    );
    let (ok, out) = cli(
        &site,
        &["tasks", "done", &manual_s, "--by", "ops", "--note", "x"],
    )
    .await;
    assert!(!ok && out.contains("review done TASK"), "{out}");
    assert_eq!(task_status(&pool, failed).await, "failed");
    assert_eq!(task_status(&pool, manual).await, "waiting_manual");
    let (ok, out) = cli(&site, &["tasks", "--help"]).await;
    assert!(ok && !out.contains("Moved to"), "hidden from help: {out}");

    let (ok, out) = cli(
        &site,
        &["review", "retry", &failed_s, "--as", "nobody@nlg.kz"],
    )
    .await;
    assert!(!ok && out.contains("--as"), "{out}");
    let (ok, out) = cli(
        &site,
        &["review", "retry", &failed_s, "--as", "reviewer@nlg.kz"],
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(task_status(&pool, failed).await, "pending");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE channel = 'publish' AND dedupe_key LIKE 'publish:task:' || $1 || ':replay:%'",
            failed
        )
        .await,
        1
    );
    let (ok, out) = cli(
        &site,
        &[
            "review",
            "done",
            &manual_s,
            "--note",
            "corrected by hand in the paper archive",
            "--as",
            "reviewer@nlg.kz",
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(task_status(&pool, manual).await, "done");
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, action FROM audit_log WHERE request_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        audited,
        vec![
            ("reviewer@nlg.kz".to_owned(), "retry_store_task".to_owned()),
            (
                "reviewer@nlg.kz".to_owned(),
                "mark_store_task_done".to_owned()
            ),
        ]
    );
    for event in ["store_task_replayed", "store_task_resolved"] {
        assert_eq!(
            count(
                &pool,
                &format!("SELECT count(*) FROM request_events WHERE request_id = $1 AND event = '{event}'"),
                id
            )
            .await,
            1,
            "{event}"
        );
    }

    // Close and retry from the CLI.
    let (ok, out) = cli(
        &site,
        &[
            "review",
            "close",
            &id.to_string(),
            "--note",
            "duplicate",
            "--as",
            "reviewer@nlg.kz",
        ],
    )
    .await;
    assert!(ok && out.contains("closed"), "{out}");
    assert_eq!(task_status(&pool, failed).await, "cancelled");
    let broken = insert_request(
        &pool,
        &flagged_message(),
        "failed",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let (ok, out) = cli(
        &site,
        &[
            "review",
            "retry-request",
            &broken.to_string(),
            "--as",
            "reviewer@nlg.kz",
        ],
    )
    .await;
    assert!(ok && out.contains("accepted"), "{out}");
    let (ok, out) = cli(&site, &["audit", "verify"]).await;
    assert!(ok, "{out}");
    site.stop().await;
}

/// A disputed request and failures of any stage reach staff at once: one e-mail per recipient
/// and event, however many workers sweep, with the reference, the reason scrubbed of personal
/// data and a console link; the dashboard counts them and lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disputes_and_failures_alert_staff_once() {
    use dsr_worker::domain::RequestStatus;
    use dsr_worker::request::lifecycle::transition;
    use dsr_worker::review::alerts::Alerts;
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let id = insert_request(
        &pool,
        &flagged_message(),
        "awaiting_confirmation",
        false,
        "ru",
        chrono::Duration::days(2),
    )
    .await;
    let reference: String = sqlx::query_scalar("SELECT reference FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    // The person answers "it wasn't me".
    let mut conn = pool.acquire().await.unwrap();
    transition(
        &mut conn,
        id,
        RequestStatus::Disputed,
        "disputed",
        serde_json::json!({ "inbound_id": null }),
    )
    .await
    .unwrap();
    drop(conn);
    // A message triage gave up on; an e-mail to a subject that could not be sent; a failed
    // alert e-mail (never announced: no alerts about alerts).
    let inbound: i64 = sqlx::query_scalar(
        "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid, status,
                                       failure, attempts, processed_at)
         VALUES ('\\x01', 'From: x\r\n\r\nbody', 16, 'INBOX', 1, 999, 'failed',
                 'triage: invalid text from aigerim.n@mail.kz, IIN 870221304582', 5, now())
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload, status, attempts, last_error)
         VALUES ('ack:' || $1, 'email', $1, '{}', 'failed', 8, '550 no such user subject-x@subjects.test'),
                ('alert:old:x@nlg.kz', 'email', NULL, '{}', 'failed', 8, 'refused')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();

    let mut settings = site.d.settings();
    settings.console.digest_recipients = vec!["dpo@nlg.kz".into(), "Lead@nlg.kz".into()];
    settings.console.digest_language = "en".into();
    settings.console.public_url = Some("https://dsr.nlg.kz/".into());
    let alerts = Alerts::new(
        pool.clone(),
        templates(&site),
        settings.company.clone(),
        settings.console.clone(),
    );
    // Two workers sweep at the same time: each event is announced once.
    let other = alerts.clone();
    let (a, b) = tokio::join!(alerts.sweep(), other.sweep());
    assert_eq!(
        a.unwrap() + b.unwrap(),
        3,
        "dispute, failed message, failed e-mail"
    );
    assert_eq!(alerts.sweep().await.unwrap(), 0, "nothing twice");
    let mails: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT dedupe_key, payload FROM outbox
         WHERE dedupe_key LIKE 'alert:%' AND status = 'pending' ORDER BY dedupe_key",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        mails.len(),
        6,
        "{:?}",
        mails.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    let dispute: Vec<&(String, serde_json::Value)> = mails
        .iter()
        .filter(|(k, _)| k.starts_with("alert:request:"))
        .collect();
    assert_eq!(dispute.len(), 2);
    assert!(dispute.iter().any(|(k, _)| k.ends_with(":lead@nlg.kz")));
    let body = dispute[0].1["body"].as_str().unwrap();
    let subject = dispute[0].1["subject"].as_str().unwrap();
    assert!(
        subject.contains(&reference) && subject.contains("disputes"),
        "{subject}"
    );
    assert!(
        body.contains(&format!("https://dsr.nlg.kz/requests/{id}")),
        "{body}"
    );
    assert!(body.contains("Nothing has been done"), "{body}");
    let inbound_mail = &mails
        .iter()
        .find(|(k, _)| k.starts_with(&format!("alert:inbound:{inbound}:")))
        .unwrap()
        .1;
    let body = inbound_mail["body"].as_str().unwrap();
    assert!(
        body.contains("https://dsr.nlg.kz/failures/inbound"),
        "{body}"
    );
    assert!(
        body.contains("a***@m***.kz") && body.contains("**********82"),
        "{body}"
    );
    for (_, mail) in &mails {
        let text = mail.to_string();
        for personal in ["subject-x@subjects.test", "aigerim", "870221304582"] {
            assert!(!text.contains(personal), "{personal} in an alert: {text}");
        }
    }
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM request_events WHERE request_id = $1 AND event = 'staff_alerted'",
            id
        )
        .await,
        2,
        "the dispute and the failed e-mail are on the request's timeline"
    );

    // A later failure of another request is a new event: announced too.
    let other_id = insert_request(
        &pool,
        &flagged_message(),
        "accepted",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    sqlx::query(
        "UPDATE requests SET failure = 'store crm unreachable after 5 attempts' WHERE id = $1",
    )
    .bind(other_id)
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    transition(
        &mut conn,
        other_id,
        RequestStatus::Failed,
        "failed",
        serde_json::json!({}),
    )
    .await
    .unwrap();
    drop(conn);
    assert_eq!(alerts.sweep().await.unwrap(), 1);
    let body: String = sqlx::query_scalar(
        "SELECT payload ->> 'body' FROM outbox WHERE dedupe_key LIKE 'alert:request:%:dpo@nlg.kz'
         ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        body.contains("store crm unreachable after 5 attempts"),
        "{body}"
    );

    // The console: counts per stage, each linking to its list; disputes in the default queue.
    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let queue = c.get("/?lang=en").await.text();
    for (card, n, href) in [
        ("dash-disputed", 1, "/?status=disputed"),
        ("dash-failed_inbound", 1, "/failures/inbound"),
        ("dash-failed_requests", 1, "/?status=failed"),
        ("dash-failed_store_tasks", 0, "/failures/tasks"),
        ("dash-failed_emails", 2, "/failures/emails"),
    ] {
        assert!(
            queue.contains(&format!(
                r#"href="{href}" id="{card}"><span class="n">{n}</span>"#
            )),
            "{card}: {queue}"
        );
    }
    assert!(
        queue.contains(&format!("/requests/{id}\"")),
        "disputed in the queue"
    );
    assert!(queue.contains(r#"<span class="badge disputed">disputed</span>"#));
    let list = c.get("/failures/inbound?lang=en").await.text();
    assert!(list.contains(&format!("/inbound/{inbound}/raw")), "{list}");
    let raw = c.get(&format!("/inbound/{inbound}/raw")).await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        c.get(&format!("/inbound/{id}/raw")).await.status,
        404,
        "only failed ones"
    );
    let list = c.get("/failures/emails").await.text();
    assert!(list.contains(&format!("/requests/{id}")) && list.contains("550 no such user"));
    assert_eq!(c.get("/failures/nothing").await.status, 404);
    site.stop().await;
}

/// One-time codes never reach a staff screen or terminal in clear (the confirmation mail, a
/// reply quoting the code), and linking a subject leaves no identifier in clear in the audit
/// log or the timeline; the audit chain still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_masked_and_linked_identifiers_are_not_audited_in_clear() {
    use dsr_worker::review::mask::MASKED_CODE;
    let site = Site::start(vec![]).await;
    let pool = site.d.pool.clone();
    let (code, hash) = dsr_worker::request::verification::new_code();
    // The sender's text quotes the code (as a reply would); the confirmation mail holds it.
    let raw = message(
        "subject-x@subjects.test",
        "info@nlg.kz",
        &format!("Re: code {code}"),
        &format!("> Your code: {}\r\nYes, it was me.", code.to_lowercase()),
    );
    let id = insert_request(
        &pool,
        &raw,
        "awaiting_confirmation",
        false,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    sqlx::query(
        "INSERT INTO verifications (request_id, code_hash, expires_at, address)
         VALUES ($1, $2, now() + interval '1 day', 'subject-x@subjects.test')",
    )
    .bind(id)
    .bind(&hash)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE requests SET subject = $2 WHERE id = $1")
        .bind(id)
        .bind(format!("Re: code {code}"))
        .execute(&pool)
        .await
        .unwrap();
    let settings = site.d.settings();
    let rendered = templates(&site)
        .render(
            "confirmation",
            dsr_worker::domain::Language::En,
            serde_json::json!({
                "reference": "DSR-2026-000001", "kind": "erasure", "company": "NLG.KZ LLP",
                "company_mailbox": "info@nlg.kz", "code": code, "expires_hours": 72,
            }),
        )
        .unwrap();
    assert!(rendered.body.contains(&code) && !rendered.subject.contains(&code));
    let email = dsr_worker::outbound::outbox::OutgoingEmail {
        to: "subject-x@subjects.test".into(),
        subject: rendered.subject,
        body: rendered.body,
        message_id: format!("confirm-{id}@{}", settings.company.message_id_domain),
        in_reply_to: None,
        references: vec![],
        language: "en".into(),
        auto_replied: true,
        attachments: vec![],
    };
    let mut conn = pool.acquire().await.unwrap();
    dsr_worker::outbound::outbox::enqueue_email(
        &mut conn,
        &format!("confirm:{id}"),
        Some(id),
        &email,
        None,
    )
    .await
    .unwrap();
    drop(conn);

    let mut c = site.signed_in("reviewer@nlg.kz", Role::Reviewer).await;
    let page = c.get(&format!("/requests/{id}?lang=en")).await.text();
    assert!(
        !page.to_uppercase().contains(&code),
        "the code is in the page"
    );
    // The request subject, the quoted reply and the confirmation body (our subject has none).
    assert!(page.matches(MASKED_CODE).count() >= 3, "{page}");
    assert!(
        page.contains("Yes, it was me."),
        "the rest of the text stays"
    );
    for args in [
        vec!["review", "show", &*id.to_string()],
        vec!["review", "show", &*id.to_string(), "--json"],
        vec!["review", "list", "--status", "all", "--json"],
    ] {
        let (ok, out) = cli(&site, &args).await;
        assert!(ok, "{out}");
        assert!(!out.to_uppercase().contains(&code), "{args:?}: {out}");
        assert!(out.contains(MASKED_CODE), "{args:?}: {out}");
    }

    // Link a flagged request to a subject: the identifiers are used, not audited in clear.
    let flagged = insert_request(
        &pool,
        &flagged_message(),
        "needs_review",
        true,
        "en",
        chrono::Duration::days(2),
    )
    .await;
    let token = csrf_of(&page);
    let r = c
        .post(
            &format!("/requests/{flagged}/link"),
            &[
                ("csrf", &token),
                ("email", "linked.person@subjects.test"),
                ("iin", "870221304582"),
                ("phone", "+7 701 555 80 23"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let linked: serde_json::Value =
        sqlx::query_scalar("SELECT linked_subject FROM requests WHERE id = $1")
            .bind(flagged)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        linked["iins"][0], "870221304582",
        "the identifiers are kept for the lookup"
    );
    let audited: String = sqlx::query_scalar(
        "SELECT before::text || after::text FROM audit_log WHERE action = 'link_subject'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let events: String = sqlx::query_scalar(
        "SELECT string_agg(detail::text, ' ') FROM request_events WHERE request_id = $1",
    )
    .bind(flagged)
    .fetch_one(&pool)
    .await
    .unwrap();
    for clear in ["linked.person", "870221304582", "7015558023"] {
        assert!(
            !audited.contains(clear),
            "{clear} in the audit entry: {audited}"
        );
        assert!(!events.contains(clear), "{clear} in the timeline: {events}");
    }
    assert!(
        audited.contains("l***@s***.test") && audited.contains("**********82"),
        "{audited}"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE channel = 'publish' AND dedupe_key LIKE 'publish:link:' || $1 || ':%'",
            flagged
        )
        .await,
        1,
        "the stores are searched again for the linked subject"
    );
    let (ok, out) = cli(&site, &["audit", "verify"]).await;
    assert!(ok && out.contains("intact"), "{out}");
    site.stop().await;
}
