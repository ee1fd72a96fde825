//! The worker forgets too: after a person's requests are over and the retention period has
//! passed, nothing of them remains in the worker's own database — every text, JSON, bytea and
//! array column of every table is searched — while receipts, holds, the audit log and the
//! references stay, and the console still shows the reduced requests.

use std::time::Duration;

use chrono::Utc;
use dsr_worker::retention::Retention;
use dsr_worker::review::auth::{add_staff, Role};
use sqlx::{PgPool, Row};

use super::{authenticated, deployment, Person, StoreLab, WAIT};
use crate::console_http::{free_port, wait_listening, Client, PASSWORD};
use crate::helpers::*;

/// A one-time code as the confirmation e-mail shows it.
fn code_in(text: &str) -> Option<String> {
    regex::Regex::new(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
        .unwrap()
        .find(text)
        .map(|m| m.as_str().to_owned())
}

/// Every place of the database where `needle` occurs (case-insensitive), as `table.column`:
/// each text, varchar, char, json, jsonb, bytea and array column of each table, found in the
/// catalogue, not listed by hand.
async fn occurrences(pool: &PgPool, needle: &str) -> Vec<String> {
    let columns = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty
         FROM information_schema.columns
         WHERE table_schema = 'public'
           AND (data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')
                OR data_type = 'ARRAY')
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(columns.len() > 40, "the catalogue lists the columns");
    let mut found = vec![];
    for col in columns {
        let (t, c, ty): (String, String, String) = (col.get("t"), col.get("c"), col.get("ty"));
        let text = match ty.as_str() {
            "bytea" => format!("encode(\"{c}\", 'escape')"),
            "ARRAY" => format!("array_to_string(\"{c}\"::text[], ' ')"),
            _ => format!("\"{c}\"::text"),
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{t}\" WHERE strpos(lower({text}), lower($1)) > 0"
        )))
        .bind(needle)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("searching {t}.{c}: {e}"));
        if n > 0 {
            found.push(format!("{t}.{c} ({n} rows)"));
        }
    }
    found
}

/// What a person leaves in the worker's database, as strings to search for.
fn traces(p: &Person) -> Vec<String> {
    let local = p.email.split('@').next().unwrap().to_owned();
    vec![
        p.email.clone(),
        local,
        p.iin.clone(),
        p.phone.clone(),
        p.phone.trim_start_matches('+').to_owned(),
        p.name.clone(),
    ]
}

async fn wait_nothing_pending(d: &Deployment) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE channel = 'email' AND status = 'pending'",
        )
        .fetch_one(&d.pool)
        .await
        .unwrap();
        if pending == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "e-mails still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM requests WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn wait_request(pool: &PgPool, id: i64, want: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    while status_of(pool, id).await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "request {id} is {}, not {want}",
            status_of(pool, id).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn retention_of(d: &Deployment, pool: PgPool) -> Retention {
    let settings = d.settings();
    Retention::new(
        pool,
        settings.retention.clone(),
        &settings.hash_key().unwrap(),
        &settings.company,
    )
}

/// A person asks for their data, has a withdrawal rejected by staff (an invoice was unpaid), has
/// the data erased after a code round trip, and has an auto-reply answer us. Sent reports leave no copy in the outbox at
/// once, and sent codes are masked by the worker's own job; once the retention period is over,
/// a pass leaves nothing of the person anywhere in the database — while another person's open
/// request, the receipts, holds, audit log and references are untouched and the console still
/// shows every reduced request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_retention_period_nothing_of_an_erased_person_remains() {
    let lab = StoreLab::new().await;
    let (p, other) = (Person::new("forget", 21), Person::new("remain", 22));
    lab.seed(&p, true).await;
    lab.seed(&other, false).await;
    let port = free_port();
    let d = deployment(
        &lab,
        3306,
        vec![
            ("DSR__WORKER__REPLIES_PER_SENDER_PER_HOUR", "50".to_owned()),
            ("DSR__RETENTION__INTERVAL_SECS", "1".to_owned()),
            ("DSR__CONSOLE__ENABLED", "true".to_owned()),
            ("DSR__CONSOLE__BIND", format!("127.0.0.1:{port}")),
        ],
    )
    .await;
    let worker = d.start_worker();
    let from = format!("{} <{}>", p.name, p.email);
    let details = format!("{}, ИИН {}, телефон {}", p.name, p.iin, p.phone);

    // 1. Access: the report reaches the person; the outbox keeps its file names and sizes only.
    d.deliver(&authenticated(
        &from,
        "Запрос сведений",
        &format!("Прошу сообщить, какие мои персональные данные вы храните. {details}"),
    ))
    .await;
    let access = newest_request_when(&d, &p.email).await;
    wait_request(&d.pool, access, "completed").await;
    let mail = wait_for_mail(&p.email, 2, WAIT).await;
    let received = mail
        .iter()
        .find(|m| !m.attachments.is_empty())
        .expect("the report e-mail arrived with its files");
    let report = received
        .attachments
        .iter()
        .find(|a| a.filename.as_deref() == Some("report.json"))
        .and_then(|a| a.text.clone())
        .expect("report.json");
    assert!(report.contains(&p.iin) && report.contains(&p.name));
    wait_nothing_pending(&d).await;
    let stored: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE request_id = $1 AND payload ? 'attachments'",
    )
    .bind(access)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    let files = stored["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{stored}");
    for f in files {
        assert_eq!(f["content"], "", "no copy of the report once sent: {f}");
        assert!(f["size"].as_u64().unwrap() > 100, "its size stays: {f}");
        let name = f["filename"].as_str().unwrap();
        let arrived = received
            .attachments
            .iter()
            .find(|a| a.filename.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} arrived"));
        assert!(
            f["content_type"]
                .as_str()
                .unwrap()
                .starts_with(&arrived.content_type),
            "{name}: {f}"
        );
        assert!(arrived.size as u64 >= f["size"].as_u64().unwrap(), "{name}");
        // Mail carries text with CRLF line ends; the worker stored it with LF.
        let text = arrived.text.as_deref().unwrap().replace("\r\n", "\n");
        assert_eq!(
            text.len() as u64,
            f["size"].as_u64().unwrap(),
            "{name}: the size of what was sent"
        );
    }
    assert!(!stored.to_string().contains(&p.iin));

    // 2. A withdrawal while an invoice is unpaid (law 94-V art. 8(2)) goes to staff, who reject
    //    it: an audit entry about the person's request. Then the person pays.
    d.deliver(&authenticated(
        &from,
        "Отзыв согласия",
        &format!("Отзываю своё согласие на обработку персональных данных. {details}"),
    ))
    .await;
    let withdrawal = newest_request_when_after(&d, &p.email, access).await;
    wait_request(&d.pool, withdrawal, "needs_review").await;
    let settings = d.settings();
    let staff = add_staff(&d.pool, "dpo@nlg.kz", Role::Reviewer, PASSWORD, "test")
        .await
        .unwrap();
    dsr_worker::cli::review::decider(&settings, d.pool.clone())
        .unwrap()
        .decide(
            &staff,
            withdrawal,
            dsr_worker::review::decisions::Decision::Reject {
                reason: "an invoice is unpaid; write again once it is paid".into(),
            },
        )
        .await
        .unwrap();
    sqlx::query("UPDATE invoices SET paid = true")
        .execute(&mut lab.pg().await)
        .await
        .unwrap();

    // 3. Erasure from an unproven sender: a code round trip first. Once the confirmation e-mail
    //    is sent, the worker's retention job masks the code in the outbox.
    d.deliver(&message(
        &from,
        "info@nlg.kz",
        "Удаление персональных данных",
        &format!("Прошу удалить все мои персональные данные из ваших систем. {details}"),
    ))
    .await;
    let erasure = newest_request_when_after(&d, &p.email, withdrawal).await;
    wait_request(&d.pool, erasure, "awaiting_confirmation").await;
    let mail = wait_for_mail(&p.email, 7, WAIT).await;
    let confirm = mail
        .iter()
        .find(|m| code_in(&m.body).is_some())
        .expect("a confirmation e-mail with a code");
    let code = code_in(&confirm.body).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let visible: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE strpos(upper(payload::text), $1) > 0",
        )
        .bind(&code)
        .fetch_one(&d.pool)
        .await
        .unwrap();
        if visible == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sent code is still readable in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        status_of(&d.pool, erasure).await,
        "awaiting_confirmation",
        "masking the code changes nothing about the request"
    );
    let reply = format!(
        "From: {from}\r\nTo: info@nlg.kz\r\nSubject: Re: {}\r\nMessage-ID: <{}@subjects.test>\r\nIn-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nДа, это я. Код: {code}\r\n{}\r\n",
        confirm.subject,
        token(),
        confirm.message_id.clone().unwrap(),
        p.name,
    );
    d.deliver(reply.as_bytes()).await;
    wait_request(&d.pool, erasure, "completed").await;
    assert_eq!(lab.shop_rows(&p).await, (0, 0, 0), "erased in the stores");

    // 4. An auto-reply from the person: mail that never becomes part of a request.
    let ooo = format!(
        "From: {from}\r\nTo: info@nlg.kz\r\nSubject: Automatic reply: out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <{}@subjects.test>\r\n\r\nI am away until Monday. {details}\r\n",
        token()
    );
    d.deliver(ooo.as_bytes()).await;

    // Someone else's request is still open: it must stay whole.
    d.deliver(&message(
        &other.email,
        "info@nlg.kz",
        "Удаление данных",
        "Прошу удалить мои персональные данные.",
    ))
    .await;
    let open = newest_request_when(&d, &other.email).await;
    wait_request(&d.pool, open, "awaiting_confirmation").await;
    d.wait_triaged(6, WAIT).await;
    wait_nothing_pending(&d).await;
    let own = [access, withdrawal, erasure];
    for id in own {
        assert!(
            ["completed", "rejected"].contains(&status_of(&d.pool, id).await.as_str()),
            "request {id} is final"
        );
    }

    let before = Snapshot::take(&d.pool).await;
    let access_raw = raw_len(&d.pool, access).await;
    assert!(access_raw > 0);
    assert!(
        !occurrences(&d.pool, &p.iin).await.is_empty(),
        "the IIN is there to begin with"
    );
    // A pass now, with the requests final for seconds: nothing is reduced yet.
    let job = retention_of(&d, d.pool.clone());
    assert!(job.keyed(), "the deployment has a hash key");
    let young = job.run_once(Utc::now()).await.unwrap();
    assert_eq!((young.requests, young.unattached), (0, 0), "{young:?}");
    assert_eq!(raw_len(&d.pool, access).await, access_raw);

    // The retention period (30 days) has passed.
    let later = Utc::now() + chrono::Duration::days(31);
    let pass = job.run_once(later).await.unwrap();
    assert_eq!(pass.requests, 3, "{pass:?}");
    let whole: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM inbound_messages WHERE purged_at IS NULL ORDER BY id")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    let open_message: i64 =
        sqlx::query_scalar("SELECT inbound_message_id FROM requests WHERE id = $1")
            .bind(open)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(
        whole,
        vec![open_message],
        "only the open request's message is whole"
    );

    // Nothing of the person, anywhere.
    for trace in traces(&p) {
        let found = occurrences(&d.pool, &trace).await;
        assert!(found.is_empty(), "{trace} is still in {found:?}");
    }
    assert!(occurrences(&d.pool, &code).await.is_empty(), "the code");
    // What the audit needs stays.
    let after = Snapshot::take(&d.pool).await;
    assert_eq!(after.receipts, before.receipts, "receipts stay");
    assert_eq!(after.holds, before.holds, "holds stay");
    assert_eq!(after.audit, before.audit, "the audit log stays");
    assert_eq!(after.references, before.references, "references stay");
    assert_eq!(after.messages, before.messages, "sha256 and sizes stay");
    assert!(!before.holds.is_empty() && !before.receipts.is_empty() && before.audit.len() >= 2);
    let mut conn = d.pool.acquire().await.unwrap();
    assert!(matches!(
        dsr_worker::review::audit::verify(&mut conn).await.unwrap(),
        dsr_worker::review::audit::Verification::Intact { .. }
    ));
    drop(conn);
    for id in own {
        assert_eq!(
            raw_len(&d.pool, id).await,
            0,
            "request {id}: raw bytes dropped"
        );
        let events: Vec<String> = sqlx::query_scalar(
            "SELECT event FROM request_events WHERE request_id = $1 AND event = 'retention_reduced'",
        )
        .bind(id)
        .fetch_all(&d.pool)
        .await
        .unwrap();
        assert_eq!(events.len(), 1, "request {id} reduced once");
    }
    // The other person's open request is whole.
    assert!(raw_len(&d.pool, open).await > 0);
    assert!(!occurrences(&d.pool, &other.email).await.is_empty());
    let open_row = sqlx::query("SELECT sender, purged_at FROM requests WHERE id = $1")
        .bind(open)
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(open_row.get::<String, _>("sender"), other.email);
    assert!(open_row
        .get::<Option<chrono::DateTime<Utc>>, _>("purged_at")
        .is_none());

    // A second pass has nothing left to do.
    let again = job.run_once(later).await.unwrap();
    assert!(again.is_empty(), "{again:?}");

    // The person answers our completion e-mail after the reduction: that mail goes too, with
    // the next pass (attached to the request or not).
    let completion = wait_for_mail(&p.email, 8, WAIT)
        .await
        .into_iter()
        .find(|m| {
            m.message_id
                .as_deref()
                .is_some_and(|id| id.contains(".complete"))
        })
        .expect("the completion e-mail");
    let thanks = format!(
        "From: {from}\r\nTo: info@nlg.kz\r\nSubject: Re: {}\r\nMessage-ID: <{}@subjects.test>\r\nIn-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nСпасибо, всё получила. {details}\r\n",
        completion.subject,
        token(),
        completion.message_id.clone().unwrap(),
    );
    d.deliver(thanks.as_bytes()).await;
    d.wait_triaged(7, WAIT).await;
    wait_nothing_pending(&d).await;
    let late = job.run_once(later).await.unwrap();
    assert_eq!(late.late + late.unattached, 1, "{late:?}");
    for trace in traces(&p) {
        let found = occurrences(&d.pool, &trace).await;
        assert!(found.is_empty(), "{trace} is still in {found:?}");
    }

    // Staff still see the reduced requests: console, `review show`, `plan`.
    let console: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening(console).await;
    let mut client = Client::new(console);
    assert_eq!(client.login("dpo@nlg.kz", PASSWORD).await.status, 303);
    for id in own {
        let page = client.get(&format!("/requests/{id}")).await;
        assert_eq!(page.status, 200, "request {id}: {}", page.text());
        let html = page.text();
        assert!(html.contains("purged on"), "request {id}: {html}");
        for trace in traces(&p) {
            assert!(
                !html.contains(&trace),
                "{trace} on the page of request {id}"
            );
        }
        let raw = client.get(&format!("/requests/{id}/raw")).await;
        assert_eq!(raw.status, 200);
        assert!(raw.body.is_empty());
        let reference: String = sqlx::query_scalar("SELECT reference FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(&d.pool)
            .await
            .unwrap();
        dsr_worker::cli::review::show(&settings, &d.pool, &reference, false)
            .await
            .unwrap();
        dsr_worker::cli::review::show(&settings, &d.pool, &reference, true)
            .await
            .unwrap();
        let app = dsr_worker::cli::Application {
            settings: settings.clone(),
            pool: d.pool.clone(),
        };
        dsr_worker::cli::stores::plan(&app, id).await.unwrap();
    }
    let mut conn = d.pool.acquire().await.unwrap();
    let calendar = dsr_worker::request::deadline::Calendar::new(&settings.calendar);
    let detail = dsr_worker::review::request_detail(&mut conn, &calendar, erasure)
        .await
        .unwrap()
        .unwrap();
    assert!(detail.message.purged_at.is_some());
    assert!(!detail.store_tasks.is_empty(), "the store tasks are listed");
    assert!(
        detail.emails.iter().all(|e| e.body.is_empty()),
        "e-mails keep no text"
    );
    drop(conn);

    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// The id of `email`'s newest request, once triage has made one.
async fn newest_request_when(d: &Deployment, email: &str) -> i64 {
    newest_request_when_after(d, email, 0).await
}

async fn newest_request_when_after(d: &Deployment, email: &str, after: i64) -> i64 {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT max(id) FROM requests WHERE lower(sender) = lower($1) AND id > $2",
        )
        .bind(email)
        .bind(after)
        .fetch_one(&d.pool)
        .await
        .unwrap();
        if let Some(id) = id {
            return id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new request from {email}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the worker has taken request `id` as far as it goes alone; then, if it is not
/// final (waiting for someone), closes it as staff would.
async fn settle_final(pool: &PgPool, id: i64) {
    use dsr_worker::domain::RequestStatus;
    use dsr_worker::request::lifecycle::transition;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status: RequestStatus = status_of(pool, id).await.parse().unwrap();
        if status.is_final() {
            return;
        }
        if !matches!(
            status,
            RequestStatus::Received | RequestStatus::Accepted | RequestStatus::Confirmed
        ) {
            let mut tx = pool.begin().await.unwrap();
            if transition(
                &mut tx,
                id,
                RequestStatus::Closed,
                "closed",
                serde_json::json!({}),
            )
            .await
            .is_ok()
            {
                tx.commit().await.unwrap();
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "request {id} stays {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn raw_len(pool: &PgPool, request_id: i64) -> i32 {
    sqlx::query_scalar(
        "SELECT length(m.raw) FROM requests r JOIN inbound_messages m ON m.id = r.inbound_message_id
         WHERE r.id = $1",
    )
    .bind(request_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// What must survive a reduction unchanged.
#[derive(Debug, PartialEq)]
struct Snapshot {
    receipts: Vec<(i64, String, String, String, i64, String)>,
    holds: Vec<(i64, String, String, String, String)>,
    audit: Vec<(i64, String, String)>,
    references: Vec<(i64, String, String, String)>,
    messages: Vec<(i64, Vec<u8>, i64)>,
}

impl Snapshot {
    async fn take(pool: &PgPool) -> Self {
        Self {
            receipts: sqlx::query_as(
                "SELECT request_id, store, table_name, action, rows, detail::text FROM receipts ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            holds: sqlx::query_as(
                "SELECT request_id, store, table_name, row_key, destroy_after::text FROM holds ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            audit: sqlx::query_as("SELECT id, action, hash FROM audit_log ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
            references: sqlx::query_as(
                "SELECT id, reference, kind, status FROM requests ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            messages: sqlx::query_as(
                "SELECT id, sha256, size_bytes FROM inbound_messages ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        }
    }
}

/// Two workers' passes at once reduce each request exactly once; requests final for less than
/// `final_days` are left whole; a third pass finds nothing. (No hash key here: values are
/// replaced by a marker, not pseudonymised.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_retention_runs_at_once_reduce_each_request_once() {
    let d = Deployment::new().await;
    let worker = d.start_worker();
    let senders: Vec<String> = (0..4)
        .map(|i| subject_address(&format!("twice{i}")))
        .collect();
    for s in &senders {
        // An opt-out needs no proof; with no stores nobody is found.
        d.deliver(&message(
            s,
            "info@nlg.kz",
            "Отписка",
            "Прошу больше не присылать мне рекламные рассылки и SMS.",
        ))
        .await;
    }
    let mut ids = vec![];
    for s in &senders {
        let id = newest_request_when(&d, s).await;
        settle_final(&d.pool, id).await;
        ids.push(id);
    }
    wait_nothing_pending(&d).await;
    let first = retention_of(&d, d.pool.clone());
    assert!(!first.keyed());
    let young = first.run_once(Utc::now()).await.unwrap();
    assert_eq!(young.requests, 0, "final for seconds, not 30 days");
    for &id in &ids {
        assert!(raw_len(&d.pool, id).await > 0, "request {id} untouched");
    }

    let other_pool = PgPool::connect(&d.database_url).await.unwrap();
    let second = retention_of(&d, other_pool.clone());
    let later = Utc::now() + chrono::Duration::days(31);
    let (a, b) = tokio::join!(first.run_once(later), second.run_once(later));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.requests + b.requests, ids.len(), "{a:?} {b:?}");
    for &id in &ids {
        let reductions: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM request_events WHERE request_id = $1 AND event = 'retention_reduced'",
        )
        .bind(id)
        .fetch_one(&d.pool)
        .await
        .unwrap();
        assert_eq!(reductions, 1, "request {id}");
        assert_eq!(raw_len(&d.pool, id).await, 0);
    }
    for s in &senders {
        assert!(occurrences(&d.pool, s).await.is_empty(), "{s}");
    }
    let marker: String = sqlx::query_scalar("SELECT sender FROM requests WHERE id = $1")
        .bind(ids[0])
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(marker, dsr_worker::retention::reduce::PURGED);
    let third = second.run_once(later).await.unwrap();
    assert!(third.is_empty(), "{third:?}");

    // Rows that join a reduced request afterwards (a reply attached to it, an answer sent, an
    // event) are reduced by the next pass, once.
    let late_sender = &senders[0];
    let raw = message(late_sender, "info@nlg.kz", "Re: спасибо", "Спасибо!");
    let sha: Vec<u8> = <sha2::Sha256 as sha2::Digest>::digest(&raw).to_vec();
    sqlx::query(
        "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid,
                                       status, request_id, processed_at)
         VALUES ($1, $2, $3, 'INBOX', 1, 9999, 'reply', $4, now())",
    )
    .bind(&sha)
    .bind(&raw)
    .bind(raw.len() as i64)
    .bind(ids[0])
    .execute(&d.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, request_id, payload, status, sent_at)
         VALUES ('late:1', 'email', $1, $2, 'sent', now())",
    )
    .bind(ids[0])
    .bind(
        serde_json::json!({ "to": late_sender, "subject": "[DSR-2026-000001] Thanks",
        "body": format!("Dear {late_sender}"), "message_id": "late@nlg.kz",
        "in_reply_to": null, "references": [], "language": "ru", "auto_replied": true }),
    )
    .execute(&d.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO request_events (request_id, event, detail) VALUES ($1, 'reply_received', $2)",
    )
    .bind(ids[0])
    .bind(serde_json::json!({ "from_address": late_sender }))
    .execute(&d.pool)
    .await
    .unwrap();
    assert!(!occurrences(&d.pool, late_sender).await.is_empty());
    let (a, b) = tokio::join!(first.run_once(later), second.run_once(later));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.late + b.late, 1, "{a:?} {b:?}");
    assert!(occurrences(&d.pool, late_sender).await.is_empty());
    let reductions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM request_events WHERE request_id = $1 AND event = 'retention_reduced'",
    )
    .bind(ids[0])
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(reductions, 2, "the first reduction and the late one");
    assert!(second.run_once(later).await.unwrap().is_empty());
    other_pool.close().await;
    worker.stop().await;
    d.cleanup().await;
}
