//! The mailer against a scripted SMTP server on loopback: leases instead of row locks, one kept
//! connection per slot, `mailer_concurrency` connections in flight at once, pipelined commands,
//! and no row sent twice by two workers or after a crash (but the one in flight).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dsr_worker::outbound::mailer::Mailer;
use dsr_worker::outbound::outbox::{self, OutgoingEmail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// What the scripted server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
    in_data: AtomicUsize,
    max_in_data: AtomicUsize,
    /// `MAIL` commands that arrived with their `RCPT` and `DATA` already behind them.
    pipelined: AtomicUsize,
    /// Message-ID → how many times it was accepted.
    messages: Mutex<BTreeMap<String, usize>>,
    /// Close every connection after each message (a server that drops idle clients).
    hang_up: AtomicBool,
}

struct FakeSmtp {
    port: u16,
    seen: Arc<Seen>,
}

impl FakeSmtp {
    /// Answers every command at once, and each message's final dot after `delay`.
    async fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let state = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = state.clone();
                tokio::spawn(async move {
                    seen.connections.fetch_add(1, Ordering::SeqCst);
                    let open = seen.open.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.max_open.fetch_max(open, Ordering::SeqCst);
                    let _ = serve(stream, &seen, delay).await;
                    seen.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { port, seen }
    }

    fn messages(&self) -> BTreeMap<String, usize> {
        self.seen.messages.lock().unwrap().clone()
    }
}

async fn serve(stream: tokio::net::TcpStream, seen: &Seen, delay: Duration) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 fake.test ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.trim_end().to_ascii_uppercase();
        if verb.starts_with("EHLO") {
            write
                .write_all(b"250-fake.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if verb.starts_with("MAIL") {
            if String::from_utf8_lossy(read.buffer()).contains("DATA\r\n") {
                seen.pipelined.fetch_add(1, Ordering::SeqCst);
            }
            write.write_all(b"250 2.1.0 Ok\r\n").await?;
        } else if verb.starts_with("RCPT") {
            write.write_all(b"250 2.1.5 Ok\r\n").await?;
        } else if verb == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let now = seen.in_data.fetch_add(1, Ordering::SeqCst) + 1;
            seen.max_in_data.fetch_max(now, Ordering::SeqCst);
            let mut id = None;
            loop {
                line.clear();
                if read.read_line(&mut line).await? == 0 {
                    seen.in_data.fetch_sub(1, Ordering::SeqCst);
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                if let Some(v) = line.strip_prefix("Message-ID:") {
                    id = Some(v.trim().to_owned());
                }
            }
            tokio::time::sleep(delay).await;
            seen.in_data.fetch_sub(1, Ordering::SeqCst);
            *seen
                .messages
                .lock()
                .unwrap()
                .entry(id.unwrap_or_default())
                .or_default() += 1;
            write.write_all(b"250 2.0.0 Ok: queued\r\n").await?;
            if seen.hang_up.load(Ordering::SeqCst) {
                return Ok(());
            }
        } else if verb == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            // NOOP, RSET
            write.write_all(b"250 2.0.0 Ok\r\n").await?;
        }
    }
}

fn mailer_for(d: &Deployment, port: u16) -> Mailer {
    let mut settings = d.settings();
    settings.smtp.port = port;
    settings.smtp.timeout_secs = 2;
    Mailer::new(&settings.smtp, &settings.company.reply_from, 8).unwrap()
}

/// `n` pending e-mails, `acks` of them acknowledgements; returns their Message-IDs.
async fn enqueue(d: &Deployment, n: usize, acks: usize) -> Vec<String> {
    let mut ids = vec![];
    let mut conn = d.pool.acquire().await.unwrap();
    for i in 0..n {
        let id = format!("m{i}-{}@nlg.kz", token());
        let email = OutgoingEmail {
            to: format!("load-{i}@subjects.test"),
            subject: format!("Message {i}"),
            body: format!("Body {i}\n.a line that starts with a dot\n"),
            message_id: id.clone(),
            in_reply_to: None,
            references: vec![],
            language: "en".into(),
            auto_replied: true,
            attachments: vec![],
        };
        let key = if i < acks {
            format!("ack:t{i}")
        } else {
            format!("other:{id}")
        };
        outbox::enqueue_email(&mut conn, &key, None, &email, None)
            .await
            .unwrap();
        ids.push(format!("<{id}>"));
    }
    ids
}

async fn sent(d: &Deployment) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE status = 'sent'")
        .fetch_one(&d.pool)
        .await
        .unwrap()
}

async fn wait_sent(d: &Deployment, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sent(d).await < n {
        assert!(Instant::now() < deadline, "{} of {n} sent", sent(d).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A slow server sees `mailer_concurrency` connections in flight at once, each kept for many
/// e-mails (and across passes), with MAIL, RCPT and DATA in one write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_sees_every_slot_in_flight_on_kept_connections() {
    let server = FakeSmtp::start(Duration::from_millis(150)).await;
    let d = Deployment::new().await;
    let mut ids = enqueue(&d, 10, 10).await;
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(mailer_for(&d, server.port).run(
        d.pool.clone(),
        Duration::from_millis(200),
        4,
        shutdown.clone(),
    ));
    // Then a steady stream: every slot takes part, not only the first to find a row.
    for _ in 0..30 {
        ids.extend(enqueue(&d, 1, 0).await);
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    wait_sent(&d, 40).await;
    // A second burst after the slots went idle: the same connections carry it.
    let more = enqueue(&d, 8, 0).await;
    wait_sent(&d, 48).await;
    let seen = &server.seen;
    assert_eq!(
        seen.max_in_data.load(Ordering::SeqCst),
        4,
        "4 e-mails in flight at once"
    );
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        4,
        "one connection per slot, kept across passes"
    );
    assert_eq!(
        seen.pipelined.load(Ordering::SeqCst),
        48,
        "MAIL+RCPT+DATA in one write"
    );
    let messages = server.messages();
    for id in ids.iter().chain(&more) {
        assert_eq!(messages.get(id), Some(&1), "{id} sent once");
    }
    // Acknowledgements went first (one per slot in the first claims).
    let first: Vec<String> =
        sqlx::query_scalar("SELECT dedupe_key FROM outbox ORDER BY sent_at, id LIMIT 4")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert!(first.iter().all(|k| k.starts_with("ack:")), "{first:?}");
    // Nothing stays leased; every row counted one attempt.
    let (leased, attempts): (i64, i64) =
        sqlx::query_as("SELECT count(lease_until), sum(attempts)::bigint FROM outbox")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!((leased, attempts), (0, 48));
    shutdown.cancel();
    run.await.unwrap();
    assert_eq!(
        seen.open.load(Ordering::SeqCst),
        0,
        "connections closed at shutdown"
    );
    d.cleanup().await;
}

/// Two workers on one outbox never send the same row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_send_the_same_row() {
    let server = FakeSmtp::start(Duration::from_millis(5)).await;
    let d = Deployment::new().await;
    let ids = enqueue(&d, 120, 30).await;
    let shutdown = CancellationToken::new();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(mailer_for(&d, server.port).run(
                d.pool.clone(),
                Duration::from_millis(100),
                4,
                shutdown.clone(),
            ))
        })
        .collect();
    wait_sent(&d, 120).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = server.messages();
    assert_eq!(messages.len(), 120);
    for id in &ids {
        assert_eq!(messages.get(id), Some(&1), "{id} sent once");
    }
    assert!(server.seen.max_open.load(Ordering::SeqCst) <= 8);
    shutdown.cancel();
    for run in runs {
        run.await.unwrap();
    }
    d.cleanup().await;
}

/// A worker that dies with rows leased: nobody sends them while the lease lasts; once it has
/// run out they go, with the Message-ID they had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_lease_runs_out_and_its_row_goes_once() {
    let server = FakeSmtp::start(Duration::from_millis(1)).await;
    let d = Deployment::new().await;
    let ids = enqueue(&d, 3, 1).await;
    // The dead worker leased the acknowledgement (it was in flight when it died).
    let leased = outbox::lease_emails(&d.pool, 1, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(format!("<{}>", leased[0].email.message_id), ids[0]);
    let mailer = mailer_for(&d, server.port);
    let pass = mailer.drain(&d.pool).await.unwrap();
    assert_eq!(pass.sent, 2, "the others go at once");
    assert_eq!(server.messages().get(&ids[0]), None, "the leased row waits");
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let pass = mailer.drain(&d.pool).await.unwrap();
    assert_eq!(pass.sent, 1, "claimable again once the lease ran out");
    let messages = server.messages();
    assert_eq!(messages.get(&ids[0]), Some(&1), "same Message-ID, once");
    assert_eq!(messages.len(), 3);
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts FROM outbox WHERE dedupe_key = 'ack:t0'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 2, "the dead worker's attempt counts");
    d.cleanup().await;
}

/// A server that hangs up after each message: the kept connection fails on its first
/// command, before anything was taken, and the e-mail goes at once on a new connection
/// (no attempt lost, no back-off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_server_closed_is_replaced_at_once() {
    let server = FakeSmtp::start(Duration::from_millis(1)).await;
    server.seen.hang_up.store(true, Ordering::SeqCst);
    let d = Deployment::new().await;
    let ids = enqueue(&d, 5, 0).await;
    let pass = mailer_for(&d, server.port).drain(&d.pool).await.unwrap();
    assert_eq!((pass.sent, pass.failed), (5, 0));
    assert_eq!(server.seen.connections.load(Ordering::SeqCst), 5);
    let messages = server.messages();
    for id in &ids {
        assert_eq!(messages.get(id), Some(&1), "{id} sent once");
    }
    d.cleanup().await;
}
