//! The console in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`,
//! installed by `scripts/services up`) driven over WebDriver. A flagged request comes in through
//! the whole pipeline; a reviewer signs in, opens it, approves it as a kind and sees its status
//! change. Screenshots of the queue and the request page go to `docs/screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dsr_worker::review::auth::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::console_http::{free_port, wait_listening, PASSWORD};
use super::helpers::*;

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver on a free port with one headless Chromium session (fantoccini).
struct Browser {
    driver: tokio::process::Child,
    client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Self {
        let chromium = find_program(&["chromium", "chromium-browser"]).expect(
            "headless Chromium is required for the console browser tests and was not found: \
             run ./scripts/services up (it installs Debian's chromium and chromium-driver)",
        );
        let driver = find_program(&["chromedriver"]).expect(
            "chromedriver is required for the console browser tests and was not found: \
             run ./scripts/services up (it installs Debian's chromium-driver)",
        );
        let port = free_port();
        let child = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium.to_str().unwrap(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--lang=en-US", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // chromedriver is on loopback, over plain HTTP: no TLS connector.
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("WebDriver session: {e}"));
        Self {
            driver: child,
            client,
            _profile: profile,
        }
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("WebDriver goto {url}: {e}"));
    }

    async fn size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("WebDriver window size: {e}"));
    }

    /// Waits up to 15 s for an element matching `css`.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("WebDriver type into {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("WebDriver click {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("WebDriver text of {css}: {e}"))
    }

    async fn screenshot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("WebDriver screenshot: {e}"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = root().join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), png).unwrap();
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

/// Log in, open a flagged request, approve it as a kind, see its status change — in Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewer_approves_a_flagged_request_in_the_browser() {
    let port = free_port();
    let d = Deployment::with_env(vec![
        ("DSR__CONSOLE__BIND", format!("127.0.0.1:{port}")),
        ("DSR__CONSOLE__ENABLED", "true".to_owned()),
        // Our receiving server vouches for the sender, so an approval can run to the end.
        (
            "DSR__IDENTITY__TRUSTED_AUTHSERV_IDS",
            "[\"mx.test.nlg.kz\"]".to_owned(),
        ),
        (
            "DSR__IDENTITY__RECEIVING_HOSTS",
            format!("[\"{}\"]", crate::stores::RECEIVING),
        ),
    ])
    .await;
    let worker = d.start_worker();
    let site = format!("http://127.0.0.1:{port}");

    // A lawyer writes for a client with two requests in one: the worker flags it.
    let lawyer = subject_address("lawyer");
    let flagged = crate::stores::authenticated(
        &lawyer,
        "Erasure on behalf of my client",
        "Hello,\r\n\r\nI am a lawyer acting on behalf of my client, Mr. Aidar B. Please delete all \
         personal data you hold about him, and unsubscribe him from your newsletters.\r\n\r\n\
         Kind regards,\r\nAdvocate",
    );
    d.deliver(&flagged).await;
    // A second, automatic request so the queue and dashboard are not empty of context.
    let other = subject_address("other");
    d.deliver(&message(
        &other,
        "info@nlg.kz",
        "Отписка",
        "Прошу отписать меня от рассылки.",
    ))
    .await;
    assert_eq!(
        wait_for_mail(&lawyer, 1, Duration::from_secs(30))
            .await
            .len(),
        1,
        "the lawyer is acknowledged"
    );
    let (id, status): (i64, String) =
        sqlx::query_as("SELECT id, status FROM requests WHERE review ORDER BY id LIMIT 1")
            .fetch_one(&d.pool)
            .await
            .expect("a flagged request");
    assert_eq!(status, "needs_review");
    // Staff approve on the store match the processor records right after the acknowledgement
    // (no store is configured here: nobody is bound). Where it is not recorded yet, the test
    // records those same facts, fingerprinted by the shared rule.
    sqlx::query("UPDATE requests SET subject_match = $2 WHERE id = $1 AND subject_match IS NULL")
        .bind(id)
        .bind(serde_json::json!({
            "fingerprint": dsr_worker::request::approval::fingerprint([]),
            "at": chrono::Utc::now().to_rfc3339(),
            "anchor": "verified",
            "stores": {},
            "conflicts": [],
            "obligations": [],
            "unreached": [],
        }))
        .execute(&d.pool)
        .await
        .unwrap();
    dsr_worker::review::auth::add_staff(
        &d.pool,
        "aigerim@nlg.kz",
        Role::Reviewer,
        PASSWORD,
        "test",
    )
    .await
    .unwrap();
    wait_listening(format!("127.0.0.1:{port}").parse().unwrap()).await;

    let b = Browser::start().await;
    b.size(1280, 1000).await;
    b.goto(&format!("{site}/login?lang=en")).await;
    b.type_into("#email", "aigerim@nlg.kz").await;
    b.type_into("#password", PASSWORD).await;
    b.click("#login").await;
    let link = format!("a[href=\"/requests/{id}\"]");
    b.find(&link).await;
    b.screenshot("queue.png").await;

    b.size(1280, 1800).await;
    b.click(&link).await;
    b.find("#decide").await;
    assert!(b
        .text("#message-text")
        .await
        .contains("on behalf of my client"));
    b.screenshot("request.png").await;

    b.click("#approve-kind option[value=\"erasure\"]").await;
    b.click("#approve").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    assert!(b.text(".notice").await.contains("Approved"));
    // The approved request runs through the same queue as automatic ones: here no store holds
    // the person, so it ends waiting for the details we asked for.
    let page = format!("{site}/requests/{id}");
    loop {
        b.goto(&page).await;
        let status = b.text("#status").await;
        if status.replace(' ', "_") == "awaiting_information" {
            break;
        }
        assert!(Instant::now() < deadline, "status shown: {status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Phone-sized view of the queue, for the README.
    b.size(400, 860).await;
    b.goto(&format!("{site}/?status=all")).await;
    b.find("table.queue").await;
    b.screenshot("queue-phone.png").await;
    b.stop().await;

    // The approval went through the same queue as automatic requests: published by the relay.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let published: Option<String> = sqlx::query_scalar(
            "SELECT status FROM outbox WHERE request_id = $1 AND dedupe_key LIKE 'publish:approve:%'",
        )
        .bind(id)
        .fetch_optional(&d.pool)
        .await
        .unwrap();
        if published.as_deref() == Some("sent") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "approval published: {published:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let row: (String, bool, String) =
        sqlx::query_as("SELECT kind, review, status FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(row.0, "erasure");
    assert!(!row.1);
    assert_ne!(
        row.2, "needs_review",
        "the decision stands after the queue ran"
    );
    // The personal data of the test never reached the logs.
    let logs = log_text();
    assert!(!logs.contains(&lawyer) && !logs.contains("aigerim@nlg.kz"));

    worker.stop().await;
    d.cleanup().await;
}
