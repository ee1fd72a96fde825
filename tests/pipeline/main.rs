//! Black-box tests of the whole pipeline on the real local services: Dovecot (IMAP), Postfix
//! (SMTP → Dovecot), PostgreSQL and RabbitMQ. Start them with `./scripts/services up`.

mod binding;
mod console_browser;
mod console_http;
mod helpers;
mod holds;
mod mailer;
mod ops;
mod queue;
mod stores;
mod timeouts;
mod trust;

use std::time::Duration;

use helpers::*;
use sqlx::Row;

const ACK_TIMEOUT: Duration = Duration::from_secs(30);

fn fill(template: &[u8], sender: &str) -> (Vec<u8>, String) {
    let id = format!("{}@subjects.test", token());
    let text = String::from_utf8(template.to_vec())
        .unwrap()
        .replace("SENDER", sender)
        .replace("MSGID", &id);
    (text.into_bytes(), format!("<{id}>"))
}

/// A request in each language gets exactly one acknowledgement, threaded to it, in its language,
/// marked as an automatic reply, with a DSR reference in the subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_gets_one_threaded_acknowledgement_in_its_language() {
    let d = Deployment::new().await;
    let worker = d.start_worker();

    let ru = subject_address("ru");
    let en = subject_address("en");
    let kk = subject_address("kk");
    let ru_msg = message(
        &ru,
        "info@nlg.kz",
        "Отзыв согласия",
        "Здравствуйте! Прошу отозвать моё согласие на обработку персональных данных.",
    );
    let en_msg = message(
        &en,
        "info@nlg.kz",
        "Please delete my data",
        "Hello, please delete my account and all personal data you hold about me.",
    );
    let (kk_msg, kk_id) = fill(&fixture("request-kk-qp.eml"), &kk);
    for raw in [&ru_msg, &en_msg, &kk_msg] {
        d.deliver(raw).await;
    }

    for (address, raw_id, language, greeting) in [
        (&ru, message_id_of(&ru_msg), "ru", "Здравствуйте"),
        (&en, message_id_of(&en_msg), "en", "Hello"),
        (&kk, kk_id, "kk", "Сәлеметсіз бе"),
    ] {
        let mail = settled(address).await;
        let ack = acknowledgements(&mail)[0];
        assert!(
            regex_like_reference(&ack.subject),
            "{language}: reference in subject: {}",
            ack.subject
        );
        assert_eq!(
            ack.in_reply_to.as_deref(),
            Some(raw_id.as_str()),
            "{language}: threaded"
        );
        assert!(ack.references.as_deref().unwrap_or("").contains(&raw_id));
        assert_eq!(ack.auto_submitted.as_deref(), Some("auto-replied"));
        assert!(
            ack.from.contains("info@nlg.kz"),
            "{language}: from the company"
        );
        assert!(
            ack.message_id
                .as_deref()
                .unwrap_or("")
                .ends_with(".ack@nlg.kz>"),
            "{language}: our own stable Message-ID"
        );
        assert_eq!(ack.content_language.as_deref(), Some(language));
        assert!(
            ack.body.contains(greeting),
            "{language}: body in its language: {}",
            ack.body
        );
        let reference = ack.subject.split(['[', ']']).nth(1).unwrap();
        assert!(
            ack.body.contains(reference),
            "{language}: reference in body"
        );
    }

    // Nothing more arrives later (no second acknowledgement in flight).
    tokio::time::sleep(Duration::from_secs(2)).await;
    for address in [&ru, &en, &kk] {
        assert_eq!(list(address).await.len(), 1);
    }
    // The requests stay in INBOX, unread: intake fetches with BODY.PEEK.
    let inbox = d.intake_mailbox().await;
    assert_eq!(inbox.len(), 3);
    assert!(inbox.iter().all(|m| !m.flags.iter().any(|f| f == "\\Seen")));

    worker.stop().await;
    d.cleanup().await;
}

fn regex_like_reference(subject: &str) -> bool {
    let Some(start) = subject.find("DSR-") else {
        return false;
    };
    let r = &subject[start..];
    r.len() >= 15
        && r[4..8].chars().all(|c| c.is_ascii_digit())
        && &r[8..9] == "-"
        && r[9..15].chars().all(|c| c.is_ascii_digit())
}

/// Auto-replies and bounces are never answered; business mail is left unread for humans.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_mail_gets_no_answer_and_business_mail_stays_unread() {
    let d = Deployment::new().await;
    let worker = d.start_worker();

    let ooo = subject_address("ooo");
    let ooo_ru = subject_address("ooo-ru");
    let bounced = subject_address("bounced");
    let business = subject_address("business");
    d.deliver(&fill(&fixture("out-of-office-en.eml"), &ooo).0)
        .await;
    d.deliver(&fill(&fixture("out-of-office-ru-subject-only.eml"), &ooo_ru).0)
        .await;
    d.deliver(&fill(&fixture("bounce-dsn.eml"), &bounced).0)
        .await;
    d.deliver(&fill(&fixture("business-ru.eml"), &business).0)
        .await;
    // A real request after them proves the worker was running and replying meanwhile.
    let control = subject_address("control");
    d.deliver(&message(
        &control,
        "info@nlg.kz",
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;
    settled(&control).await;
    d.wait_triaged(5, ACK_TIMEOUT).await;

    let statuses = d.inbound_statuses().await;
    let kinds: Vec<(&str, &str)> = statuses
        .iter()
        .map(|(s, k, _)| (s.as_str(), k.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("ignored", "auto_reply"),
            ("ignored", "auto_reply"),
            ("ignored", "bounce"),
            ("ignored", "not_a_request"),
            ("request", "withdraw_consent"),
        ]
    );
    let emails: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE channel = 'email'")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(
        emails, 1,
        "only the control request is answered (one acknowledgement asking for details)"
    );
    for address in [&ooo, &ooo_ru, &bounced, &business] {
        assert!(list(address).await.is_empty(), "{address} got nothing");
    }
    let inbox = d.intake_mailbox().await;
    assert_eq!(inbox.len(), 5, "everything stays in INBOX");
    for mail in &inbox {
        assert!(
            !mail.flags.iter().any(|f| f == "\\Seen"),
            "{} is still unread",
            mail.subject
        );
    }

    worker.stop().await;
    d.cleanup().await;
}

/// Mail waiting before the worker starts is fetched and stored as one batch (one statement):
/// the same bytes appended twice are stored once and answered once, and the stored rows follow
/// the mailbox's order (triage reads a sender's messages in the order they came).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_the_same_message_twice_stores_and_answers_it_once() {
    let d = Deployment::new().await;
    let twice = subject_address("twice");
    let once = subject_address("once");
    let repeated = message(
        &twice,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    );
    d.deliver(&repeated).await;
    d.deliver(&repeated).await;
    d.deliver(&message(
        &once,
        "info@nlg.kz",
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;

    let worker = d.start_worker();
    settled(&twice).await;
    settled(&once).await;
    assert_eq!(
        list(&twice).await.len(),
        1,
        "one answer for the same bytes twice"
    );
    assert_eq!(list(&once).await.len(), 1);

    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, uid FROM inbound_messages ORDER BY id")
        .fetch_all(&d.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the second copy is not stored: {rows:?}");
    assert!(
        rows[0].1 < rows[1].1,
        "ids follow the mailbox's UIDs: {rows:?}"
    );
    let (last_uid,): (i64,) = sqlx::query_as("SELECT last_uid FROM mailbox_checkpoints")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(
        last_uid, 3,
        "the checkpoint covers all three UIDs, the copy's too"
    );
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(requests, 2);

    worker.stop().await;
    d.cleanup().await;
}

/// A restart — graceful, or a crash — and a re-read of the whole mailbox acknowledge nothing
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_and_refetching_do_not_acknowledge_twice() {
    let d = Deployment::new().await;
    let first = subject_address("first");
    let second = subject_address("second");

    let worker = d.start_worker();
    d.deliver(&message(
        &first,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    ))
    .await;
    settled(&first).await;
    worker.stop().await;

    // Forget where intake stopped: the next worker reads the whole mailbox again.
    sqlx::query("DELETE FROM mailbox_checkpoints")
        .execute(&d.pool)
        .await
        .unwrap();
    let worker = d.start_worker();
    d.deliver(&message(
        &second,
        "info@nlg.kz",
        "Отзыв согласия",
        "Отзываю согласие на обработку персональных данных.",
    ))
    .await;
    settled(&second).await;
    // Kill it mid-flight (no graceful stop) and start again.
    worker.kill();
    let worker = d.start_worker();
    tokio::time::sleep(Duration::from_secs(3)).await;

    assert_eq!(
        list(&first).await.len(),
        1,
        "first sender: nothing more after restarts"
    );
    assert_eq!(
        list(&second).await.len(),
        1,
        "second sender: nothing more after a crash"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_messages")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2, "a re-fetch stores nothing twice");
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(requests, 2);

    worker.stop().await;
    d.cleanup().await;
}

/// Two workers on the same mailbox, database and queues: one reads the mailbox, both process,
/// and every request is acknowledged exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_acknowledge_each_request_once() {
    let d = Deployment::new().await;
    let a = d.start_worker();
    let b = d.start_worker();
    let senders: Vec<String> = (0..6)
        .map(|i| subject_address(&format!("pair{i}")))
        .collect();
    for sender in &senders {
        d.deliver(&message(
            sender,
            "info@nlg.kz",
            "Withdraw consent",
            "I withdraw my consent to the processing of my personal data.",
        ))
        .await;
    }
    d.wait_emails_sent(6, ACK_TIMEOUT).await;
    for sender in &senders {
        settled(sender).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for sender in &senders {
        assert_eq!(list(sender).await.len(), 1, "{sender}: nothing sent twice");
    }
    let rows = sqlx::query(
        "SELECT count(*) AS n, count(DISTINCT dedupe_key) AS k FROM outbox WHERE channel = 'email'",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(rows.get::<i64, _>("n"), 6);
    assert_eq!(rows.get::<i64, _>("k"), 6);
    a.stop().await;
    b.stop().await;
    d.cleanup().await;
}

/// A message the parser cannot make sense of is kept with the reason and does not hold up the
/// mail behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_mail_is_kept_as_failed_and_does_not_block() {
    let d = Deployment::new().await;
    let worker = d.start_worker();
    let junk = fixture("not-a-message.txt");
    d.deliver(&junk).await;
    let after = subject_address("after");
    d.deliver(&message(
        &after,
        "info@nlg.kz",
        "Access request",
        "What personal data do you hold about me? Please send me a copy.",
    ))
    .await;
    settled(&after).await;
    d.wait_triaged(2, ACK_TIMEOUT).await;

    let row = sqlx::query("SELECT status, failure, raw FROM inbound_messages ORDER BY id LIMIT 1")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "failed");
    let failure: String = row.get("failure");
    assert!(
        failure.contains("not an RFC 5322 message"),
        "reason: {failure}"
    );
    let raw: Vec<u8> = row.get("raw");
    assert!(
        String::from_utf8_lossy(&raw).contains("this is not an e-mail at all"),
        "the raw bytes are kept"
    );
    worker.stop().await;
    d.cleanup().await;
}

/// When the broker goes away the worker says so, keeps the mail, and finishes the work once the
/// broker is back. Nothing personal reaches the logs meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_is_logged_and_work_resumes() {
    let mut proxy = Proxy::start("127.0.0.1:5672").await;
    let d = Deployment::with_env(vec![(
        "DSR__RABBITMQ__URL",
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port),
    )])
    .await;
    let worker = d.start_worker();
    let before = subject_address("before-outage");
    d.deliver(&message(
        &before,
        "info@nlg.kz",
        "Отписка",
        "Прошу отписать меня от рассылки.",
    ))
    .await;
    settled(&before).await;

    proxy.cut();
    let during = subject_address("during-outage");
    d.deliver(&message(
        &during,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные. Мой телефон +7 701 555 80 23.",
    ))
    .await;
    // The message is stored and understood while the broker is away...
    d.wait_triaged(2, ACK_TIMEOUT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        list(&during).await.is_empty(),
        "no acknowledgement without the broker"
    );
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE channel = 'publish' AND status = 'pending'",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(pending, 1, "the publish waits in the outbox");

    // ...and acknowledged once it is back.
    proxy.restore().await;
    settled(&during).await;

    let logs = log_text();
    assert!(
        logs.contains("broker:") && logs.contains("reconnecting in"),
        "a clear log line about the broker"
    );
    for personal in [
        before.as_str(),
        during.as_str(),
        "7015558023",
        "701 555 80 23",
    ] {
        assert!(
            !logs.contains(personal),
            "personal data in logs: {personal}"
        );
    }
    worker.stop().await;
    d.cleanup().await;
}

/// When the mailbox server goes away intake logs it, reconnects with backoff, and picks up the
/// mail that arrived meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_outage_is_logged_and_intake_reconnects() {
    let mut proxy = Proxy::start("127.0.0.1:1993").await;
    let d = Deployment::with_env(vec![("DSR__IMAP__PORT", proxy.port.to_string())]).await;
    let worker = d.start_worker();
    let first = subject_address("imap-first");
    d.deliver(&message(
        &first,
        "info@nlg.kz",
        "Withdraw consent",
        "I withdraw my consent.",
    ))
    .await;
    settled(&first).await;

    proxy.cut();
    let second = subject_address("imap-second");
    d.deliver(&message(
        &second,
        "info@nlg.kz",
        "Withdraw consent",
        "I withdraw my consent to processing.",
    ))
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(list(&second).await.is_empty());
    proxy.restore().await;
    settled(&second).await;
    assert!(log_text().contains("intake:") && log_text().contains("reconnecting in"));

    worker.stop().await;
    d.cleanup().await;
}

/// Replies reach the subject over every configured SMTP security: STARTTLS on the submission
/// port and implicit TLS (SMTPS), both verified against our CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_out_over_starttls_and_implicit_tls() {
    for (security, port) in [("starttls", "2525"), ("tls", "2465")] {
        let d = Deployment::with_env(vec![
            ("DSR__SMTP__SECURITY", security.to_owned()),
            ("DSR__SMTP__PORT", port.to_owned()),
            ("DSR__SMTP__HOST", "localhost".to_owned()),
            (
                "DSR__SMTP__CA_FILE",
                ".local/services/tls/ca.pem".to_owned(),
            ),
        ])
        .await;
        let worker = d.start_worker();
        let to = subject_address(security);
        d.deliver(&message(
            &to,
            "info@nlg.kz",
            "Отзыв согласия",
            "Отзываю своё согласие на обработку персональных данных.",
        ))
        .await;
        let mail = wait_for_mail(&to, 2, ACK_TIMEOUT).await;
        assert_eq!(acknowledgements(&mail).len(), 1, "{security}: acknowledged");
        worker.stop().await;
        d.cleanup().await;
    }
}

/// Read receipts and ticket systems' acknowledgements are machine mail even when their text
/// holds a request's words (the MDN quotes our subject, the ticket echoes "delete my data"):
/// never answered, never a request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_receipts_and_ticket_acknowledgements_get_no_answer() {
    let d = Deployment::new().await;
    let worker = d.start_worker();
    let reader = subject_address("reader");
    let desk = subject_address("desk");
    d.deliver(&fill(&fixture("read-receipt-withdrawal.eml"), &reader).0)
        .await;
    d.deliver(&fill(&fixture("ticket-ack-en.eml"), &desk).0)
        .await;
    let control = subject_address("control");
    d.deliver(&message(
        &control,
        "info@nlg.kz",
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;
    settled(&control).await;
    d.wait_triaged(3, ACK_TIMEOUT).await;
    let statuses = d.inbound_statuses().await;
    assert_eq!(statuses[0].0, "ignored", "{statuses:?}");
    assert_eq!(statuses[1].0, "ignored", "{statuses:?}");
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(requests, 1, "only the control is a request");
    for address in [&reader, &desk] {
        assert!(list(address).await.is_empty(), "{address} got nothing");
    }
    worker.stop().await;
    d.cleanup().await;
}

/// A person who writes the same request again before the first is settled gets an answer to
/// the second message too: threaded to it, naming the request it joined, with no code and no
/// second request opened. Redelivering the second message changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_is_answered_and_joins_the_first() {
    let d = Deployment::new().await;
    let worker = d.start_worker();
    let sender = subject_address("again");
    d.deliver(&message(
        &sender,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    ))
    .await;
    let first = settled(&sender).await;
    let reference = acknowledgements(&first)[0]
        .subject
        .split(']')
        .next()
        .unwrap()
        .trim_start_matches('[')
        .to_owned();
    let again = message(
        &sender,
        "info@nlg.kz",
        "Re: удаление",
        "Я уже писал: удалите, пожалуйста, мои персональные данные.",
    );
    let again_id = message_id_of(&again);
    d.deliver(&again).await;
    // The same bytes again (a client that sent twice): stored once, answered once.
    d.deliver(&again).await;
    d.wait_triaged(2, ACK_TIMEOUT).await;
    let mail = wait_for_mail(&sender, 2, ACK_TIMEOUT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mail_now = list(&sender).await;
    assert_eq!(
        mail_now.len(),
        2,
        "one answer per message, the redelivery none"
    );
    let answer = mail
        .iter()
        .find(|m| m.in_reply_to.as_deref() == Some(again_id.as_str()))
        .unwrap_or_else(|| panic!("no answer threaded to the second message: {mail:?}"));
    assert!(answer.subject.contains(&reference), "{}", answer.subject);
    assert!(
        !regex::Regex::new(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
            .unwrap()
            .is_match(&answer.body),
        "no code repeated: {}",
        answer.body
    );
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(requests, 1, "the second message joined the first request");
    worker.stop().await;
    d.cleanup().await;
}
