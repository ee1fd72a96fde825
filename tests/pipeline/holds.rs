//! The holds job on real stores: each hold ends once however many runs there are, a row that
//! is no longer blocked is left in place, and a store that is down does not stop the others.

use dsr_worker::pipeline::holds::{destroy_due_holds, HoldsRun};
use dsr_worker::stores::Registry;
use sqlx::{Executor, Row};

use crate::helpers::*;
use crate::stores::*;

/// A day after every hold of the seeded data has ended (invoices 2031, orders 2029).
fn after_every_hold() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2032, 1, 1).unwrap()
}

async fn erase(d: &Deployment, people: &[&Person]) {
    for p in people {
        d.deliver(&authenticated(
            &p.email,
            "Удаление персональных данных",
            "Прошу удалить все мои персональные данные из ваших систем.",
        ))
        .await;
    }
    for p in people {
        wait_status(d, &p.email, "completed").await;
    }
}

async fn receipts(d: &Deployment, action: &str) -> Vec<(String, i64, i64)> {
    sqlx::query(
        "SELECT store, (detail->>'hold_id')::bigint AS hold, rows FROM receipts
         WHERE action = $1 ORDER BY hold",
    )
    .bind(action)
    .fetch_all(&d.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("store"), r.get("hold"), r.get("rows")))
    .collect()
}

/// Four runs at once (as in four workers) end each due hold exactly once: one destruction,
/// one receipt per hold, and a later run finds nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_holds_runs_destroy_each_hold_once() {
    let lab = StoreLab::new().await;
    let people: Vec<Person> = (0..3).map(|i| Person::new("held", 31 + i)).collect();
    for p in &people {
        lab.seed(p, false).await;
    }
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    erase(&d, &people.iter().collect::<Vec<_>>()).await;
    worker.stop().await;
    let holds: i64 = sqlx::query_scalar("SELECT count(*) FROM holds WHERE destroyed_at IS NULL")
        .fetch_one(&d.pool)
        .await
        .unwrap();
    assert_eq!(holds, 3, "one held invoice per person");

    let registry = Registry::new(&d.settings().stores).unwrap();
    let today = after_every_hold();
    let (r1, r2, r3, r4) = tokio::join!(
        destroy_due_holds(&d.pool, &registry, today),
        destroy_due_holds(&d.pool, &registry, today),
        destroy_due_holds(&d.pool, &registry, today),
        destroy_due_holds(&d.pool, &registry, today),
    );
    let runs = [r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()];
    let destroyed: u64 = runs.iter().map(|r| r.destroyed).sum();
    assert_eq!(destroyed, 3, "{runs:?}");
    assert!(
        runs.iter().all(|r| r.skipped == 0 && r.failed == 0),
        "{runs:?}"
    );
    let destructions = receipts(&d, "destroy_after_hold").await;
    assert_eq!(
        destructions.len(),
        3,
        "one receipt per hold: {destructions:?}"
    );
    let mut ids: Vec<i64> = destructions.iter().map(|r| r.1).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{destructions:?}");
    assert!(destructions.iter().all(|r| r.2 == 1), "{destructions:?}");
    let invoices: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&mut lab.pg().await)
        .await
        .unwrap();
    assert_eq!(invoices, 0, "every held invoice is gone");

    let again = destroy_due_holds(&d.pool, &registry, today).await.unwrap();
    assert_eq!(again, HoldsRun::default(), "nothing left to end");
    assert_eq!(receipts(&d, "destroy_after_hold").await.len(), 3);
    d.cleanup().await;
    lab.drop().await;
}

/// A row unblocked by staff before its hold ends is left in place (and the hold closed, with a
/// receipt saying so); while the shop is down its holds wait and the CRM's are ended; once the
/// shop is back the next run ends its holds too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_destroy_only_blocked_rows_and_a_down_store_does_not_stop_the_others() {
    let lab = StoreLab::new().await;
    lab.my()
        .await
        .execute("CREATE TABLE blocked_orders (order_id INT PRIMARY KEY)")
        .await
        .unwrap();
    let (a, b) = (Person::new("hold-a", 41), Person::new("hold-b", 42));
    lab.seed(&a, false).await;
    lab.seed(&b, false).await;
    let mut proxy = Proxy::start("127.0.0.1:3306").await;
    let mut d = deployment(&lab, proxy.port, vec![]).await;
    // The shop keeps orders 3 years (blocked through a blocklist) and only blocks accounts.
    d.extra_toml = d
        .extra_toml
        .replace(
            "actions = { erasure = \"delete\", withdraw_consent = \"block\", restriction = \"block\" }",
            "actions = { erasure = \"block\", withdraw_consent = \"block\", restriction = \"block\" }",
        )
        .replace(
            "categories = { item = \"activity\", ordered_at = \"activity\" }\nactions = { erasure = \"delete\" }",
            "categories = { item = \"activity\", ordered_at = \"activity\" }\n\
             retention = { basis = \"consultation records\", column = \"ordered_at\", years = 3 }\n\
             block = { table = \"blocked_orders\", column = \"order_id\" }\n\
             actions = { erasure = \"retain\" }",
        );
    assert!(
        d.extra_toml.contains("blocked_orders"),
        "test config rewritten"
    );
    let worker = d.start_worker();
    erase(&d, &[&a, &b]).await;
    worker.stop().await;

    let holds: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, store, row_key FROM holds ORDER BY id")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(
        holds.len(),
        4,
        "an invoice and an order per person: {holds:?}"
    );
    let blocked_orders: i64 = sqlx::query_scalar("SELECT count(*) FROM blocked_orders")
        .fetch_one(&mut lab.my().await)
        .await
        .unwrap();
    assert_eq!(blocked_orders, 2);
    // B's rows: the invoice and the order held for B (found through B's shop account).
    let b_order: i32 = sqlx::query_scalar(
        "SELECT o.id FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.email = ?",
    )
    .bind(&b.email)
    .fetch_one(&mut lab.my().await)
    .await
    .unwrap();
    let request_b: i64 = sqlx::query_scalar("SELECT id FROM requests WHERE sender = $1")
        .bind(&b.email)
        .fetch_one(&d.pool)
        .await
        .unwrap();
    let b_invoice: String =
        sqlx::query_scalar("SELECT row_key FROM holds WHERE store = 'crm' AND request_id = $1")
            .bind(request_b)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    // Staff unblock both of B's held rows (say, a court asked for them).
    sqlx::query("UPDATE invoices SET blocked = false WHERE id = $1")
        .bind(b_invoice.parse::<i32>().unwrap())
        .execute(&mut lab.pg().await)
        .await
        .unwrap();
    sqlx::query("DELETE FROM blocked_orders WHERE order_id = ?")
        .bind(b_order)
        .execute(&mut lab.my().await)
        .await
        .unwrap();

    // The shop goes away; the run ends what it can.
    proxy.cut();
    let registry = Registry::new(&d.settings().stores).unwrap();
    let run = destroy_due_holds(&d.pool, &registry, after_every_hold())
        .await
        .unwrap();
    assert_eq!(
        run,
        HoldsRun {
            destroyed: 1,
            skipped: 1,
            failed: 2
        },
        "CRM: A's invoice destroyed, B's left; shop: both wait"
    );
    let invoices: Vec<(i32, bool)> = sqlx::query_as("SELECT id, blocked FROM invoices ORDER BY id")
        .fetch_all(&mut lab.pg().await)
        .await
        .unwrap();
    assert_eq!(
        invoices,
        vec![(b_invoice.parse::<i32>().unwrap(), false)],
        "only B's unblocked invoice is left"
    );
    let released: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT row_key, release_reason FROM holds WHERE released_at IS NOT NULL")
            .fetch_all(&d.pool)
            .await
            .unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].0, b_invoice);
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&mut lab.my().await)
        .await
        .unwrap();
    assert_eq!(orders, 2, "nothing done in the shop while it was down");
    assert!(
        log_text().contains("holds: the hold stays until the next run")
            && log_text().contains("store shop"),
        "the failure is logged with the store"
    );

    // The shop is back: the next run ends its holds the same way.
    proxy.restore().await;
    let run = destroy_due_holds(&d.pool, &registry, after_every_hold())
        .await
        .unwrap();
    assert_eq!(
        run,
        HoldsRun {
            destroyed: 1,
            skipped: 1,
            failed: 0
        }
    );
    let orders: Vec<i32> = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_all(&mut lab.my().await)
        .await
        .unwrap();
    assert_eq!(orders, vec![b_order], "only B's unblocked order is left");
    let blocked_orders: i64 = sqlx::query_scalar("SELECT count(*) FROM blocked_orders")
        .fetch_one(&mut lab.my().await)
        .await
        .unwrap();
    assert_eq!(
        blocked_orders, 0,
        "the destroyed order's blocklist entry went with it"
    );
    // One receipt per hold, never two.
    let destroyed = receipts(&d, "destroy_after_hold").await;
    let kept = receipts(&d, "hold_released").await;
    assert_eq!(destroyed.len(), 2, "{destroyed:?}");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(destroyed.iter().all(|r| r.2 == 1) && kept.iter().all(|r| r.2 == 0));
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM holds WHERE destroyed_at IS NULL AND released_at IS NULL",
    )
    .fetch_one(&d.pool)
    .await
    .unwrap();
    assert_eq!(open, 0);
    d.cleanup().await;
    lab.drop().await;
}
