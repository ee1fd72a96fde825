//! The operations endpoint (`[ops] bind`) of a running worker, over HTTP: liveness, readiness
//! that follows PostgreSQL and RabbitMQ going away and coming back, and metrics that count a
//! request handled end to end.

use std::time::{Duration, Instant};

use crate::helpers::*;

/// A deployment whose workers serve the ops endpoint on a free loopback port.
fn with_ops(d: &mut Deployment) -> String {
    let port = free_port();
    d.set_env("DSR__OPS__BIND", format!("127.0.0.1:{port}"));
    d.set_env("DSR__OPS__PROBE_TIMEOUT_MS", "1000".to_owned());
    format!("http://127.0.0.1:{port}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// GET `url`: status and body; `None` while nothing answers.
async fn get(url: &str) -> Option<(u16, String)> {
    let response = client().get(url).send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// Polls `url` until its status is `want`; returns the last body.
async fn wait_status(url: &str, want: u16, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let got = get(url).await;
        if let Some((status, body)) = &got {
            if *status == want {
                return body.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{url}: wanted {want} within {timeout:?}, last answer {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The value of the sample `series` (name with its labels, as written) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of `name` (whatever its labels).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Healthy and ready once started; after one request is handled end to end, the scrape counts
/// its triage, its two e-mails and its acknowledgement's latency, and the database gauges see
/// the request. Nothing personal is in the scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoint_serves_health_readiness_and_counts_a_request() {
    let mut d = Deployment::new().await;
    let base = with_ops(&mut d);
    let worker = d.start_worker();
    assert_eq!(
        wait_status(&format!("{base}/healthz"), 200, Duration::from_secs(15)).await,
        "ok\n"
    );
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        "ready\n"
    );

    let before = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(before.status().as_u16(), 200);
    assert!(
        before.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "Prometheus text format"
    );
    let before = before.text().await.unwrap();
    assert_eq!(sample(&before, "dsr_emails_sent_total"), Some(0.0));
    assert_eq!(total(&before, "dsr_requests"), 0.0);

    let sender = subject_address("ops");
    d.deliver(&message(
        &sender,
        "info@nlg.kz",
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;
    settled(&sender).await;

    // The mailer counts after its commit, a moment after the mail is in the mailbox.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let (status, text) = get(&format!("{base}/metrics")).await.expect("scrape");
        assert_eq!(status, 200);
        if sample(&text, "dsr_emails_sent_total").unwrap_or(0.0) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "the e-mail counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        sample(&text, "dsr_messages_triaged_total{outcome=\"request\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "dsr_ack_latency_seconds_count"), Some(1.0));
    assert!(sample(&text, "dsr_ack_latency_seconds_sum").unwrap() > 0.0);
    assert_eq!(sample(&text, "dsr_smtp_send_seconds_count"), Some(1.0));
    assert_eq!(total(&text, "dsr_emails_failed_total"), 0.0);
    // The gauges read the database: one request; no store knows the sender, so it waits for
    // the details we asked for.
    assert_eq!(total(&text, "dsr_requests"), 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            "dsr_requests{kind=\"withdraw_consent\",status=\"awaiting_information\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "dsr_requests_overdue"), Some(0.0));
    assert_eq!(sample(&text, "dsr_requests_awaiting_staff"), Some(0.0));
    assert_eq!(sample(&text, "dsr_gauges_refresh_ok"), Some(1.0));
    assert_eq!(
        sample(&text, "dsr_outbox_backlog{channel=\"email\"}"),
        Some(0.0)
    );
    let local = sender.split('@').next().unwrap();
    assert!(!text.contains(local), "no address in the scrape");
    assert!(!text.contains("subjects.test"), "no address in the scrape");

    worker.stop().await;
    // Stopped with the worker.
    assert!(get(&format!("{base}/healthz")).await.is_none());
    d.cleanup().await;
}

/// /readyz says 503 and names PostgreSQL while the database is away, RabbitMQ while the broker
/// is away, and 200 again once each is back; /healthz stays 200 throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_postgresql_and_rabbitmq() {
    let mut database = Proxy::start("127.0.0.1:5432").await;
    let mut broker = Proxy::start("127.0.0.1:5672").await;
    let mut d = Deployment::with_env(vec![(
        "DSR__RABBITMQ__URL",
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port),
    )])
    .await;
    d.set_env(
        "DSR__DATABASE__URL",
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            database.port, d.database
        ),
    );
    let base = with_ops(&mut d);
    let worker = d.start_worker();
    let (ready, health) = (format!("{base}/readyz"), format!("{base}/healthz"));
    wait_status(&ready, 200, Duration::from_secs(15)).await;

    database.cut();
    let body = wait_status(&ready, 503, Duration::from_secs(15)).await;
    assert!(body.starts_with("postgresql: "), "{body}");
    assert!(!body.contains("rabbitmq"), "{body}");
    assert_eq!(get(&health).await.map(|(s, _)| s), Some(200));
    // The scrape still answers, with the database gauges marked stale.
    let (status, text) = get(&format!("{base}/metrics")).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(sample(&text, "dsr_gauges_refresh_ok"), Some(0.0), "{text}");
    database.restore().await;
    wait_status(&ready, 200, Duration::from_secs(15)).await;

    broker.cut();
    let body = wait_status(&ready, 503, Duration::from_secs(15)).await;
    assert_eq!(body, "rabbitmq: not connected\n");
    assert_eq!(get(&health).await.map(|(s, _)| s), Some(200));
    broker.restore().await;
    wait_status(&ready, 200, Duration::from_secs(15)).await;

    worker.stop().await;
    d.cleanup().await;
}

/// Fills the deployment's database with `n` requests (wide rows, like real ones), a store task
/// each and three outbox rows each, in every status the gauges tell apart.
async fn seed(d: &Deployment, n: i32) {
    for sql in [
        "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid, status)
         SELECT sha256(convert_to('seed' || g, 'UTF8')), convert_to(repeat('x', 4000), 'UTF8'),
                4000, 'INBOX', 1, g, 'request'
         FROM generate_series(1, $1) g",
        "INSERT INTO requests (reference, inbound_message_id, kind, language, review, status,
                               sender, understanding, due_at)
         SELECT 'DSR-2026-' || lpad(i.uid::text, 6, '0'), i.id,
                (ARRAY['access', 'erasure', 'withdraw_consent', 'restriction',
                       'marketing_opt_out'])[1 + i.uid % 5],
                'ru', false,
                (ARRAY['completed', 'accepted', 'needs_review', 'awaiting_confirmation',
                       'closed', 'executing', 'failed'])[1 + i.uid % 7],
                'seed' || i.uid || '@example.test',
                jsonb_build_object('text', repeat('y', 1500)),
                now() + (i.uid % 10 - 3) * interval '1 day'
         FROM inbound_messages i WHERE i.uid <= $1",
        "INSERT INTO store_tasks (request_id, store, status, plan)
         SELECT r.id, 'crm', (ARRAY['done', 'pending', 'failed', 'waiting_manual'])[1 + r.id % 4],
                jsonb_build_object('note', repeat('z', 500))
         FROM requests r WHERE r.id <= $1",
        // One request in fifty has its rows still pending, due tomorrow (so this worker leaves
        // them alone): 2 e-mails and 1 publish each.
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload, status, next_attempt_at)
         SELECT 'seed:' || r.id || ':' || k, CASE WHEN k = 3 THEN 'publish' ELSE 'email' END,
                r.id, jsonb_build_object('body', repeat('w', 2000)),
                CASE WHEN r.id % 50 = 0 THEN 'pending' ELSE 'sent' END, now() + interval '1 day'
         FROM requests r, generate_series(1, 3) k WHERE r.id <= $1",
        "ANALYZE",
    ] {
        sqlx::query(sql)
            .bind(n)
            .execute(&d.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A realistic backlog: 5,000 requests (each with a store task and three outbox rows) in the
/// database. The gauges must count every one of them, scrape after scrape. What a scrape costs is
/// printed for the README (a test does not time things; the figure is measured, not asserted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauges_count_every_row_of_a_large_backlog() {
    const N: i32 = 5000;
    let mut d = Deployment::new().await;
    seed(&d, N).await;
    let base = with_ops(&mut d);
    let worker = d.start_worker();
    wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await;
    let url = format!("{base}/metrics");
    let client = client();
    let mut took = vec![];
    let mut refresh = vec![];
    let mut text = String::new();
    for _ in 0..30 {
        let started = Instant::now();
        text = client.get(&url).send().await.unwrap().text().await.unwrap();
        took.push(started.elapsed());
        refresh.push(sample(&text, "dsr_gauges_refresh_seconds").unwrap());
    }
    assert_eq!(total(&text, "dsr_requests"), f64::from(N), "{text}");
    assert_eq!(total(&text, "dsr_store_tasks"), f64::from(N));
    assert_eq!(
        sample(&text, "dsr_outbox_backlog{channel=\"email\"}"),
        Some(f64::from(N / 50 * 2))
    );
    assert_eq!(
        sample(&text, "dsr_outbox_backlog{channel=\"publish\"}"),
        Some(f64::from(N / 50))
    );
    // Three requests in ten are due in the past; those still open are overdue.
    let overdue: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM requests
         WHERE status NOT IN ('completed', 'rejected', 'closed') AND due_at < now()",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(overdue > 0);
    assert_eq!(sample(&text, "dsr_requests_overdue"), Some(overdue as f64));
    let awaiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM requests WHERE status IN ('needs_review', 'disputed', 'failed')",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(awaiting > 0);
    assert_eq!(
        sample(&text, "dsr_requests_awaiting_staff"),
        Some(awaiting as f64)
    );
    took.sort();
    refresh.sort_by(f64::total_cmp);
    let median = took[took.len() / 2];
    eprintln!(
        "ops: {N} requests; scrape median {:.1} ms, p90 {:.1} ms, max {:.1} ms; \
         database gauges median {:.1} ms; {} bytes",
        median.as_secs_f64() * 1e3,
        took[took.len() * 9 / 10].as_secs_f64() * 1e3,
        took[took.len() - 1].as_secs_f64() * 1e3,
        refresh[refresh.len() / 2] * 1e3,
        text.len()
    );
    worker.stop().await;
    d.cleanup().await;
}
