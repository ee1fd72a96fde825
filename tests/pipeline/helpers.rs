//! Test harness: each test gets its own PostgreSQL database, its own intake mailbox on the local
//! Dovecot, and its own RabbitMQ prefix, so tests run in parallel against the real services.
//!
//! Mail is put in and read back with `tests/support/mailbox.py` (Python's imaplib/smtplib): an
//! independent client, not the worker's own IMAP code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use dsr_worker::config::Settings;
use dsr_worker::pipeline;
use dsr_worker::pipeline::Stages;
use serde::Deserialize;
use sqlx::{Connection, PgConnection, PgPool, Row};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const ADMIN_DB: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Everything the worker logs during the tests, for assertions on log lines.
pub fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let make = move || LogWriter(writer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info,dsr_worker=debug,sqlx=warn,lapin=warn,async_imap=warn")
            .with_ansi(false)
            .with_writer(make)
            .try_init();
        buffer
    })
}

pub fn log_text() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        std::io::stderr().write_all(buf).ok();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A loopback port nobody listens on right now (for a server the worker starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A short unique token for names.
pub fn token() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

/// A fresh subject mailbox address on the local mail server.
pub fn subject_address(tag: &str) -> String {
    format!("{tag}-{}@subjects.test", token())
}

/// One isolated deployment: database, intake mailbox, queue prefix. Workers come and go on it.
pub struct Deployment {
    pub database: String,
    pub database_url: String,
    pub intake_user: String,
    pub prefix: String,
    pub pool: PgPool,
    extra_env: Vec<(String, String)>,
    /// TOML appended to config/local.toml (e.g. `[[stores]]`).
    pub extra_toml: String,
    cleaned: bool,
}

impl Deployment {
    pub async fn new() -> Self {
        Self::with_env(vec![]).await
    }

    /// `env` adds `DSR__...` overrides (e.g. to point RabbitMQ at a proxy).
    pub async fn with_env(env: Vec<(&str, String)>) -> Self {
        logs();
        let id = token();
        let database = format!("dsr_test_{id}");
        let mut admin = PgConnection::connect(ADMIN_DB)
            .await
            .expect("PostgreSQL is up");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let database_url = format!("postgres://postgres@127.0.0.1:5432/{database}");
        let pool = PgPool::connect(&database_url)
            .await
            .expect("connect test db");
        dsr_worker::db::migrate(&pool)
            .await
            .expect("migrations apply");
        Self {
            database,
            database_url,
            intake_user: format!("intake-{id}@nlg.kz"),
            prefix: format!("dsr-test-{id}"),
            pool,
            extra_env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            extra_toml: String::new(),
            cleaned: false,
        }
    }

    /// Adds (or replaces) a `DSR__...` override for the workers started from now on, e.g. a
    /// database URL through a proxy (which needs the deployment's database name first).
    pub fn set_env(&mut self, key: &str, value: String) {
        self.extra_env.retain(|(k, _)| k != key);
        self.extra_env.push((key.to_owned(), value));
    }

    pub fn settings(&self) -> Settings {
        let mut env = vec![
            ("DSR__DATABASE__URL".to_owned(), self.database_url.clone()),
            ("DSR__DATABASE__MAX_CONNECTIONS".to_owned(), "5".to_owned()),
            ("DSR__IMAP__USERNAME".to_owned(), self.intake_user.clone()),
            ("DSR__IMAP__IDLE_SECS".to_owned(), "20".to_owned()),
            ("DSR__IMAP__RECONNECT_MIN_MS".to_owned(), "100".to_owned()),
            ("DSR__IMAP__RECONNECT_MAX_MS".to_owned(), "1000".to_owned()),
            ("DSR__RABBITMQ__PREFIX".to_owned(), self.prefix.clone()),
            (
                "DSR__RABBITMQ__RETRY_DELAYS_MS".to_owned(),
                "[100, 300]".to_owned(),
            ),
            ("DSR__WORKER__OUTBOX_POLL_MS".to_owned(), "200".to_owned()),
            // Parallel workers would all bind the console's port; console tests turn it on.
            ("DSR__CONSOLE__ENABLED".to_owned(), "false".to_owned()),
        ];
        if let Ok(password) = std::env::var("DSR_MAIL_PASSWORD") {
            env.push(("DSR__IMAP__PASSWORD".to_owned(), password));
        }
        env.extend(self.extra_env.iter().cloned());
        let text = std::fs::read_to_string(root().join("config/local.toml")).unwrap();
        Settings::from_text(&format!("{text}\n{}", self.extra_toml), &root(), env)
            .expect("test settings")
    }

    /// Starts a worker process-equivalent (all stages) on this deployment.
    pub fn start_worker(&self) -> Worker {
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(pipeline::run(
            self.settings(),
            Stages::ALL,
            shutdown.clone(),
        ));
        Worker { shutdown, handle }
    }

    /// Appends a raw message to the intake mailbox with an independent IMAP client.
    pub async fn deliver(&self, raw: &[u8]) {
        mailbox(&["append", &self.intake_user, "-"], Some(raw)).await;
    }

    pub async fn intake_mailbox(&self) -> Vec<Mail> {
        list(&self.intake_user).await
    }

    /// Waits until every stored message has been triaged and `n` messages are stored.
    pub async fn wait_triaged(&self, n: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let row = sqlx::query(
                "SELECT count(*) AS total, count(*) FILTER (WHERE status <> 'received') AS done
                 FROM inbound_messages",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            let (total, done): (i64, i64) = (row.get("total"), row.get("done"));
            if total >= n && done == total {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {done} of {total} (want {n}) messages triaged in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the outbox has no pending rows and `n` e-mails were sent.
    pub async fn wait_emails_sent(&self, n: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let sent: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'sent'",
            )
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if sent >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{sent} of {n} e-mails sent in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn inbound_statuses(&self) -> Vec<(String, Option<String>, Option<String>)> {
        sqlx::query("SELECT status, kind, failure FROM inbound_messages ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get("status"), r.get("kind"), r.get("failure")))
            .collect()
    }

    /// Drops the database and the RabbitMQ queues of this deployment.
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        self.pool.close().await;
        remove(self.database.clone(), self.settings()).await;
    }
}

/// A test that panics never reaches `cleanup`: its queues and database go here instead, so
/// interrupted runs do not pile quorum queues up in the shared broker.
impl Drop for Deployment {
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let (database, settings) = (self.database.clone(), self.settings());
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(remove(database, settings));
            }
        })
        .join();
    }
}

async fn remove(database: String, settings: Settings) {
    if let Ok(connection) =
        dsr_worker::queue::connect("amqp://guest:guest@127.0.0.1:5672/%2f").await
    {
        if let Ok(channel) = connection.create_channel().await {
            let (requests, tasks) = dsr_worker::pipeline::queues(&settings);
            for q in [&requests, &tasks] {
                let mut names = vec![q.queue(), q.dead_letter_queue()];
                names.extend((0..q.retry_delays_ms().len()).map(|i| q.retry_queue(i)));
                for name in names {
                    let _ = channel.queue_delete(name.into(), Default::default()).await;
                }
            }
            for exchange in [requests.exchange(), requests.dead_letter_exchange()] {
                let _ = channel
                    .exchange_delete(exchange.into(), Default::default())
                    .await;
            }
        }
        let _ = connection.close(200, "bye".into()).await;
    }
    if let Ok(mut admin) = PgConnection::connect(ADMIN_DB).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

pub struct Worker {
    shutdown: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl Worker {
    /// Graceful stop, as on SIGTERM.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("worker stops within 30 s")
            .expect("worker task did not panic")
            .expect("worker ran without error");
    }

    /// Abrupt stop, as on a crash: nothing gets to finish.
    pub fn kill(self) {
        self.handle.abort();
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub flags: Vec<String>,
    pub subject: String,
    pub from: String,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub auto_submitted: Option<String>,
    pub content_language: Option<String>,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a received message (`text`: decoded, for text and JSON files).
#[derive(Debug, Clone, Deserialize)]
pub struct MailAttachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: usize,
    pub text: Option<String>,
}

async fn mailbox(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let script = root().join("tests/support/mailbox.py");
    let mut child = tokio::process::Command::new(&script)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    if let Some(data) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(data).await.unwrap();
        drop(pipe);
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(
        out.status.success(),
        "mailbox.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub async fn list(user: &str) -> Vec<Mail> {
    serde_json::from_slice(&mailbox(&["list", user], None).await).expect("mailbox.py list JSON")
}

/// Waits up to `timeout` for `count` messages in `user`'s INBOX; returns what is there.
pub async fn wait_for_mail(user: &str, count: usize, timeout: Duration) -> Vec<Mail> {
    let out = mailbox(
        &[
            "wait",
            user,
            &count.to_string(),
            &timeout.as_secs_f64().to_string(),
        ],
        None,
    )
    .await;
    serde_json::from_slice(&out).expect("mailbox.py wait JSON")
}

/// A message as a subject's mail client would write it.
pub fn message(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    let id = format!("{}@subjects.test", token());
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{id}>\r\n\
         Date: Tue, 24 Nov 2026 10:00:00 +0500\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        base64(subject.as_bytes())
    )
    .into_bytes()
}

pub fn message_id_of(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let line = text
        .lines()
        .find(|l| l.starts_with("Message-ID:"))
        .expect("message has a Message-ID");
    line.trim_start_matches("Message-ID:").trim().to_owned()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path: &Path = &root().join("tests/fixtures/pipeline").join(name);
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A TCP proxy on loopback that a test can cut and restore, to take a server away from the
/// worker without stopping the shared service.
pub struct Proxy {
    pub port: u16,
    target: String,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl Proxy {
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Self {
            port,
            target: target.to_owned(),
            accept: None,
            connections: Arc::new(Mutex::new(JoinSet::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        let connections = self.connections.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.lock().unwrap().spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Refuses new connections and cuts the open ones.
    pub fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.connections.lock().unwrap().abort_all();
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("re-binding proxy port {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Every request in these tests gets one e-mail: the acknowledgement, which also asks for a
/// code (identity not proven) or for details (no stores: nobody found) — or two when the
/// acknowledgement had to go before the lookup could run (the broker or a store was away).
/// Waits for it, gives a second e-mail time to show up, and checks there is exactly one
/// acknowledgement and nothing was sent twice.
pub async fn settled(address: &str) -> Vec<Mail> {
    wait_for_mail(address, 1, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail = list(address).await;
    assert!(
        (1..=2).contains(&mail.len()),
        "{address}: {:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mut ids: Vec<&Option<String>> = mail.iter().map(|m| &m.message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), mail.len(), "{address}: nothing sent twice");
    assert_eq!(
        acknowledgements(&mail).len(),
        1,
        "{address}: exactly one acknowledgement"
    );
    mail
}

pub fn acknowledgements(mail: &[Mail]) -> Vec<&Mail> {
    mail.iter()
        .filter(|m| {
            m.message_id
                .as_deref()
                .is_some_and(|id| id.ends_with(".ack@nlg.kz>"))
        })
        .collect()
}

/// A TCP proxy on loopback that can stop answering without closing anything: while stalled,
/// a new connection is accepted and then never gets a byte back, and the connections that
/// were flowing freeze (what either side sends is held). The server behind it is up but stuck,
/// as far as the worker can tell.
pub struct StallingProxy {
    pub port: u16,
    flowing: Arc<tokio::sync::watch::Sender<bool>>,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl StallingProxy {
    pub async fn start(target: &str, flowing: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (flowing, _) = tokio::sync::watch::channel(flowing);
        let flowing = Arc::new(flowing);
        let tasks = Arc::new(Mutex::new(JoinSet::new()));
        let (target, state, set) = (target.to_owned(), flowing.clone(), tasks.clone());
        tasks.lock().unwrap().spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, state) = (target.clone(), state.clone());
                set.lock().unwrap().spawn(async move {
                    if !*state.borrow() {
                        // Accepted, never answered: read and drop whatever the client says.
                        let mut inbound = inbound;
                        let mut sink = tokio::io::sink();
                        let _ = tokio::io::copy(&mut inbound, &mut sink).await;
                        return;
                    }
                    let Ok(outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = inbound.into_split();
                    let (server_read, server_write) = outbound.into_split();
                    tokio::join!(
                        pump(client_read, server_write, state.subscribe()),
                        pump(server_read, client_write, state.subscribe()),
                    );
                });
            }
        });
        Self {
            port,
            flowing,
            tasks,
        }
    }

    /// From now on nothing gets through, and new connections get no answer.
    pub fn stall(&self) {
        self.flowing.send_replace(false);
    }

    /// Traffic flows again (on new connections and on frozen ones).
    pub fn flow(&self) {
        self.flowing.send_replace(true);
    }
}

/// Copies one direction, holding each chunk while the proxy is stalled.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if flowing.wait_for(|f| *f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

impl Drop for StallingProxy {
    fn drop(&mut self) {
        self.tasks.lock().unwrap().abort_all();
    }
}
