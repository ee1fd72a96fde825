//! The mailer against the real Postfix on loopback, watched through a tap (a TCP proxy that
//! forwards every byte and reads what passes): leases instead of row locks, one kept connection
//! per slot, `mailer_concurrency` e-mails in flight at once, pipelined commands, and no row sent
//! twice by two workers or after a crash (but the one in flight). The tap can hold back the
//! server's answer to each message (a slow server) and hang up after each message (a server
//! that drops idle clients); the SMTP dialogue itself is Postfix's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dsr_worker::outbound::outbox::{self, OutgoingEmail};
use dsr_worker::pipeline::mailer::Mailer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::helpers::*;

/// Postfix, as `scripts/services` runs it.
const POSTFIX: &str = "127.0.0.1:2525";

/// What the tap saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
    /// Messages whose final dot was sent and whose answer has not come back yet.
    in_data: AtomicUsize,
    max_in_data: AtomicUsize,
    /// `MAIL` commands written together with their `RCPT` and `DATA`.
    pipelined: AtomicUsize,
    /// Message-ID → how many times Postfix accepted it (`250` after the final dot).
    messages: Mutex<BTreeMap<String, usize>>,
    /// Close every connection after each accepted message (a server that drops idle clients).
    hang_up: AtomicBool,
}

struct SmtpTap {
    port: u16,
    seen: Arc<Seen>,
}

impl SmtpTap {
    /// Forwards to Postfix; each message's final answer is held back for `delay`.
    async fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let state = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = state.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(POSTFIX).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    seen.connections.fetch_add(1, Ordering::SeqCst);
                    let open = seen.open.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.max_open.fetch_max(open, Ordering::SeqCst);
                    tap(client, server, &seen, delay).await;
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

/// One connection: the client's bytes to Postfix and Postfix's back, read as they pass.
async fn tap(client: TcpStream, server: TcpStream, seen: &Seen, delay: Duration) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Message-IDs whose final dot went to Postfix, oldest first, waiting for its answer.
    let awaiting: Mutex<Vec<String>> = Mutex::new(vec![]);
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut in_body = false;
        let mut body = String::new();
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = String::from_utf8_lossy(&buf[..n]).into_owned();
            if !in_body {
                let upper = chunk.to_ascii_uppercase();
                if upper.contains("MAIL FROM:")
                    && upper.contains("RCPT TO:")
                    && upper.contains("DATA\r\n")
                {
                    seen.pipelined.fetch_add(1, Ordering::SeqCst);
                }
                if upper.ends_with("DATA\r\n") {
                    in_body = true;
                    body.clear();
                }
            } else {
                body.push_str(&chunk);
                if body.ends_with("\r\n.\r\n") {
                    in_body = false;
                    let id = body
                        .lines()
                        .find_map(|l| {
                            l.get(..11)
                                .filter(|h| h.eq_ignore_ascii_case("message-id:"))
                                .map(|_| l[11..].trim().to_owned())
                        })
                        .unwrap_or_default();
                    awaiting.lock().unwrap().push(id);
                    let now = seen.in_data.fetch_add(1, Ordering::SeqCst) + 1;
                    seen.max_in_data.fetch_max(now, Ordering::SeqCst);
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Postfix answers the final dot with `250 2.0.0 Ok: queued as …`.
            let answered = String::from_utf8_lossy(&buf[..n]).contains("queued");
            let id = if answered {
                let mut waiting = awaiting.lock().unwrap();
                (!waiting.is_empty()).then(|| waiting.remove(0))
            } else {
                None
            };
            if let Some(id) = &id {
                tokio::time::sleep(delay).await;
                seen.in_data.fetch_sub(1, Ordering::SeqCst);
                *seen.messages.lock().unwrap().entry(id.clone()).or_default() += 1;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
            if id.is_some() && seen.hang_up.load(Ordering::SeqCst) {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    // Whichever side ends first ends the connection (a hang-up closes both).
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
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
    let tag = token();
    for i in 0..n {
        let id = format!("m{i}-{}@nlg.kz", token());
        let email = OutgoingEmail {
            to: format!("mailer-{i}-{tag}@subjects.test"),
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

/// A slow server (Postfix, its answer to each message held back) sees `mailer_concurrency` connections in flight at once, each kept for many
/// e-mails (and across passes), with MAIL, RCPT and DATA in one write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_sees_every_slot_in_flight_on_kept_connections() {
    let server = SmtpTap::start(Duration::from_millis(150)).await;
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
    // QUIT answered, Postfix closes, the tap sees both sides end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.open.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let server = SmtpTap::start(Duration::from_millis(5)).await;
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
    let server = SmtpTap::start(Duration::from_millis(1)).await;
    let d = Deployment::new().await;
    let ids = enqueue(&d, 3, 1).await;
    // The dead worker leased the acknowledgement (it was in flight when it died).
    let leased: Vec<outbox::Leased<OutgoingEmail>> =
        outbox::lease(&d.pool, 1, Duration::from_secs(3))
            .await
            .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(format!("<{}>", leased[0].payload.message_id), ids[0]);
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

/// A server that hangs up after each message (the tap closes the connection after Postfix's
/// answer): the kept connection fails on its first
/// command, before anything was taken, and the e-mail goes at once on a new connection
/// (no attempt lost, no back-off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_server_closed_is_replaced_at_once() {
    let server = SmtpTap::start(Duration::from_millis(1)).await;
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

/// A worker that starts under the lease name of a dead one (nobody holds it) gives that name's
/// leases back at once: the e-mail a crashed worker had in flight goes out again now, not when
/// its lease runs out. Rows leased under a name a live process holds are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_worker_takes_back_the_leases_of_its_dead_name_only() {
    let d = Deployment::new().await;
    let host = hostname::get().unwrap().into_string().unwrap();
    let orphan = subject_address("orphan");
    let held = subject_address("held");
    // A live process holds the name "elsewhere#1" (this test's own connection).
    let live = dsr_worker::outbound::owner::LeaseName::take_on(
        &dsr_worker::config::Secret::new(d.database_url.clone()),
        "elsewhere",
    )
    .await
    .unwrap()
    .expect("the name is free");
    assert_eq!(live.name(), "elsewhere#1");
    for (key, to, owner) in [
        ("orphan", &orphan, format!("{host}#1")),
        ("held", &held, live.name().to_owned()),
    ] {
        let email = OutgoingEmail {
            to: to.clone(),
            subject: "Leased an hour ago".into(),
            body: "In flight when the worker died.".into(),
            message_id: format!("{key}.{}@nlg.kz", token()),
            in_reply_to: None,
            references: vec![],
            language: "en".into(),
            auto_replied: true,
            attachments: vec![],
        };
        sqlx::query(
            "INSERT INTO outbox (dedupe_key, channel, payload, attempts, lease_until, lease_owner)
             VALUES ($1, 'email', $2, 1, now() + interval '1 hour', $3)",
        )
        .bind(key)
        .bind(sqlx::types::Json(&email))
        .bind(&owner)
        .execute(&d.pool)
        .await
        .unwrap();
    }

    let worker = d.start_worker();
    let got = wait_for_mail(&orphan, 1, Duration::from_secs(20)).await;
    assert_eq!(
        got.len(),
        1,
        "the dead name's e-mail is sent without waiting out its lease"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        list(&held).await.is_empty(),
        "a live name's lease is not taken"
    );
    let (status, owner): (String, Option<String>) =
        sqlx::query_as("SELECT status, lease_owner FROM outbox WHERE dedupe_key = 'orphan'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert_eq!(
        owner.as_deref(),
        Some(format!("{host}#1").as_str()),
        "leased again by the new worker, under the name"
    );
    let held_status: String =
        sqlx::query_scalar("SELECT status FROM outbox WHERE dedupe_key = 'held'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(held_status, "pending");

    worker.stop().await;
    drop(live);
    d.cleanup().await;
}
