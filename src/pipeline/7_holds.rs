//! Holds: rows a store blocks instead of deleting while a retention duty lasts (consent
//! agreement, clause 12). Hourly (and on `dsr-worker holds run`), the holds whose duty has ended
//! are destroyed in their store and the request's receipt says so.

use chrono::NaiveDate;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument;

use crate::request::lifecycle::event;
use crate::stores::database::{HeldRow, Unavailable};
use crate::stores::Registry;

/// What one run of the holds job did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HoldsRun {
    /// Holds whose row was still blocked and is now destroyed.
    pub destroyed: u64,
    /// Holds closed without destroying anything: the row was no longer blocked (left in
    /// place, recorded) or no longer there.
    pub skipped: u64,
    /// Holds that could not be ended this time (their store is down, unknown, or refused):
    /// they stay due and the next run tries again.
    pub failed: u64,
}

/// Ends every hold whose retention duty is over (`destroy_after < today`).
///
/// Each hold is claimed in its own transaction (`FOR UPDATE SKIP LOCKED`), so runs in several
/// workers at once share the work and never end one hold twice. The row is deleted only if it
/// is still blocked, in a store transaction; the `destroyed_at` mark and the
/// `destroy_after_hold` receipt are written in ours, then the store commits, then ours: a crash
/// leaves the hold either due (the next run finds the row gone and closes it) or done. A store
/// that fails is logged and counted, and the other stores' holds go on; after a store turns
/// out unreachable, its remaining holds wait for the next run.
pub async fn destroy_due_holds(
    pool: &PgPool,
    registry: &Registry,
    today: NaiveDate,
) -> anyhow::Result<HoldsRun> {
    let mut run = HoldsRun::default();
    let mut after: i64 = 0;
    let mut unreachable: std::collections::BTreeSet<String> = Default::default();
    loop {
        let mut tx = pool.begin().await?;
        let Some(hold) = sqlx::query_as::<_, DueHold>(
            "SELECT id, request_id, task_id, store, table_name, row_key FROM holds
             WHERE destroyed_at IS NULL AND released_at IS NULL AND destroy_after < $1 AND id > $2
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(today)
        .bind(after)
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        after = hold.id;
        if unreachable.contains(&hold.store) {
            run.failed += 1;
            continue;
        }
        let span = tracing::info_span!("hold", hold_id = hold.id, request_id = hold.request_id);
        match end_hold(&mut tx, registry, &hold).instrument(span).await {
            Ok(row) => {
                tx.commit().await?;
                match row {
                    HeldRow::Destroyed(_) => run.destroyed += 1,
                    HeldRow::NotBlocked | HeldRow::Gone => run.skipped += 1,
                }
                tracing::info!(hold_id = hold.id, store = %hold.store, table = %hold.table, outcome = ?row, "holds: hold ended");
            }
            Err(e) => {
                drop(tx);
                run.failed += 1;
                if e.downcast_ref::<Unavailable>().is_some() {
                    unreachable.insert(hold.store.clone());
                }
                tracing::warn!(hold_id = hold.id, store = %hold.store, "holds: the hold stays until the next run: {e:#}");
            }
        }
    }
    Ok(run)
}

/// A hold whose retention duty has ended, claimed for this run.
#[derive(sqlx::FromRow)]
struct DueHold {
    id: i64,
    request_id: i64,
    task_id: i64,
    store: String,
    #[sqlx(rename = "table_name")]
    table: String,
    #[sqlx(rename = "row_key")]
    key: String,
}

/// Ends one claimed hold: the store's work and our records, the store committed last but one.
async fn end_hold(
    tx: &mut PgConnection,
    registry: &Registry,
    hold: &DueHold,
) -> anyhow::Result<HeldRow> {
    let sql = registry.sql(&hold.store).ok_or_else(|| {
        anyhow::anyhow!(
            "store {} is no longer configured as a SQL store",
            hold.store
        )
    })?;
    let held = sql.destroy_held(&hold.table, &hold.key).await?;
    let (action, rows, detail, event_name) = match held.row {
        HeldRow::Destroyed(rows) => (
            "destroy_after_hold",
            rows,
            json!({ "hold_id": hold.id }),
            "hold_destroyed",
        ),
        HeldRow::Gone => (
            "destroy_after_hold",
            0,
            json!({ "hold_id": hold.id, "already_gone": true }),
            "hold_destroyed",
        ),
        HeldRow::NotBlocked => (
            "hold_released",
            0,
            json!({ "hold_id": hold.id, "reason": "no longer blocked; left in place" }),
            "hold_released",
        ),
    };
    if held.row == HeldRow::NotBlocked {
        sqlx::query(
            "UPDATE holds SET released_at = now(), release_reason = 'no longer blocked when the hold ended'
             WHERE id = $1",
        )
        .bind(hold.id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query("UPDATE holds SET destroyed_at = now() WHERE id = $1")
            .bind(hold.id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO receipts (task_id, request_id, store, table_name, action, rows, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hold.task_id)
    .bind(hold.request_id)
    .bind(&hold.store)
    .bind(&hold.table)
    .bind(action)
    .bind(rows as i64)
    .bind(&detail)
    .execute(&mut *tx)
    .await?;
    event(
        tx,
        hold.request_id,
        event_name,
        json!({ "store": hold.store, "table": hold.table, "rows": rows }),
    )
    .await?;
    let row = held.row;
    // Our records are written (not yet committed); now the store commits. If it cannot, our
    // transaction rolls back too and the hold stays due.
    held.commit().await?;
    Ok(row)
}
