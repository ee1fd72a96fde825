//! Acting only on what is proven, tried as a stranger would: someone else's IIN or phone from a
//! verified address of one's own, a spoofed request and the victim's disputing reply, codes
//! only in quoted text or in base64, replies to our "we could not find you" mail, requests left
//! unanswered. Real stores (PostgreSQL CRM, MariaDB shop, SQLite newsletter), real mail.

use std::time::Duration;

use sqlx::Row;

use crate::helpers::*;
use crate::stores::*;

/// Every e-mail the worker queued for `address` (any status), with its dedupe key.
async fn outbox_to(d: &Deployment, address: &str) -> Vec<(String, String, serde_json::Value)> {
    sqlx::query(
        "SELECT dedupe_key, status, payload FROM outbox
         WHERE channel = 'email' AND lower(payload ->> 'to') = lower($1) ORDER BY id",
    )
    .bind(address)
    .fetch_all(&d.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.get("dedupe_key"), r.get("status"), r.get("payload")))
    .collect()
}

/// Nothing that identifies `p` appears in `mail` (bodies and subjects) or in attachments.
fn reveals_nothing_of(mail: &[Mail], p: &Person) {
    for m in mail {
        for secret in [&p.iin, &p.email, &p.phone, &p.name] {
            assert!(
                !m.body.contains(secret.as_str()) && !m.subject.contains(secret.as_str()),
                "an e-mail to the stranger shows {secret}: {}\n{}",
                m.subject,
                m.body
            );
        }
        assert!(
            m.attachments.is_empty(),
            "no attachment: {:?}",
            m.attachments
        );
    }
}

async fn request_id_of(d: &Deployment, sender: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT id FROM requests WHERE lower(sender) = lower($1) ORDER BY id DESC LIMIT 1",
    )
    .bind(sender)
    .fetch_one(&d.pool)
    .await
    .unwrap()
}

fn reply_to(from: &str, ours: &Mail, content_type_and_encoding: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: info@nlg.kz\r\nSubject: Re: {}\r\nMessage-ID: <{}@subjects.test>\r\n\
         In-Reply-To: {}\r\nReferences: {}\r\nMIME-Version: 1.0\r\n{content_type_and_encoding}\r\n\r\n{body}\r\n",
        ours.subject,
        token(),
        ours.message_id.clone().unwrap(),
        ours.message_id.clone().unwrap(),
    )
    .into_bytes()
}

const PLAIN: &str = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit";

/// A stranger whose own address is in no store, with a perfectly valid DKIM pass for it, asks
/// for access and erasure with B's IIN (and in English with B's phone): the stranger gets
/// nothing of B's and B's rows stay; the only way forward is B's own address on file — and
/// when B confirms from there, B's erasure is done and B is told, not the stranger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_identifiers_bind_only_through_the_contact_on_file() {
    let lab = StoreLab::new().await;
    let b = Person::new("victim", 21);
    let other = Person::new("bystander", 22);
    lab.seed(&b, false).await;
    lab.seed(&other, false).await;
    let stranger = subject_address("stranger");
    let stranger2 = subject_address("stranger-two");
    let nobody = subject_address("no-match");
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();

    d.deliver(&authenticated(
        &stranger,
        "Запрос сведений",
        &format!(
            "Прошу предоставить сведения о моих персональных данных. Мой ИИН {}.",
            b.iin
        ),
    ))
    .await;
    d.deliver(&authenticated(
        &stranger2,
        "Delete my data",
        &format!(
            "Please delete all my personal data. My phone number is {}.",
            b.phone
        ),
    ))
    .await;
    // For comparison: identifiers that match nobody at all.
    let unknown = Person::new("never-seeded", 29);
    d.deliver(&authenticated(
        &nobody,
        "Запрос сведений",
        &format!(
            "Прошу предоставить сведения о моих персональных данных. Мой ИИН {}.",
            unknown.iin
        ),
    ))
    .await;
    let mail = wait_for_mail(&stranger, 1, WAIT).await;
    let mail2 = wait_for_mail(&stranger2, 1, WAIT).await;
    let none = wait_for_mail(&nobody, 1, WAIT).await;
    wait_status(&d, &stranger, "awaiting_confirmation").await;
    wait_status(&d, &stranger2, "awaiting_confirmation").await;
    wait_status(&d, &nobody, "awaiting_confirmation").await;
    reveals_nothing_of(&mail, &b);
    reveals_nothing_of(&mail2, &b);
    // The code goes to the address on file in a mail of its own; the stranger gets one
    // e-mail, the acknowledgement, which says only the address on file can confirm and
    // carries no code.
    for m in mail.iter().chain(&mail2) {
        assert!(code_in_opt(&m.body).is_none(), "{}", m.subject);
    }
    assert_eq!(mail.len(), 1);
    assert_eq!(mail2.len(), 1);
    assert!(
        mail2[0].body.contains("registered with the data"),
        "{}",
        mail2[0].body
    );
    // The stranger's answer is the same whether the IIN matched someone or nobody.
    let strip = |m: &Mail, r: &str| m.subject.replace(r, "REF");
    let (r1, r3) = (
        reference_of(&d, &stranger).await,
        reference_of(&d, &nobody).await,
    );
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let s1 = sorted(mail.iter().map(|m| strip(m, &r1)).collect());
    let s3 = sorted(none.iter().map(|m| strip(m, &r3)).collect());
    assert_eq!(s1, s3, "the answers do not tell whether a record exists");
    let b1 = sorted(mail.iter().map(|m| m.body.replace(&r1, "REF")).collect());
    let b3 = sorted(none.iter().map(|m| m.body.replace(&r3, "REF")).collect());
    assert_eq!(b1, b3);
    // B's rows are untouched everywhere; no access report was made.
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0));
    assert_eq!(lab.shop_rows(&b).await, (1, 0, 1));
    assert_eq!(lab.newsletter_rows(&b).await, (1, 1, 0));
    assert!(outbox_to(&d, &stranger)
        .await
        .iter()
        .all(|(key, _, p)| !key.starts_with("access:") && p.get("attachments").is_none()));

    // B got one code per request, at the address the records hold.
    let to_b = wait_for_mail(&b.email, 2, WAIT).await;
    assert_eq!(
        to_b.len(),
        2,
        "{:?}",
        to_b.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(
        to_b.iter().all(|m| m.in_reply_to.is_none()),
        "a new thread, not the stranger's"
    );
    for m in &to_b {
        reveals_nothing_of(std::slice::from_ref(m), &other);
        assert!(!m.body.contains(&stranger) && !m.body.contains(&stranger2));
    }
    // B confirms the erasure (the English one) from the address on file.
    let r2 = reference_of(&d, &stranger2).await;
    let erasure_mail = to_b
        .iter()
        .find(|m| m.subject.contains(&r2))
        .cloned()
        .expect("B's code for the erasure");
    let code = code_in(&erasure_mail.body);
    d.deliver(&reply_to(
        &b.email,
        &erasure_mail,
        PLAIN,
        &format!("Yes, that was me. {code}"),
    ))
    .await;
    wait_status(&d, &stranger2, "completed").await;
    assert_eq!(lab.shop_rows(&b).await, (0, 0, 0), "B's erasure is done");
    assert_eq!(lab.newsletter_rows(&b).await.0, 0);
    assert_eq!(
        lab.shop_rows(&other).await,
        (1, 0, 1),
        "nobody else is touched"
    );
    // The completion goes to B, not to the stranger.
    let to_b = wait_for_mail(&b.email, 3, WAIT).await;
    assert!(to_b
        .iter()
        .any(|m| m.subject.contains(&r2) && m.body.contains("2031-06-15")));
    let mail2 = list(&stranger2).await;
    assert_eq!(mail2.len(), 1, "the stranger hears nothing more");
    assert_eq!(list(&stranger).await.len(), 1, "one e-mail per request");
    // The access request with B's IIN is still waiting for B, who never answers it.
    assert_eq!(
        request_status(&d, &stranger).await.0,
        "awaiting_confirmation"
    );
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

async fn reference_of(d: &Deployment, sender: &str) -> String {
    sqlx::query_scalar(
        "SELECT reference FROM requests WHERE lower(sender) = lower($1) ORDER BY id DESC LIMIT 1",
    )
    .bind(sender)
    .fetch_one(&d.pool)
    .await
    .unwrap()
}

/// A spoofed erasure in B's name makes the worker ask B for a code. B answers as a person does
/// — it wasn't me, do not delete anything — quoting our mail and so the code: the request is
/// disputed, nothing is executed, B is told nothing was done, staff see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disputing_reply_that_quotes_the_code_cancels() {
    let lab = StoreLab::new().await;
    let b = Person::new("disputer", 23);
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    // No trusted Authentication-Results: anyone can write this.
    d.deliver(&message(
        &b.email,
        "info@nlg.kz",
        "Удаление данных",
        "Удалите все мои персональные данные.",
    ))
    .await;
    let mail = wait_for_mail(&b.email, 1, WAIT).await;
    wait_status(&d, &b.email, "awaiting_confirmation").await;
    let confirm = mail
        .iter()
        .find(|m| code_in_opt(&m.body).is_some())
        .unwrap();
    let code = code_in(&confirm.body);
    let quoted: String = confirm.body.lines().map(|l| format!("> {l}\r\n")).collect();
    d.deliver(&reply_to(
        &b.email,
        confirm,
        PLAIN,
        &format!("Это не я писал! Ничего не удаляйте.\r\n\r\nOn Tue, NLG.KZ wrote:\r\n{quoted}"),
    ))
    .await;
    wait_status(&d, &b.email, "disputed").await;
    let _ = code;
    let mail = wait_for_mail(&b.email, 2, WAIT).await;
    assert_eq!(
        mail.len(),
        2,
        "the acknowledgement with the code, and 'nothing was done'"
    );
    let id = request_id_of(&d, &b.email).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0), "nothing executed");
    assert_eq!(lab.shop_rows(&b).await, (1, 0, 1));
    let tasks: i64 = sqlx::query_scalar("SELECT count(*) FROM store_tasks WHERE request_id = $1")
        .bind(id)
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(tasks, 0);
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM verifications WHERE request_id = $1 AND confirmed_at IS NULL AND closed_at IS NULL",
    )
    .bind(id)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(open, 0, "the code is dead");
    // A later reply with the right code cannot revive it.
    d.deliver(&reply_to(
        &b.email,
        confirm,
        PLAIN,
        &format!("Sorry, it was me: {code}"),
    ))
    .await;
    d.wait_triaged(3, WAIT).await;
    assert_eq!(request_status(&d, &b.email).await.0, "disputed");
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

fn code_in_opt(body: &str) -> Option<String> {
    let re = regex::Regex::new(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b").unwrap();
    re.find(body).map(|m| m.as_str().to_owned())
}

/// A reply whose only code is in the quoted text confirms nothing; a base64-encoded reply with
/// the code typed by the person confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_persons_own_words_confirm_also_in_base64() {
    let lab = StoreLab::new().await;
    let a = Person::new("confirmer", 24);
    lab.seed(&a, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&message(
        &a.email,
        "info@nlg.kz",
        "Отзыв согласия",
        "Отзываю своё согласие на обработку персональных данных.",
    ))
    .await;
    let mail = wait_for_mail(&a.email, 1, WAIT).await;
    wait_status(&d, &a.email, "awaiting_confirmation").await;
    let confirm = mail
        .iter()
        .find(|m| code_in_opt(&m.body).is_some())
        .unwrap();
    let code = code_in(&confirm.body);
    // Just "OK" above the quote: the code is only in our own words.
    let quoted: String = confirm.body.lines().map(|l| format!("> {l}\r\n")).collect();
    d.deliver(&reply_to(
        &a.email,
        confirm,
        PLAIN,
        &format!("OK\r\n\r\n{quoted}"),
    ))
    .await;
    d.wait_triaged(2, WAIT).await;
    assert_eq!(
        request_status(&d, &a.email).await.0,
        "awaiting_confirmation"
    );
    assert_eq!(lab.crm_rows(&a).await, (1, 0, 2, 0));
    // Now typed, base64-encoded as many mail clients send it.
    let body = format!("Подтверждаю, это я. Код: {code}\r\n\r\n{quoted}");
    d.deliver(&reply_to(
        &a.email,
        confirm,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
        &b64(body.as_bytes()),
    ))
    .await;
    wait_status(&d, &a.email, "completed").await;
    assert_eq!(
        lab.crm_rows(&a).await,
        (1, 1, 2, 2),
        "blocked once confirmed"
    );
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    text.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// A request nobody confirms closes after `confirmation_hours`, with a reply in its language,
/// and nothing done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_request_expires_and_closes() {
    let lab = StoreLab::new().await;
    let a = Person::new("silent", 25);
    lab.seed(&a, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&message(
        &a.email,
        "info@nlg.kz",
        "Erase my data",
        "Please erase all my personal data.",
    ))
    .await;
    wait_for_mail(&a.email, 1, WAIT).await;
    wait_status(&d, &a.email, "awaiting_confirmation").await;
    let id = request_id_of(&d, &a.email).await;
    // Time passes: the code and the request are past their hours.
    sqlx::query("UPDATE requests SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&d.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE verifications SET expires_at = now() - interval '1 second' WHERE request_id = $1",
    )
    .bind(id)
    .execute(&d.pool)
    .await
    .unwrap();
    wait_status(&d, &a.email, "closed").await;
    assert_eq!(
        request_status(&d, &a.email).await.1.as_deref(),
        Some("expired")
    );
    let mail = wait_for_mail(&a.email, 2, WAIT).await;
    let closed = mail
        .iter()
        .find(|m| m.subject.contains("closed"))
        .expect("expiry reply");
    assert_eq!(closed.content_language.as_deref(), Some("en"));
    assert_eq!(lab.shop_rows(&a).await, (1, 0, 1), "nothing done");
    // A code that arrives afterwards confirms nothing.
    let confirm = mail
        .iter()
        .find(|m| code_in_opt(&m.body).is_some())
        .unwrap();
    let code = code_in(&confirm.body);
    d.deliver(&reply_to(&a.email, confirm, PLAIN, &code)).await;
    d.wait_triaged(2, WAIT).await;
    assert_eq!(request_status(&d, &a.email).await.0, "closed");
    assert_eq!(lab.shop_rows(&a).await, (1, 0, 1));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// A reply with an IIN to our "we could not find you" mail joins its request (no new request,
/// no second acknowledgement) and the IIN is used under the binding rule: through the address
/// the record holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_sent_in_reply_join_their_request() {
    let lab = StoreLab::new().await;
    let p = Person::new("new-address", 26);
    lab.seed(&p, false).await;
    let new_address = subject_address("new-address-today");
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &new_address,
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    ))
    .await;
    wait_status(&d, &new_address, "awaiting_information").await;
    let mail = wait_for_mail(&new_address, 1, WAIT).await;
    // The acknowledgement itself says nobody was found and asks for details.
    let unknown = acknowledgements(&mail)
        .first()
        .copied()
        .expect("the acknowledgement asking for details");
    let mut reply = format!(
        "Authentication-Results: {TRUSTED}; dkim=pass header.d=subjects.test header.s=s1\r\n{}",
        received_by(RECEIVING)
    )
    .into_bytes();
    reply.extend(reply_to(
        &new_address,
        unknown,
        PLAIN,
        &format!("Мой ИИН {}, раньше я писал с другого адреса.", p.iin),
    ));
    d.deliver(&reply).await;
    wait_status(&d, &new_address, "awaiting_confirmation").await;
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(requests, 1, "the reply joined its request");
    let mail = wait_for_mail(&new_address, 3, WAIT).await;
    assert_eq!(
        acknowledgements(&mail).len(),
        1,
        "no second acknowledgement"
    );
    reveals_nothing_of(&mail, &p);
    // The code went to the address the record holds.
    let to_p = wait_for_mail(&p.email, 1, WAIT).await;
    assert_eq!(to_p.len(), 1);
    assert!(code_in_opt(&to_p[0].body).is_some());
    assert_eq!(lab.shop_rows(&p).await, (1, 0, 1));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// Poisoned headers cannot stall triage: a Subject encoded-word holding a NUL byte and a
/// 3,000-character Message-ID are triaged (or kept failed) and the request behind them is
/// acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisoned_headers_do_not_delay_the_request_behind_them() {
    let d = Deployment::new().await;
    let (nul, long, fine) = (
        subject_address("nul"),
        subject_address("long-id"),
        subject_address("behind"),
    );
    let nul_subject = format!(
        "From: {nul}\r\nTo: info@nlg.kz\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{}@subjects.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nПрошу удалить мои персональные данные.\r\n",
        b64("Удаление\0данных".as_bytes()),
        token()
    );
    let long_id = format!(
        "From: {long}\r\nTo: info@nlg.kz\r\nSubject: Delete my data\r\nMessage-ID: <{}@subjects.test>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nPlease delete all my personal data.\r\n",
        "x".repeat(3000)
    );
    d.deliver(nul_subject.as_bytes()).await;
    d.deliver(long_id.as_bytes()).await;
    d.deliver(&message(
        &fine,
        "info@nlg.kz",
        "Отзыв согласия",
        "Отзываю своё согласие на обработку персональных данных.",
    ))
    .await;
    let worker = d.start_worker();
    let mail = wait_for_mail(&fine, 1, Duration::from_secs(30)).await;
    assert!(
        !acknowledgements(&mail).is_empty(),
        "the request behind is answered"
    );
    d.wait_triaged(3, Duration::from_secs(30)).await;
    let statuses = d.inbound_statuses().await;
    assert!(
        statuses
            .iter()
            .all(|(s, _, _)| s == "request" || s == "failed"),
        "{statuses:?}"
    );
    // Both poisoned messages became requests: their headers were made safe.
    for sender in [&nul, &long] {
        let subject: String = sqlx::query_scalar("SELECT subject FROM requests WHERE sender = $1")
            .bind(sender)
            .fetch_one(&d.pool)
            .await
            .unwrap();
        assert!(!subject.contains('\0'));
    }
    let long_mail = wait_for_mail(&long, 1, Duration::from_secs(30)).await;
    assert!(
        !long_mail.is_empty(),
        "even the long Message-ID gets its answer"
    );
    worker.stop().await;
    d.cleanup().await;
}

/// 30 spoofed requests from one address within seconds: the address receives no more than the
/// per-recipient limit of automatic e-mails, whatever the kinds; same-kind ones fold together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_stays_within_the_limit() {
    let d = Deployment::new().await;
    let victim = subject_address("flooded");
    let bodies = [
        "Прошу удалить мои персональные данные.",
        "Отзываю своё согласие на обработку персональных данных.",
        "Please block the processing of my personal data.",
        "What personal data do you hold about me? Please send me a copy.",
        "Больше не присылайте мне рекламу и рассылки.",
    ];
    for i in 0..30 {
        d.deliver(&message(
            &victim,
            "info@nlg.kz",
            "Request",
            &format!("{} ({i})", bodies[i % bodies.len()]),
        ))
        .await;
    }
    let worker = d.start_worker();
    d.wait_triaged(30, Duration::from_secs(60)).await;
    // Let every request settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let queued = outbox_to(&d, &victim).await;
    let live = queued.iter().filter(|(_, s, _)| s != "suppressed").count();
    assert!(
        live <= 5,
        "{live} e-mails would reach the address: {queued:?}"
    );
    let folded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM inbound_messages WHERE status = 'folded'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert!(
        folded >= 20,
        "same-kind repeats fold into the open request: {folded}"
    );
    let received = list(&victim).await;
    assert!(received.len() <= 5, "{} e-mails arrived", received.len());
    worker.stop().await;
    d.cleanup().await;
}

/// Many strangers, one victim: each writes from an address of their own with the victim's IIN.
/// The victim's address on file is asked for a code, but never more often than the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_to_an_address_on_file_stay_within_the_limit() {
    let lab = StoreLab::new().await;
    let b = Person::new("popular", 30);
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    for i in 0..12 {
        d.deliver(&authenticated(
            &subject_address(&format!("stranger{i}")),
            "Удаление данных",
            &format!("Удалите мои персональные данные, мой ИИН {}.", b.iin),
        ))
        .await;
    }
    let worker = d.start_worker();
    d.wait_triaged(12, Duration::from_secs(60)).await;
    let deadline = std::time::Instant::now() + WAIT;
    while sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM requests WHERE status <> 'awaiting_confirmation'",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap()
        > 0
    {
        assert!(std::time::Instant::now() < deadline, "requests settle");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let queued = outbox_to(&d, &b.email).await;
    assert_eq!(queued.len(), 12, "one code per request is written down");
    let live = queued.iter().filter(|(_, s, _)| s != "suppressed").count();
    assert_eq!(live, 5, "only the limit reaches the address");
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// Staff approved a flagged request on the facts they saw; the facts change before it runs
/// (another record appears under the same address): it goes back to review instead of acting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_rechecked_against_the_facts() {
    use dsr_worker::domain::RequestKind;
    use dsr_worker::review::decisions::Decision;
    let lab = StoreLab::new().await;
    let a = Person::new("approved", 27);
    lab.seed(&a, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    // A lawyer-like phrasing makes it flagged.
    d.deliver(&authenticated(
        &a.email,
        "Удаление данных",
        "Я, как представитель по доверенности, прошу удалить персональные данные моего доверителя.",
    ))
    .await;
    wait_status(&d, &a.email, "needs_review").await;
    let id = request_id_of(&d, &a.email).await;
    wait_anchor(&d, id, "verified").await;
    worker.stop().await;
    let (decider, staff) = staff_decider(&d).await;
    let seen: serde_json::Value =
        sqlx::query_scalar("SELECT subject_match FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    decider
        .decide(
            &staff,
            id,
            Decision::Approve {
                kind: RequestKind::Erasure,
                fingerprint: dsr_worker::request::approval::fingerprint_of(&seen).unwrap(),
                override_conflicts: false,
                override_obligations: false,
            },
        )
        .await
        .unwrap();
    // Before the approval runs, a second shop account appears under the same address.
    sqlx::query("INSERT INTO accounts (name, email, phone) VALUES ('Second', ?, NULL)")
        .bind(&a.email)
        .execute(&mut lab.my().await)
        .await
        .unwrap();
    let worker = d.start_worker();
    wait_status(&d, &a.email, "needs_review").await;
    let reasons: serde_json::Value = sqlx::query_scalar(
        "SELECT detail -> 'reasons' FROM request_events WHERE request_id = $1 AND event = 'flagged_for_review' ORDER BY id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(reasons.to_string().contains("changed"), "{reasons}");
    assert_eq!(lab.shop_rows(&a).await.0, 2, "nothing deleted");
    assert_eq!(lab.crm_rows(&a).await, (1, 0, 2, 0));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// "I registered with my old address": an address written in the text is no proof either — the
/// code goes to that address, and only a confirmation from there binds its records. The report
/// or the completion goes there too, never to the new address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_address_in_the_text_is_asked_not_trusted() {
    let lab = StoreLab::new().await;
    let p = Person::new("old-address", 28);
    lab.seed(&p, false).await;
    let today = subject_address("today");
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &today,
        "Withdrawal of consent",
        &format!(
            "I withdraw my consent to the processing of my personal data. I registered with {}.",
            p.email
        ),
    ))
    .await;
    // Another account's address in the text: the reader sends it to staff, who see that the
    // address given matches a record the sender's does not.
    wait_status(&d, &today, "needs_review").await;
    let id = request_id_of(&d, &today).await;
    wait_anchor(&d, id, "verified").await;
    let seen: serde_json::Value =
        sqlx::query_scalar("SELECT subject_match FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(seen["stores"]["crm"]["customers"]["outside"], 1, "{seen}");
    assert_eq!(seen["stores"]["crm"]["customers"]["bound"], 0, "{seen}");
    // Even approved, the address in the text is asked, not trusted.
    let (decider, staff) = staff_decider(&d).await;
    decider
        .decide(
            &staff,
            id,
            dsr_worker::review::decisions::Decision::Approve {
                kind: dsr_worker::domain::RequestKind::WithdrawConsent,
                fingerprint: dsr_worker::request::approval::fingerprint_of(&seen).unwrap(),
                override_conflicts: false,
                override_obligations: false,
            },
        )
        .await
        .unwrap();
    wait_status(&d, &today, "awaiting_confirmation").await;
    let to_old = wait_for_mail(&p.email, 1, WAIT).await;
    assert_eq!(to_old.len(), 1);
    let code = code_in(&to_old[0].body);
    assert_eq!(lab.crm_rows(&p).await, (1, 0, 2, 0));
    d.deliver(&reply_to(
        &p.email,
        &to_old[0],
        PLAIN,
        &format!("It was me. {code}"),
    ))
    .await;
    wait_status(&d, &today, "completed").await;
    assert_eq!(
        lab.crm_rows(&p).await,
        (1, 1, 2, 2),
        "blocked once the old address confirmed"
    );
    let to_old = wait_for_mail(&p.email, 2, WAIT).await;
    assert!(
        to_old.iter().any(|m| m.subject.contains("выполнено")
            || m.subject.contains("completed")
            || m.subject.contains("орындалды")),
        "{:?}",
        to_old.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let today_mail = list(&today).await;
    assert_eq!(
        today_mail.len(),
        2,
        "acknowledgement and the neutral notice only"
    );
    reveals_nothing_of(&today_mail, &p);
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// A request the processor can never handle is tried a bounded number of times, marked failed
/// with its reason for staff, and the request behind it is handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_always_fails_is_marked_failed_and_the_next_goes_on() {
    let d = Deployment::new().await;
    let (first, second) = (subject_address("doomed"), subject_address("next"));
    let worker = d.start_worker();
    d.deliver(&message(
        &first,
        "info@nlg.kz",
        "Delete my data",
        "Please delete all my personal data.",
    ))
    .await;
    wait_for_mail(&first, 1, WAIT).await;
    let id = request_id_of(&d, &first).await;
    // Something no handler can get past (here: a kind the worker does not know).
    let mut tx = d.pool.begin().await.unwrap();
    sqlx::query("UPDATE requests SET kind = 'bogus', status = 'accepted' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    dsr_worker::queue::messages::publish_request(
        &mut tx,
        &dsr_worker::pipeline::queues(&d.settings()).0,
        id,
        // A republish under a cause of its own (the first publish was consumed).
        Some(dsr_worker::outbound::dedupe::Again::Retry { entry: 0 }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (status, failure): (String, Option<String>) =
            sqlx::query_as("SELECT status, failure FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&d.pool)
                .await
                .unwrap();
        if status == "failed" {
            assert!(failure.unwrap_or_default().contains("bogus"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.deliver(&message(
        &second,
        "info@nlg.kz",
        "Delete my data",
        "Please delete all my personal data.",
    ))
    .await;
    let mail = wait_for_mail(&second, 1, WAIT).await;
    assert_eq!(mail.len(), 1, "the next request is answered");
    worker.stop().await;
    d.cleanup().await;
}

/// Two messages, two answers, each in its own thread: a request that found nobody and asked for
/// details, then a second message of the same kind (not a reply) with an IIN that matches a
/// record. The second joins the first request and is looked up again; what that finds (only
/// the address on file can confirm) answers the second message, threaded to it, not the first
/// one a second time. The person on file gets the code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_with_new_details_is_answered_in_its_own_thread() {
    let lab = StoreLab::new().await;
    let b = Person::new("repeated", 31);
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let writer = subject_address("writes-twice");
    let worker = d.start_worker();

    let first = message(
        &writer,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    );
    let first_id = message_id_of(&first);
    d.deliver(&first).await;
    let asked = wait_for_mail(&writer, 1, WAIT).await;
    wait_status(&d, &writer, "awaiting_information").await;
    assert_eq!(asked[0].in_reply_to.as_deref(), Some(first_id.as_str()));

    let second = message(
        &writer,
        "info@nlg.kz",
        "Удаление данных",
        &format!("Прошу удалить мои персональные данные. Мой ИИН {}.", b.iin),
    );
    let second_id = message_id_of(&second);
    d.deliver(&second).await;
    wait_status(&d, &writer, "awaiting_confirmation").await;
    wait_for_mail(&writer, 2, WAIT).await;
    // Time for a third e-mail to show up, if one were sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail = list(&writer).await;
    assert_eq!(
        mail.len(),
        2,
        "one answer per message: {:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let threads: Vec<Option<&str>> = mail.iter().map(|m| m.in_reply_to.as_deref()).collect();
    assert!(
        threads.contains(&Some(first_id.as_str())) && threads.contains(&Some(second_id.as_str())),
        "each message answered in its own thread: {threads:?}"
    );
    let later = mail
        .iter()
        .find(|m| m.in_reply_to.as_deref() == Some(second_id.as_str()))
        .unwrap();
    let references = later.references.clone().unwrap_or_default();
    assert!(
        references.contains(&first_id) && references.contains(&second_id),
        "the chain names both messages: {references}"
    );
    reveals_nothing_of(&mail, &b);
    assert!(code_in_opt(&later.body).is_none(), "no code to the writer");
    let on_file = wait_for_mail(&b.email, 1, WAIT).await;
    assert!(
        code_in_opt(&on_file[0].body).is_some(),
        "the code goes to the address on file"
    );
    worker.stop().await;
    d.cleanup().await;
}
