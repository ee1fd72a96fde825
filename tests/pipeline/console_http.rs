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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
}

/// A minimal HTTP/1.1 client (one request per connection), enough for the console and for
/// chromedriver's WebDriver endpoints.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> HttpResponse {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.map(|(ct, b)| {
        req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n",
            b.len()
        ));
        b
    });
    if body.is_none() && method == "POST" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    if let Some(b) = body {
        stream.write_all(&b).await.unwrap();
    }
    // Read the head, then exactly the body (servers may keep the connection open).
    let mut raw = vec![];
    let mut buf = [0u8; 16384];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the HTTP head ended");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    loop {
        let complete = match length {
            Some(len) => body.len() >= len,
            None => body.ends_with(b"0\r\n\r\n"),
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = vec![];
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
        body = out;
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

pub fn form_encode(fields: &[(&str, &str)]) -> Vec<u8> {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// A cookie-keeping client of the console.
pub struct Client {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
    pub extra: Vec<(&'static str, String)>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: HashMap::new(),
            extra: vec![],
        }
    }

    fn headers(&self) -> Vec<(&str, String)> {
        let mut h: Vec<(&str, String)> = self.extra.clone();
        if !self.cookies.is_empty() {
            let c = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            h.push(("Cookie", c));
        }
        h
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
        let r = http(self.addr, "GET", path, &self.headers(), None).await;
        self.keep(&r);
        r
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> HttpResponse {
        let r = http(
            self.addr,
            "POST",
            path,
            &self.headers(),
            Some(("application/x-www-form-urlencoded", form_encode(fields))),
        )
        .await;
        self.keep(&r);
        r
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
        let handle = tokio::spawn(dsr_worker::worker::run_console(
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

    let page = c.get(&format!("/requests/{approve_id}")).await.text();
    let token = csrf_of(&page);
    assert!(
        page.contains("several intents in one message"),
        "why flagged"
    );
    assert!(page.contains("870221304582"), "identifiers");
    let r = c
        .post(
            &format!("/requests/{approve_id}/approve"),
            &[("csrf", &token), ("kind", "marketing_opt_out")],
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
            &[("csrf", &token), ("kind", "erasure")],
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
    let (ok, out) = run(vec![
        "review".into(),
        "approve".into(),
        id.to_string(),
        "--kind".into(),
        "erasure".into(),
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
        reference,
        "--kind".into(),
        "erasure".into(),
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
        dsr_worker::workflow::deadline::Calendar::new(&settings.calendar),
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
