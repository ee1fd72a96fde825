//! No stuck server holds the pipeline: a mailbox server, an SMTP server or a store that stops
//! answering (or holds a lock) makes the worker give up on that step within its limit, say
//! so, and try again later — and the work gets done once the server is back. Tests assert
//! outcomes, never durations.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};

use crate::helpers::*;
use crate::stores::*;

/// Waits until the log written after `from` has a line for which `wanted` holds.
async fn wait_for_log(from: usize, wanted: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = log_text();
        if let Some(line) = text[from.min(text.len())..].lines().find(|l| wanted(l)) {
            return line.to_owned();
        }
        assert!(Instant::now() < deadline, "never logged: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn stored(d: &Deployment) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM inbound_messages")
        .fetch_one(&d.pool)
        .await
        .unwrap()
}

/// An IMAP server that accepts the connection and then never answers, and later one that
/// freezes in the middle of a session: each time intake times out, logs which command timed
/// out, drops the session and reconnects; the mail that arrived meanwhile is read (once) when
/// the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_server_that_stops_answering_is_timed_out_and_read_when_back() {
    let proxy = StallingProxy::start("127.0.0.1:1993", false).await;
    let d = Deployment::with_env(vec![
        ("DSR__IMAP__PORT", proxy.port.to_string()),
        ("DSR__IMAP__COMMAND_TIMEOUT_SECS", "1".to_owned()),
        ("DSR__IMAP__IDLE", "false".to_owned()),
        ("DSR__IMAP__POLL_SECS", "1".to_owned()),
    ])
    .await;
    let endpoint = format!("IMAP localhost:{}", proxy.port);
    let start = log_text().len();
    let worker = d.start_worker();
    let first = subject_address("stalled-first");
    d.deliver(&message(
        &first,
        "info@nlg.kz",
        "Withdraw consent",
        "I withdraw my consent.",
    ))
    .await;

    // Accepted, never answered: the TLS handshake times out, again and again.
    let line = wait_for_log(
        start,
        |l| {
            l.contains("intake:")
                && l.contains(&format!(
                    "{endpoint}: TLS handshake timed out after 1 s; reconnecting in"
                ))
        },
        "the handshake timeout",
    )
    .await;
    assert!(!line.contains(&first), "no personal data in the line");
    assert_eq!(stored(&d).await, 0);
    proxy.flow();
    settled(&first).await;
    assert_eq!(stored(&d).await, 1);

    // Frozen in the middle of a session (between two polls).
    let before = log_text().len();
    proxy.stall();
    let second = subject_address("stalled-second");
    d.deliver(&message(
        &second,
        "info@nlg.kz",
        "Withdraw consent",
        "I withdraw my consent to processing.",
    ))
    .await;
    let line = wait_for_log(
        before,
        |l| {
            l.contains("intake:")
                && l.contains(&format!("{endpoint}: "))
                && l.contains("timed out after 1 s; reconnecting in")
                && !l.contains("TLS handshake")
        },
        "a command timeout inside the session",
    )
    .await;
    assert!(
        [
            "NOOP",
            "UID SEARCH",
            "UID FETCH",
            "SELECT",
            "LOGIN",
            "CAPABILITY"
        ]
        .iter()
        .any(|c| line.contains(&format!(": {c}"))),
        "the line names the command: {line}"
    );
    assert_eq!(
        stored(&d).await,
        1,
        "nothing read while the server is stuck"
    );
    proxy.flow();
    settled(&second).await;
    assert_eq!(stored(&d).await, 2, "each message stored once");
    worker.stop().await;
    d.cleanup().await;
}

/// An SMTP server that accepts the connection and never answers: each attempt times out and
/// is recorded on the e-mail (retried later, not lost, not stuck); once the server answers
/// the replies go out, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_that_stops_answering_delays_replies_but_loses_none() {
    let proxy = StallingProxy::start("127.0.0.1:2525", false).await;
    let d = Deployment::with_env(vec![
        ("DSR__SMTP__PORT", proxy.port.to_string()),
        ("DSR__SMTP__TIMEOUT_SECS", "1".to_owned()),
    ])
    .await;
    let worker = d.start_worker();
    let who = subject_address("smtp-stalled");
    d.deliver(&message(
        &who,
        "info@nlg.kz",
        "Withdraw consent",
        "I withdraw my consent.",
    ))
    .await;
    let deadline = Instant::now() + WAIT;
    let error = loop {
        let error: Option<String> = sqlx::query_scalar(
            "SELECT last_error FROM outbox WHERE channel = 'email' AND last_error IS NOT NULL LIMIT 1",
        )
        .fetch_optional(&d.pool)
        .await
        .unwrap();
        if let Some(error) = error {
            break error;
        }
        assert!(Instant::now() < deadline, "a send attempt failed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        error.contains(&format!(
            "SMTP 127.0.0.1:{}: connecting timed out after 1 s",
            proxy.port
        )),
        "{error}"
    );
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending'",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(pending >= 1, "the e-mail waits for another attempt");
    assert!(list(&who).await.is_empty());
    proxy.flow();
    settled(&who).await;
    worker.stop().await;
    d.cleanup().await;
}

/// A store row locked by someone else: the store task fails with the store's own lock-timeout
/// error (nothing half done: the store transaction rolls back), and is retried by the queue;
/// other requests keep going meanwhile; once the lock is released the task completes. In
/// PostgreSQL (row lock), MariaDB (row lock) and SQLite (database write lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_store_row_times_out_the_task_and_it_completes_once_released() {
    let lab = StoreLab::new().await;
    let (a, b) = (Person::new("locked", 51), Person::new("unlocked", 52));
    lab.seed(&a, false).await;
    lab.seed(&b, false).await;
    let mut d = deployment(
        &lab,
        3306,
        vec![(
            "DSR__RABBITMQ__RETRY_DELAYS_MS",
            "[500, 1000, 2000, 2000, 3000, 3000, 5000, 5000]".to_owned(),
        )],
    )
    .await;
    for kind in ["postgres", "mysql", "sqlite"] {
        let line = format!("kind = \"{kind}\"\n");
        assert!(d.extra_toml.contains(&line));
        d.extra_toml = d
            .extra_toml
            .replace(&line, &format!("{line}lock_timeout_secs = 1\n"));
    }

    // Someone else holds A's rows: the CRM customer, the shop account, the newsletter file.
    let mut pg = lab.pg().await;
    let mut pg_lock = pg.begin().await.unwrap();
    sqlx::query("SELECT id FROM customers WHERE email = $1 FOR UPDATE")
        .bind(&a.email)
        .fetch_one(&mut *pg_lock)
        .await
        .unwrap();
    let mut my = lab.my().await;
    let mut my_lock = my.begin().await.unwrap();
    sqlx::query("SELECT id FROM accounts WHERE email = ? FOR UPDATE")
        .bind(&a.email)
        .fetch_one(&mut *my_lock)
        .await
        .unwrap();
    let mut lite = lab.lite().await;
    lite.execute("BEGIN IMMEDIATE").await.unwrap();

    let worker = d.start_worker();
    d.deliver(&authenticated(
        &a.email,
        "Удаление персональных данных",
        "Прошу удалить все мои персональные данные из ваших систем.",
    ))
    .await;
    let failure = |store: &'static str| {
        let pool = d.pool.clone();
        let email = a.email.clone();
        async move {
            let deadline = Instant::now() + WAIT;
            loop {
                let error: Option<String> = sqlx::query_scalar(
                    "SELECT t.last_error FROM store_tasks t JOIN requests r ON r.id = t.request_id
                     WHERE r.sender = $1 AND t.store = $2 AND t.last_error IS NOT NULL",
                )
                .bind(&email)
                .bind(store)
                .fetch_optional(&pool)
                .await
                .unwrap();
                if let Some(error) = error {
                    return error;
                }
                assert!(Instant::now() < deadline, "the {store} task failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let crm = failure("crm").await;
    let shop = failure("shop").await;
    let newsletter = failure("newsletter").await;
    assert!(
        crm.contains("store crm") && crm.contains("lock timeout"),
        "{crm}"
    );
    assert!(
        shop.contains("store shop") && shop.contains("Lock wait timeout"),
        "{shop}"
    );
    assert!(
        newsletter.contains("store newsletter") && newsletter.contains("locked"),
        "{newsletter}"
    );
    // Nothing half done: the invoices blocked and orders deleted before the locked row was
    // reached are rolled back with it.
    assert_eq!(lab.crm_rows(&a).await, (1, 0, 2, 0));
    assert_eq!(lab.shop_rows(&a).await, (1, 0, 1));

    // The shop and the newsletter are free again; A's CRM row is still locked. B's request,
    // sent now, goes through every store while A's CRM task keeps failing.
    my_lock.rollback().await.unwrap();
    lite.execute("ROLLBACK").await.unwrap();
    d.deliver(&authenticated(
        &b.email,
        "Удаление персональных данных",
        "Прошу удалить все мои персональные данные из ваших систем.",
    ))
    .await;
    wait_status(&d, &b.email, "completed").await;
    assert_eq!(lab.shop_rows(&b).await, (0, 0, 0));
    assert_ne!(request_status(&d, &a.email).await.0, "completed");
    // A's shop task is retried on its own ladder (1 s, 5 s, …): wait for it, bounded.
    let deadline = Instant::now() + WAIT;
    while lab.shop_rows(&a).await.2 != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        lab.shop_rows(&a).await.2,
        0,
        "A's shop task went through once free"
    );
    let customer: String = sqlx::query_scalar("SELECT full_name FROM customers WHERE email = $1")
        .bind(&a.email)
        .fetch_one(&mut *pg_lock)
        .await
        .unwrap();
    assert_eq!(
        customer, a.name,
        "A's customer row is untouched while locked"
    );

    // The lock is released: the retried task completes.
    pg_lock.rollback().await.unwrap();
    wait_status(&d, &a.email, "completed").await;
    let anonymised: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM customers WHERE full_name = 'deleted' AND iin IS NULL",
    )
    .fetch_one(&mut lab.pg().await)
    .await
    .unwrap();
    assert_eq!(anonymised, 2, "A and B are anonymised");
    assert_eq!(lab.newsletter_rows(&a).await.0, 0);
    let attempts: i32 = sqlx::query_scalar(
        "SELECT t.attempts FROM store_tasks t JOIN requests r ON r.id = t.request_id
         WHERE r.sender = $1 AND t.store = 'crm'",
    )
    .bind(&a.email)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(attempts >= 2, "retried after the lock timeout: {attempts}");
    worker.stop().await;
    d.cleanup().await;
    drop(pg);
    drop(my);
    drop(lite);
    lab.drop().await;
}
