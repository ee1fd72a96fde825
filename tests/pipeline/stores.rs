//! Carrying out requests in real registered stores: PostgreSQL, MariaDB and SQLite databases
//! made fresh for each test and seeded with several subjects.

use std::path::PathBuf;
use std::time::Duration;

use dsr_worker::domain::Iin;
use sqlx::{Connection, Executor, Row};

use crate::helpers::*;

pub const MARIADB: &str = "mysql://root@127.0.0.1:3306";
/// The authserv-id of our MX in the tests' configuration ...
pub const TRUSTED: &str = "mx.test.nlg.kz";
/// ... and the host name it writes in its `Received:` header.
pub const RECEIVING: &str = "mx1.test.nlg.kz";
pub const WAIT: Duration = Duration::from_secs(40);

/// A person as the company's systems know them.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub iin: String,
    pub phone: String,
    pub name: String,
}

impl Person {
    pub fn new(tag: &str, n: u32) -> Self {
        Self {
            email: subject_address(tag),
            iin: valid_iin(n),
            phone: format!("+7701{:07}", 1_000_000 + n),
            name: format!("Person {tag}"),
        }
    }
}

/// A valid IIN for a birth date derived from `n` (the check digit is searched, not hard-coded).
fn valid_iin(n: u32) -> String {
    for serial in 0..10_000u32 {
        let base = format!(
            "{:02}{:02}{:02}3{:04}",
            80 + n % 19,
            1 + n % 12,
            1 + n % 28,
            (serial + n * 37) % 10_000
        );
        for check in 0..10 {
            let candidate = format!("{base}{check}");
            if Iin::parse(&candidate).is_ok() {
                return candidate;
            }
        }
    }
    unreachable!("some serial has a valid check digit")
}

pub struct StoreLab {
    pub crm: String,
    pub shop: String,
    pub newsletter: PathBuf,
    _dir: tempfile::TempDir,
    pub webhook_url: Option<String>,
}

impl StoreLab {
    pub async fn new() -> Self {
        let id = token();
        let crm = format!("crm_{id}");
        let mut admin = sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .unwrap();
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {crm}")))
            .await
            .unwrap();
        let mut pg =
            sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{crm}"))
                .await
                .unwrap();
        pg.execute(
            "CREATE TABLE customers (id SERIAL PRIMARY KEY, full_name TEXT, email TEXT, iin TEXT, phone TEXT,
                                     marketing_sms BOOLEAN NOT NULL DEFAULT TRUE, blocked BOOLEAN NOT NULL DEFAULT FALSE);
             CREATE INDEX customers_email ON customers (email);
             CREATE TABLE invoices (id SERIAL PRIMARY KEY, customer_id INT NOT NULL REFERENCES customers (id),
                                    amount INT NOT NULL, issued_on DATE NOT NULL, paid BOOLEAN NOT NULL,
                                    blocked BOOLEAN NOT NULL DEFAULT FALSE);
             CREATE INDEX invoices_customer ON invoices (customer_id);",
        )
        .await
        .unwrap();

        let shop = format!("shop_{id}");
        let mut my = sqlx::MySqlConnection::connect(MARIADB)
            .await
            .expect("MariaDB is up");
        my.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {shop}")))
            .await
            .unwrap();
        let mut my = sqlx::MySqlConnection::connect(&format!("{MARIADB}/{shop}"))
            .await
            .unwrap();
        for ddl in [
            "CREATE TABLE accounts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200), email VARCHAR(200), phone VARCHAR(20), INDEX (email))",
            "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, account_id INT NOT NULL, item VARCHAR(200), ordered_at DATE,
                                  FOREIGN KEY (account_id) REFERENCES accounts (id))",
            "CREATE TABLE blocked_accounts (account_id INT PRIMARY KEY)",
        ] {
            my.execute(ddl).await.unwrap();
        }

        let dir = tempfile::tempdir().unwrap();
        let newsletter = dir.path().join("newsletter.db");
        let mut lite =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", newsletter.display()))
                .await
                .unwrap();
        lite.execute(
            "CREATE TABLE subscribers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, subscribed INTEGER NOT NULL DEFAULT 1,
                                       blocked INTEGER NOT NULL DEFAULT 0)",
        )
        .await
        .unwrap();
        Self {
            crm,
            shop,
            newsletter,
            _dir: dir,
            webhook_url: None,
        }
    }

    pub async fn pg(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&format!("postgres://postgres@127.0.0.1:5432/{}", self.crm))
            .await
            .unwrap()
    }
    pub async fn my(&self) -> sqlx::MySqlConnection {
        sqlx::MySqlConnection::connect(&format!("{MARIADB}/{}", self.shop))
            .await
            .unwrap()
    }
    pub async fn lite(&self) -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.newsletter.display()))
            .await
            .unwrap()
    }

    /// A customer with invoices (one from 2019, past its 5 years; one recent), a shop account
    /// with an order, and a newsletter subscription.
    pub async fn seed(&self, p: &Person, unpaid: bool) {
        let mut pg = self.pg().await;
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO customers (full_name, email, iin, phone) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&p.name)
        .bind(&p.email)
        .bind(&p.iin)
        .bind(&p.phone)
        .fetch_one(&mut pg)
        .await
        .unwrap();
        sqlx::query("INSERT INTO invoices (customer_id, amount, issued_on, paid) VALUES ($1, 5000, '2019-03-01', true), ($1, 7000, '2026-06-15', $2)")
            .bind(id)
            .bind(!unpaid)
            .execute(&mut pg)
            .await
            .unwrap();
        let mut my = self.my().await;
        let account = sqlx::query("INSERT INTO accounts (name, email, phone) VALUES (?, ?, ?)")
            .bind(&p.name)
            .bind(&p.email)
            .bind(&p.phone)
            .execute(&mut my)
            .await
            .unwrap()
            .last_insert_id();
        sqlx::query("INSERT INTO orders (account_id, item, ordered_at) VALUES (?, 'law consultation', '2026-05-01')")
            .bind(account)
            .execute(&mut my)
            .await
            .unwrap();
        sqlx::query("INSERT INTO subscribers (email) VALUES (?)")
            .bind(&p.email)
            .execute(&mut self.lite().await)
            .await
            .unwrap();
    }

    pub fn toml(&self, shop_port: u16) -> String {
        let webhook = match &self.webhook_url {
            Some(url) => format!(
                "[[stores]]\nname = \"mailer_partner\"\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"DSR_TEST_WEBHOOK_KEY\"\nprocessor = \"Partner LLP (e-mail delivery)\"\nkinds = [\"erasure\", \"withdraw_consent\"]\n"
            ),
            None => String::new(),
        };
        format!(
            r#"
[identity]
trusted_authserv_ids = ["{TRUSTED}"]
receiving_hosts = ["{RECEIVING}"]
hash_key_env = "DSR_TEST_HASH_KEY"

[[stores]]
name = "crm"
kind = "postgres"
url = "postgres://postgres@127.0.0.1:5432/{crm}"
location = "Almaty, Kazakhstan"

[[stores.tables]]
name = "customers"
key = "id"
identifiers = {{ email = "email", iin = "iin", phone = "phone" }}
categories = {{ full_name = "identity", iin = "identity", email = "contacts", phone = "contacts", marketing_sms = "other" }}
block = {{ column = "blocked" }}
[stores.tables.actions]
withdraw_consent = "block"
restriction = "block"
erasure = {{ anonymise = {{ full_name = "text:deleted", email = "hash", iin = "null", phone = "null" }} }}
marketing_opt_out = {{ set = {{ marketing_sms = false }} }}

[[stores.tables]]
name = "invoices"
key = "id"
parent = {{ table = "customers", column = "customer_id" }}
categories = {{ amount = "payment", issued_on = "payment" }}
retention = {{ basis = "accounting records", column = "issued_on", years = 5 }}
block = {{ column = "blocked" }}
actions = {{ erasure = "retain", withdraw_consent = "block", restriction = "block" }}

[[stores.obligations]]
name = "unpaid invoice"
table = "invoices"
open_when = "paid = false"

[[stores]]
name = "shop"
kind = "mysql"
url = "mysql://root@127.0.0.1:{shop_port}/{shop}"
timeout_secs = 1
location = "Almaty, Kazakhstan"

[[stores.tables]]
name = "accounts"
key = "id"
identifiers = {{ email = "email", phone = "phone" }}
categories = {{ name = "identity", email = "contacts", phone = "contacts" }}
block = {{ table = "blocked_accounts", column = "account_id" }}
actions = {{ erasure = "delete", withdraw_consent = "block", restriction = "block" }}

[[stores.tables]]
name = "orders"
key = "id"
parent = {{ table = "accounts", column = "account_id" }}
categories = {{ item = "activity", ordered_at = "activity" }}
actions = {{ erasure = "delete" }}

[[stores]]
name = "newsletter"
kind = "sqlite"
url = "sqlite://{newsletter}"

[[stores.tables]]
name = "subscribers"
key = "id"
identifiers = {{ email = "email" }}
categories = {{ email = "contacts", subscribed = "other" }}
block = {{ column = "blocked" }}
actions = {{ erasure = "delete", withdraw_consent = "block", marketing_opt_out = {{ set = {{ subscribed = 0 }} }} }}

{webhook}"#,
            crm = self.crm,
            shop = self.shop,
            newsletter = self.newsletter.display(),
        )
    }

    /// (customers, blocked customers, invoices, blocked invoices) of a person in the CRM.
    pub async fn crm_rows(&self, p: &Person) -> (i64, i64, i64, i64) {
        let mut pg = self.pg().await;
        let row = sqlx::query(
            "SELECT count(DISTINCT c.id) AS c, count(DISTINCT c.id) FILTER (WHERE c.blocked) AS cb,
                    count(i.id) AS i, count(i.id) FILTER (WHERE i.blocked) AS ib
             FROM customers c LEFT JOIN invoices i ON i.customer_id = c.id WHERE c.iin = $1",
        )
        .bind(&p.iin)
        .fetch_one(&mut pg)
        .await
        .unwrap();
        (row.get("c"), row.get("cb"), row.get("i"), row.get("ib"))
    }

    /// (accounts, blocked accounts, orders) of a person in the shop.
    pub async fn shop_rows(&self, p: &Person) -> (i64, i64, i64) {
        let mut my = self.my().await;
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM accounts WHERE email = ?) AS a,
                    (SELECT count(*) FROM blocked_accounts b JOIN accounts a ON a.id = b.account_id WHERE a.email = ?) AS b,
                    (SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.email = ?) AS o",
        )
        .bind(&p.email)
        .bind(&p.email)
        .bind(&p.email)
        .fetch_one(&mut my)
        .await
        .unwrap();
        (row.get("a"), row.get("b"), row.get("o"))
    }

    /// (subscriptions, subscribed, blocked) of a person in the newsletter.
    pub async fn newsletter_rows(&self, p: &Person) -> (i64, i64, i64) {
        let row = sqlx::query(
            "SELECT count(*) AS n, coalesce(sum(subscribed), 0) AS s, coalesce(sum(blocked), 0) AS b FROM subscribers WHERE email = ?",
        )
        .bind(&p.email)
        .fetch_one(&mut self.lite().await)
        .await
        .unwrap();
        (row.get("n"), row.get("s"), row.get("b"))
    }

    pub async fn drop(self) {
        if let Ok(mut admin) =
            sqlx::PgConnection::connect("postgres://postgres@127.0.0.1:5432/postgres").await
        {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.crm
                )))
                .await;
        }
        if let Ok(mut my) = sqlx::MySqlConnection::connect(MARIADB).await {
            let _ = my
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {}",
                    self.shop
                )))
                .await;
        }
    }
}

fn keys() {
    std::env::set_var("DSR_TEST_HASH_KEY", "test-anonymisation-key");
    std::env::set_var("DSR_TEST_WEBHOOK_KEY", "test-webhook-key");
}

pub async fn deployment(lab: &StoreLab, shop_port: u16, env: Vec<(&str, String)>) -> Deployment {
    keys();
    let mut d = Deployment::with_env(env).await;
    d.extra_toml = lab.toml(shop_port);
    d
}

/// A request that our receiving server authenticated (DKIM aligned with From): our MX's
/// verdict directly above the `Received:` header it added, as our MX writes them.
pub fn authenticated(from: &str, subject: &str, body: &str) -> Vec<u8> {
    arrived(
        &[&format!(
            "Authentication-Results: {TRUSTED}; dkim=pass header.d=subjects.test header.s=s1"
        )],
        from,
        subject,
        body,
    )
}

/// A message as our MX delivers it: `above` (its verdict) on top of its `Received:` header.
pub fn arrived(above: &[&str], from: &str, subject: &str, body: &str) -> Vec<u8> {
    let mut raw = String::new();
    for header in above {
        raw.push_str(header);
        raw.push_str("\r\n");
    }
    raw.push_str(&received_by(RECEIVING));
    let mut raw = raw.into_bytes();
    raw.extend(message(from, "info@nlg.kz", subject, body));
    raw
}

/// A `Received:` header written by `host`, as Postfix writes it.
pub fn received_by(host: &str) -> String {
    format!(
        "Received: from mail.subjects.test (mail.subjects.test [192.0.2.10])\r\n\tby {host} (Postfix) with ESMTPS id {}\r\n\tfor <info@nlg.kz>; Tue, 24 Nov 2026 10:00:00 +0500\r\n",
        token()
    )
}

pub async fn request_status(d: &Deployment, sender: &str) -> (String, Option<String>) {
    let row = sqlx::query("SELECT status, outcome FROM requests WHERE lower(sender) = lower($1) ORDER BY id DESC LIMIT 1")
        .bind(sender)
        .fetch_one(&d.pool)
        .await
        .unwrap();
    (row.get("status"), row.get("outcome"))
}

pub async fn wait_status(d: &Deployment, sender: &str, want: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Ok(row) = sqlx::query(
            "SELECT status FROM requests WHERE lower(sender) = lower($1) ORDER BY id DESC LIMIT 1",
        )
        .bind(sender)
        .fetch_one(&d.pool)
        .await
        {
            if row.get::<String, _>("status") == want {
                return;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "request of {sender} never reached {want}: {:?}",
            request_status(d, sender).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A reviewer account and the decision path the console and the CLI use.
pub async fn staff_decider(
    d: &Deployment,
) -> (
    dsr_worker::review::decisions::Decider,
    dsr_worker::review::auth::Staff,
) {
    use dsr_worker::review::auth::{add_staff, Role};
    let settings = d.settings();
    let staff = add_staff(
        &d.pool,
        "dpo@nlg.kz",
        Role::Reviewer,
        "a long enough password 1",
        "test",
    )
    .await
    .unwrap();
    let decider = dsr_worker::review::decisions::Decider::new(
        d.pool.clone(),
        std::sync::Arc::new(
            dsr_worker::outbound::templates::Templates::load(&settings.templates_dir).unwrap(),
        ),
        settings.company.clone(),
        dsr_worker::pipeline::queues(&settings).0,
        dsr_worker::request::deadline::Calendar::new(&settings.calendar),
        settings.deadlines.clone(),
    );
    (decider, staff)
}

/// The one-time code in the body of one of our e-mails.
pub fn code_in(body: &str) -> String {
    let re = regex::Regex::new(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b").unwrap();
    re.find(body)
        .unwrap_or_else(|| panic!("a code in: {body}"))
        .as_str()
        .to_owned()
}

/// Waits until the request's recorded store match was anchored as `anchor`.
pub async fn wait_anchor(d: &Deployment, id: i64, anchor: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got: Option<String> =
            sqlx::query_scalar("SELECT subject_match ->> 'anchor' FROM requests WHERE id = $1")
                .bind(id)
                .fetch_one(&d.pool)
                .await
                .unwrap();
        if got.as_deref() == Some(anchor) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "request {id}: store match never anchored as {anchor}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Erasure: exactly that subject's rows go in every store, other subjects stay, rows under a
/// legal hold stay blocked with a scheduled destruction; replaying changes nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_removes_that_subject_everywhere_and_keeps_held_rows_blocked() {
    let lab = StoreLab::new().await;
    let (a, b) = (Person::new("erase-a", 1), Person::new("erase-b", 2));
    lab.seed(&a, false).await;
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();

    d.deliver(&authenticated(
        &a.email,
        "Удаление персональных данных",
        "Прошу удалить все мои персональные данные из ваших систем.",
    ))
    .await;
    let mail = wait_for_mail(&a.email, 2, WAIT).await;
    assert_eq!(
        mail.len(),
        2,
        "acknowledgement and completion: {:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    wait_status(&d, &a.email, "completed").await;

    // CRM: the customer is anonymised (the row stays for the held invoice), the 2019 invoice is
    // past its five years and destroyed, the 2026 one is kept blocked under the hold.
    let mut pg = lab.pg().await;
    let anonymised = sqlx::query(
        "SELECT full_name, email, iin, phone FROM customers WHERE full_name = 'deleted'",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap();
    assert_eq!(anonymised.len(), 1);
    let email: String = anonymised[0].get("email");
    assert!(
        email.starts_with("anon:") && !email.contains(&a.email),
        "keyed hash, not the address"
    );
    assert!(anonymised[0].get::<Option<String>, _>("iin").is_none());
    let invoices = sqlx::query("SELECT i.issued_on::text AS d, i.blocked FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.full_name = 'deleted'")
        .fetch_all(&mut pg)
        .await
        .unwrap();
    assert_eq!(invoices.len(), 1, "the expired invoice is destroyed");
    assert_eq!(invoices[0].get::<String, _>("d"), "2026-06-15");
    assert!(
        invoices[0].get::<bool, _>("blocked"),
        "the held invoice is blocked"
    );
    let hold = sqlx::query("SELECT destroy_after::text AS d, basis FROM holds")
        .fetch_all(&d.pool)
        .await
        .unwrap();
    assert_eq!(hold.len(), 1, "one row under a legal hold");
    assert_eq!(
        hold[0].get::<String, _>("d"),
        "2031-06-15",
        "destruction scheduled when the duty ends"
    );
    // Shop and newsletter: gone.
    assert_eq!(lab.shop_rows(&a).await, (0, 0, 0));
    assert_eq!(lab.newsletter_rows(&a).await.0, 0);
    // The other subject is untouched everywhere.
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0));
    assert_eq!(lab.shop_rows(&b).await, (1, 0, 1));
    assert_eq!(lab.newsletter_rows(&b).await, (1, 1, 0));
    // Receipts record counts per store and table, and never the data.
    let receipts = sqlx::query("SELECT store, table_name, action, rows, detail::text AS detail FROM receipts ORDER BY store, table_name")
        .fetch_all(&d.pool)
        .await
        .unwrap();
    let summary: Vec<(String, String, String, i64)> = receipts
        .iter()
        .map(|r| {
            (
                r.get("store"),
                r.get("table_name"),
                r.get("action"),
                r.get("rows"),
            )
        })
        .collect();
    assert!(
        summary.contains(&("crm".into(), "customers".into(), "anonymise".into(), 1)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("shop".into(), "accounts".into(), "delete".into(), 1)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("shop".into(), "orders".into(), "delete".into(), 1)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&(
            "newsletter".into(),
            "subscribers".into(),
            "delete".into(),
            1
        )),
        "{summary:?}"
    );
    for r in &receipts {
        let detail: String = r.get("detail");
        assert!(
            !detail.contains(&a.email) && !detail.contains(&a.iin) && !detail.contains(&a.name)
        );
    }
    // The completion reply explains the hold.
    let completion = mail
        .iter()
        .find(|m| !m.subject.contains("получено"))
        .unwrap();
    assert!(
        completion.body.contains("2031-06-15"),
        "{}",
        completion.body
    );

    // Replaying a task changes nothing more.
    let task: i64 = sqlx::query_scalar("SELECT id FROM store_tasks WHERE store = 'shop'")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE store_tasks SET status = 'failed' WHERE id = $1")
        .bind(task)
        .execute(&d.pool)
        .await
        .unwrap();
    let settings = d.settings();
    dsr_worker::pipeline::store_actions::retry(
        &d.pool,
        &dsr_worker::pipeline::queues(&settings).1,
        task,
        "test",
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let runs: i64 =
            sqlx::query_scalar("SELECT count(*) FROM receipts WHERE task_id = $1 AND run = 2")
                .bind(task)
                .fetch_one(&d.pool)
                .await
                .unwrap();
        if runs > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replay ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(rows), 0)::bigint FROM receipts WHERE task_id = $1 AND run = 2",
    )
    .bind(task)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(second, 0, "a replay finds nothing left to do");
    assert_eq!(lab.shop_rows(&b).await, (1, 0, 1));
    assert_eq!(list(&a.email).await.len(), 2, "no second completion reply");

    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// Withdrawal blocks (flag column, blocklist table); an opt-out only sets the marketing flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawal_blocks_and_opt_out_only_sets_flags() {
    let lab = StoreLab::new().await;
    let (a, b, c) = (
        Person::new("withdraw", 3),
        Person::new("optout", 4),
        Person::new("bystander", 5),
    );
    for p in [&a, &b, &c] {
        lab.seed(p, false).await;
    }
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &a.email,
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;
    d.deliver(&message(
        &b.email,
        "info@nlg.kz",
        "Unsubscribe",
        "Please stop sending me newsletters and promotional SMS.",
    ))
    .await;
    wait_status(&d, &a.email, "completed").await;
    wait_status(&d, &b.email, "completed").await;

    assert_eq!(
        lab.crm_rows(&a).await,
        (1, 1, 2, 2),
        "customer and invoices blocked, nothing deleted"
    );
    assert_eq!(
        lab.shop_rows(&a).await,
        (1, 1, 1),
        "account on the blocklist"
    );
    assert_eq!(lab.newsletter_rows(&a).await, (1, 1, 1));
    // The opt-out (no identity proof needed: it only sets flags) deleted nothing.
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0));
    let sms: bool = sqlx::query_scalar("SELECT marketing_sms FROM customers WHERE email = $1")
        .bind(&b.email)
        .fetch_one(&mut lab.pg().await)
        .await
        .unwrap();
    assert!(!sms);
    assert_eq!(lab.newsletter_rows(&b).await, (1, 0, 0));
    assert_eq!(lab.shop_rows(&b).await, (1, 0, 1));
    // The bystander is untouched.
    assert_eq!(lab.crm_rows(&c).await, (1, 0, 2, 0));
    assert_eq!(lab.newsletter_rows(&c).await, (1, 1, 0));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// A sender whose identity is not proven gets a confirmation round trip, not an action; an
/// auto-reply quoting the code confirms nothing; the person's reply with the code does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofable_sender_gets_a_confirmation_round_trip_first() {
    let lab = StoreLab::new().await;
    let a = Person::new("spoofed", 6);
    lab.seed(&a, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    // No Authentication-Results from our server: From alone proves nothing.
    d.deliver(&message(
        &a.email,
        "info@nlg.kz",
        "Delete my data",
        "Please delete my account and all my personal data.",
    ))
    .await;
    wait_status(&d, &a.email, "awaiting_confirmation").await;
    // ONE e-mail: the acknowledgement carries the reference and the code (never a separate
    // confirmation mail for a code issued with the acknowledgement).
    let mail = wait_for_mail(&a.email, 1, WAIT).await;
    let reference: String = sqlx::query_scalar("SELECT reference FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(
        lab.crm_rows(&a).await,
        (1, 0, 2, 0),
        "nothing done before confirmation"
    );
    assert_eq!(lab.shop_rows(&a).await, (1, 0, 1));
    assert_eq!(
        mail.len(),
        1,
        "{:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(
        acknowledgements(&mail).len(),
        1,
        "the one e-mail is the acknowledgement"
    );
    let confirm = &mail[0];
    assert!(confirm.subject.contains("Confirm"), "{}", confirm.subject);
    assert!(confirm.subject.contains(&reference) && confirm.body.contains(&reference));
    assert!(
        confirm.body.contains("72 hours"),
        "the code's expiry: {}",
        confirm.body
    );
    let code = code_in(&confirm.body);
    assert!(
        !confirm.subject.contains(&code),
        "the code is not in the subject: {}",
        confirm.subject
    );
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT dedupe_key FROM outbox WHERE channel = 'email' ORDER BY id")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("ack:"), "{keys:?}");
    // A redelivered queue message sends no second acknowledgement and no second code.
    let id: i64 = sqlx::query_scalar("SELECT id FROM requests")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    let mut tx = d.pool.begin().await.unwrap();
    dsr_worker::queue::messages::publish_request(
        &mut tx,
        &dsr_worker::pipeline::queues(&d.settings()).0,
        id,
        // A second publish of the same request, as a redelivery would hand it over again.
        Some(dsr_worker::outbound::dedupe::Again::Retry { entry: 0 }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while sqlx::query_scalar::<_, String>("SELECT status FROM outbox WHERE dedupe_key = $1")
        .bind(format!("publish:retry:{id}:0"))
        .fetch_one(&d.pool)
        .await
        .unwrap()
        != "sent"
    {
        assert!(std::time::Instant::now() < deadline, "republished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (emails, codes): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM outbox WHERE channel = 'email'),
                (SELECT count(*) FROM verifications)",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!((emails, codes), (1, 1), "nothing sent twice");

    // An out-of-office answer quoting our message (and so the code) confirms nothing.
    let ooo = format!(
        "From: {}\r\nTo: info@nlg.kz\r\nSubject: Automatic reply: {}\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <{}@subjects.test>\r\n\r\nI am away.\r\n> {}\r\n",
        a.email, confirm.subject, token(), code
    );
    d.deliver(ooo.as_bytes()).await;
    d.wait_triaged(2, WAIT).await;
    assert_eq!(
        request_status(&d, &a.email).await.0,
        "awaiting_confirmation"
    );

    // The person replies from their mailbox and types the code.
    let reply = format!(
        "From: {}\r\nTo: info@nlg.kz\r\nSubject: Re: {}\r\nMessage-ID: <{}@subjects.test>\r\nIn-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, it was me: {}\r\n",
        a.email,
        confirm.subject,
        token(),
        confirm.message_id.clone().unwrap(),
        code.to_lowercase()
    );
    d.deliver(reply.as_bytes()).await;
    wait_status(&d, &a.email, "completed").await;
    assert_eq!(lab.shop_rows(&a).await, (0, 0, 0), "done once confirmed");
    let inbound: Vec<String> =
        sqlx::query_scalar("SELECT status FROM inbound_messages ORDER BY id")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(inbound, vec!["request", "ignored", "confirmation"]);
    // Once confirmed, the result: two e-mails in all for the request.
    let mail = wait_for_mail(&a.email, 2, WAIT).await;
    assert_eq!(
        mail.len(),
        2,
        "{:?}",
        mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// An access report holds every row of that subject in every store and nobody else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_report_has_every_row_of_the_subject_and_no_one_elses() {
    let lab = StoreLab::new().await;
    let (a, b) = (Person::new("access-a", 7), Person::new("access-b", 8));
    lab.seed(&a, false).await;
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &a.email,
        "Запрос сведений",
        "Прошу сообщить, какие мои персональные данные вы храните, и прислать их копию.",
    ))
    .await;
    wait_status(&d, &a.email, "completed").await;
    d.wait_emails_sent(2, WAIT).await;
    let payload: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE dedupe_key LIKE 'access:%'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(
        payload["to"],
        a.email.as_str(),
        "sent to the verified address only"
    );
    // The report as the subject received it (the outbox keeps no copy once it is sent).
    let mail = wait_for_mail(&a.email, 2, WAIT).await;
    let attachments = &mail
        .iter()
        .find(|m| !m.attachments.is_empty())
        .expect("the report e-mail")
        .attachments;
    let file = |name: &str| {
        attachments
            .iter()
            .find(|f| f.filename.as_deref() == Some(name))
            .and_then(|f| f.text.clone())
            .unwrap_or_else(|| panic!("{name} attached"))
    };
    let report: serde_json::Value = serde_json::from_str(&file("report.json")).unwrap();
    let text = report.to_string();
    for own in [&a.email, &a.iin, &a.name, &a.phone] {
        assert!(text.contains(own.as_str()), "report has {own}");
    }
    for other in [&b.email, &b.iin, &b.phone] {
        assert!(
            !text.contains(other.as_str()),
            "report must not have another subject's {other}"
        );
    }
    let stores: Vec<&str> = report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect();
    assert_eq!(stores, vec!["crm", "newsletter", "shop"]);
    let crm = &report["stores"][0]["tables"];
    let invoices = crm
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "invoices")
        .unwrap();
    assert_eq!(
        invoices["rows"].as_array().unwrap().len(),
        2,
        "both invoices"
    );
    let html = file("report.html");
    assert!(
        html.contains(&a.iin) && html.contains("<!doctype html>")
            || html.contains("<!DOCTYPE html>")
    );
    assert_eq!(mail.len(), 2);
    // Nothing was changed by reading.
    assert_eq!(lab.crm_rows(&a).await, (1, 0, 2, 0));
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// Law 94-V art. 8(2): a withdrawal while an invoice is unpaid goes to staff, and the reply says
/// why; an unknown sender is asked for identifying details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_obligation_and_unknown_subject_are_not_acted_on() {
    let lab = StoreLab::new().await;
    let debtor = Person::new("debtor", 9);
    lab.seed(&debtor, true).await;
    let stranger = Person::new("stranger", 10);
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &debtor.email,
        "Отзыв согласия",
        "Отзываю своё согласие на обработку персональных данных.",
    ))
    .await;
    d.deliver(&authenticated(
        &stranger.email,
        "Отзыв согласия",
        "Отзываю своё согласие на обработку персональных данных.",
    ))
    .await;
    wait_status(&d, &debtor.email, "needs_review").await;
    // Nobody under the stranger's address and nothing typed: we ask for details and wait, for
    // a limited time.
    wait_status(&d, &stranger.email, "awaiting_information").await;
    let expires: bool = sqlx::query_scalar(
        "SELECT expires_at > now() FROM requests WHERE lower(sender) = lower($1)",
    )
    .bind(&stranger.email)
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert!(
        expires,
        "an unanswered request for details closes by itself"
    );
    assert_eq!(
        lab.crm_rows(&debtor).await,
        (1, 0, 2, 0),
        "nothing blocked while the invoice is unpaid"
    );
    let debtor_mail = wait_for_mail(&debtor.email, 2, WAIT).await;
    assert!(
        debtor_mail
            .iter()
            .any(|m| m.body.contains("unpaid invoice")),
        "the reply names the obligation"
    );
    let stranger_mail = wait_for_mail(&stranger.email, 1, WAIT).await;
    assert_eq!(
        stranger_mail.len(),
        1,
        "one acknowledgement that asks for identifying details"
    );
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// A store that is down makes the work wait and retry; once it is back the request completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outage_retries_until_the_store_is_back() {
    let lab = StoreLab::new().await;
    let a = Person::new("outage", 11);
    lab.seed(&a, false).await;
    let mut proxy = Proxy::start("127.0.0.1:3306").await;
    proxy.cut();
    let d = deployment(
        &lab,
        proxy.port,
        vec![(
            "DSR__RABBITMQ__RETRY_DELAYS_MS",
            "[500, 1000, 2000, 4000, 8000]".to_owned(),
        )],
    )
    .await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &a.email,
        "Block my data",
        "Please block (restrict) the processing of my personal data.",
    ))
    .await;
    d.wait_triaged(1, WAIT).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_ne!(request_status(&d, &a.email).await.0, "completed");
    // The sender hears from us at once all the same: the acknowledgement does not wait for the
    // lookup that would tell whether it could carry a code.
    let acked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'ack:%'")
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(acked, 1, "acknowledged while the store is down");
    assert_eq!(
        lab.crm_rows(&a).await,
        (1, 0, 2, 0),
        "no half-done request while a store is down"
    );
    proxy.restore().await;
    wait_status(&d, &a.email, "completed").await;
    assert_eq!(lab.crm_rows(&a).await, (1, 1, 2, 2));
    assert_eq!(lab.shop_rows(&a).await, (1, 1, 1));
    assert!(
        log_text().contains("store shop"),
        "the log names the store that failed"
    );
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// A processor that accepts the call but never confirms keeps the request open: pending, not
/// done. A confirmation completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_processor_that_never_confirms_stays_pending() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).await.unwrap_or(0);
            let _ = seen_tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = s
                .write_all(
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    let mut lab = StoreLab::new().await;
    lab.webhook_url = Some(format!("http://127.0.0.1:{port}/dsr"));
    let a = Person::new("partner", 12);
    lab.seed(&a, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    d.deliver(&authenticated(
        &a.email,
        "Withdrawal of consent",
        "I withdraw my consent to the processing of my personal data.",
    ))
    .await;
    let call = tokio::time::timeout(WAIT, seen.recv())
        .await
        .expect("the processor is called")
        .unwrap();
    assert!(
        call.to_lowercase().contains("x-dsr-signature: sha256="),
        "signed call"
    );
    assert!(call.contains("withdraw_consent"));
    let deadline = std::time::Instant::now() + WAIT;
    let task_id = loop {
        let row = sqlx::query("SELECT id, status FROM store_tasks WHERE store = 'mailer_partner'")
            .fetch_optional(&d.pool)
            .await
            .unwrap();
        if let Some(row) = row.filter(|r| r.get::<String, _>("status") == "waiting_confirmation") {
            break row.get::<i64, _>("id");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "webhook task waits for confirmation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Every database store is done; the request is still not complete.
    let open: Vec<String> =
        sqlx::query_scalar("SELECT store FROM store_tasks WHERE status <> 'done' ORDER BY store")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(open, vec!["mailer_partner"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(request_status(&d, &a.email).await.0, "executing");
    assert_eq!(
        list(&a.email).await.len(),
        1,
        "no completion reply while a processor has not confirmed"
    );

    let settings = d.settings();
    let replier = dsr_worker::outbound::reply::Replier::new(
        std::sync::Arc::new(
            dsr_worker::outbound::templates::Templates::load(&settings.templates_dir).unwrap(),
        ),
        settings.company.clone(),
    );
    assert!(dsr_worker::pipeline::store_actions::resolve(
        &d.pool,
        &replier,
        task_id,
        "dpo@nlg.kz",
        "partner confirmed by letter"
    )
    .await
    .unwrap());
    assert_eq!(request_status(&d, &a.email).await.0, "completed");
    assert_eq!(wait_for_mail(&a.email, 2, WAIT).await.len(), 2);
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

/// `stores check` verifies tables and columns and warns about unindexed identifiers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_check_finds_missing_columns_and_unindexed_identifiers() {
    let lab = StoreLab::new().await;
    keys();
    let text = std::fs::read_to_string(root().join("config/local.toml")).unwrap();
    let settings = dsr_worker::config::Settings::from_text(
        &format!("{text}\n{}", lab.toml(3306)),
        &root(),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let registry = dsr_worker::stores::Registry::new(&settings.stores).unwrap();
    let results = dsr_worker::stores::check(&registry).await;
    let crm = &results.iter().find(|(n, _)| n == "crm").unwrap().1;
    let warnings = crm.as_ref().unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("customers.iin")),
        "{warnings:?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("customers.email")),
        "email is indexed: {warnings:?}"
    );
    assert!(results.iter().all(|(_, r)| r.is_ok()), "{results:?}");

    let broken = lab.toml(3306).replace(
        "categories = { item = \"activity\"",
        "categories = { colour = \"other\", item = \"activity\"",
    );
    let settings = dsr_worker::config::Settings::from_text(
        &format!("{text}\n{broken}"),
        &root(),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let registry = dsr_worker::stores::Registry::new(&settings.stores).unwrap();
    let results = dsr_worker::stores::check(&registry).await;
    let shop = &results.iter().find(|(n, _)| n == "shop").unwrap().1;
    let error = shop.as_ref().unwrap_err();
    assert!(error.contains("orders.colour"), "{error}");
    assert!(
        !error.contains("root@"),
        "no credentials in the message: {error}"
    );
    lab.drop().await;
}

/// Staff decisions on the stores' work (console and CLI share them): link a conflicting request
/// to the right person and approve it; mark manual tasks done; replay a failed task. Each is
/// audited and moves the request on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_link_approve_mark_done_and_retry_move_requests_on() {
    use dsr_worker::domain::RequestKind;
    use dsr_worker::review::decisions::Decision;

    let lab = StoreLab::new().await;
    let (a, b) = (Person::new("link-a", 13), Person::new("link-b", 14));
    lab.seed(&a, false).await;
    lab.seed(&b, false).await;
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    let (decider, staff) = staff_decider(&d).await;
    let request_of = |email: String| {
        let pool = d.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM requests WHERE sender = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };

    // A writes from her address but gives B's IIN: the identifiers point at different people.
    d.deliver(&authenticated(
        &a.email,
        "Блокирование данных",
        &format!(
            "Прошу заблокировать мои персональные данные. Мой ИИН {}.",
            b.iin
        ),
    ))
    .await;
    wait_status(&d, &a.email, "needs_review").await;
    assert_eq!(lab.crm_rows(&a).await, (1, 0, 2, 0));
    assert_eq!(lab.crm_rows(&b).await, (1, 0, 2, 0));
    let id = request_of(a.email.clone()).await;
    // Staff establish it is A (by her own IIN) and approve the blocking.
    decider
        .decide(
            &staff,
            id,
            Decision::LinkSubject {
                subject: dsr_worker::stores::SubjectIds {
                    iins: vec![a.iin.clone()],
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    // The stores are searched again for the linked identifiers before staff approve.
    wait_anchor(&d, id, "staff_link").await;
    // The approval names the store match staff saw (its fingerprint) and overrides the
    // conflict explicitly: staff resolved it by linking A.
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
                kind: RequestKind::Restriction,
                fingerprint: dsr_worker::request::approval::fingerprint_of(&seen).unwrap(),
                override_conflicts: true,
                override_obligations: false,
            },
        )
        .await
        .unwrap();
    wait_status(&d, &a.email, "completed").await;
    assert_eq!(lab.crm_rows(&a).await, (1, 1, 2, 2), "A is blocked");
    assert_eq!(
        lab.crm_rows(&b).await,
        (1, 0, 2, 0),
        "B, whose IIN was given, is untouched"
    );

    // Rectification: every store holding B gets a manual task; the request completes when staff
    // have marked each done.
    d.deliver(&authenticated(
        &b.email,
        "Исправление данных",
        "Прошу исправить мою фамилию в ваших системах: правильно — Ахметова.",
    ))
    .await;
    wait_status(&d, &b.email, "executing").await;
    let rid = request_of(b.email.clone()).await;
    let tasks: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM store_tasks WHERE request_id = $1 ORDER BY id")
            .bind(rid)
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(tasks.len(), 3);
    assert!(
        tasks.iter().all(|(_, s)| s == "waiting_manual"),
        "{tasks:?}"
    );
    for (i, (task_id, _)) in tasks.iter().enumerate() {
        let done = decider
            .decide(
                &staff,
                rid,
                Decision::MarkStoreTaskDone {
                    task_id: *task_id,
                    note: "surname corrected".into(),
                },
            )
            .await
            .unwrap();
        let want = if i + 1 == tasks.len() {
            "completed"
        } else {
            "executing"
        };
        assert_eq!(done.status, want);
    }
    assert_eq!(request_status(&d, &b.email).await.0, "completed");

    // Replay: a failed task goes back on the queue and runs.
    d.deliver(&authenticated(
        &b.email,
        "Отзыв согласия",
        "Отзываю согласие на обработку моих персональных данных.",
    ))
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    let withdrawal = loop {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM requests WHERE sender = $1 AND kind = 'withdraw_consent' AND status = 'completed'")
            .bind(&b.email)
            .fetch_all(&d.pool)
            .await
            .unwrap();
        if let Some(id) = ids.first() {
            break *id;
        }
        assert!(std::time::Instant::now() < deadline, "withdrawal completes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let task: i64 =
        sqlx::query_scalar("SELECT id FROM store_tasks WHERE request_id = $1 AND store = 'shop'")
            .bind(withdrawal)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    let refused = decider
        .decide(
            &staff,
            withdrawal,
            Decision::RetryStoreTask { task_id: task },
        )
        .await;
    assert!(
        refused.is_err(),
        "a completed request's task is not replayed"
    );
    sqlx::query("UPDATE requests SET status = 'executing' WHERE id = $1")
        .bind(withdrawal)
        .execute(&d.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE store_tasks SET status = 'failed', last_error = 'simulated' WHERE id = $1")
        .bind(task)
        .execute(&d.pool)
        .await
        .unwrap();
    decider
        .decide(
            &staff,
            withdrawal,
            Decision::RetryStoreTask { task_id: task },
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM store_tasks WHERE id = $1")
            .bind(task)
            .fetch_one(&d.pool)
            .await
            .unwrap();
        if status == "done" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "replayed task runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every decision is in the hash-chained audit log.
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&d.pool)
        .await
        .unwrap();
    assert_eq!(
        actions,
        vec![
            "staff_added",
            "link_subject",
            "approve",
            "mark_store_task_done",
            "mark_store_task_done",
            "mark_store_task_done",
            "retry_store_task"
        ]
    );
    let mut conn = d.pool.acquire().await.unwrap();
    assert!(
        matches!(
            dsr_worker::review::audit::verify(&mut conn).await.unwrap(),
            dsr_worker::review::audit::Verification::Intact { entries: 7, .. }
        ),
        "chain intact"
    );
    drop(conn);
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}

mod retention;
