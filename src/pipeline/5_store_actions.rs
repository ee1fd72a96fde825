//! Store tasks: one per (request, store), on the `store-actions` queue with its own retries and
//! dead-letter queue. A request completes when every task is done or skipped; a failed task
//! can be replayed alone; a webhook or manual task is done only when someone confirms it.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool, Row};

use crate::domain::{RequestKind, RequestStatus};
use crate::monitoring::Metrics;
use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::outbound::outbox::Urgency;
use crate::outbound::reply::{Replier, To};
use crate::queue::consumer::Failure;
use crate::queue::messages::publish_task;
use crate::queue::messages::{self, TaskMessage};
use crate::queue::topology::WorkQueue;
use crate::request::lifecycle::{end, event};
use crate::request::RequestRow;
use crate::stores::settings::StoreKind;
use crate::stores::webhook::{self, WebhookCall};
use crate::stores::{Registry, SubjectIds};

#[derive(Debug, Deserialize)]
struct Plan {
    kind: RequestKind,
    #[serde(default)]
    subject: SubjectIds,
}

/// A store task as its run reads it, with the request it belongs to.
#[derive(sqlx::FromRow)]
struct TaskRow {
    request_id: i64,
    store: String,
    status: String,
    attempts: i32,
    plan: serde_json::Value,
    reference: String,
    request_status: RequestStatus,
}

#[derive(Clone)]
pub struct Executor {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub replier: Replier,
    /// Key of keyed-hash anonymisation.
    pub hash_key: Vec<u8>,
    /// Times each store action (`dsr_store_action_seconds`).
    pub metrics: Metrics,
}

impl Executor {
    /// Queue handler of `store-actions`.
    pub async fn handle(&self, payload: Vec<u8>) -> Result<(), Failure> {
        let message: TaskMessage = messages::decode("store-actions", &payload)?;
        self.run(message.task_id, chrono::Utc::now().date_naive())
            .await
    }

    /// Runs a task once. The task row stays locked while the store works, so two workers never
    /// run the same task at the same time; the store action itself is idempotent. (In the span
    /// `store_task`, with the task's and its request's ids.)
    #[tracing::instrument(
        name = "store_task",
        skip_all,
        fields(task_id = task_id, request_id = tracing::field::Empty)
    )]
    pub async fn run(&self, task_id: i64, today: NaiveDate) -> Result<(), Failure> {
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query_as::<_, TaskRow>(
            "SELECT t.request_id, t.store, t.status, t.attempts, t.plan, r.reference,
                    r.status AS request_status
             FROM store_tasks t JOIN requests r ON r.id = t.request_id
             WHERE t.id = $1 FOR NO KEY UPDATE OF t",
        )
        .bind(task_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(Failure::Poison(anyhow::anyhow!(
                "store task {task_id} does not exist"
            )));
        };
        let TaskRow {
            request_id,
            store,
            status,
            attempts,
            plan,
            reference,
            request_status,
        } = row;
        let attempts = attempts + 1;
        tracing::Span::current().record("request_id", request_id);
        if !matches!(status.as_str(), "pending" | "failed" | "running") {
            return Ok(());
        }
        // Staff ended the request (reject, close) while this task was queued or running: it
        // is cancelled, never run.
        if matches!(
            request_status,
            RequestStatus::Rejected | RequestStatus::Closed
        ) {
            sqlx::query(
                "UPDATE store_tasks SET status = 'cancelled', updated_at = now() WHERE id = $1",
            )
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
            event(
                &mut tx,
                request_id,
                "store_cancelled",
                json!({ "store": store, "task_id": task_id, "request_status": request_status }),
            )
            .await?;
            tx.commit().await?;
            return Ok(());
        }
        let plan: Plan = serde_json::from_value(plan)
            .map_err(|e| Failure::Poison(anyhow::anyhow!("store task {task_id}: bad plan: {e}")))?;
        let kind = self.registry.kind(&store).ok_or_else(|| {
            Failure::Poison(anyhow::anyhow!("store {store} is no longer configured"))
        })?;

        let started = std::time::Instant::now();
        let outcome: anyhow::Result<&str> = match kind {
            StoreKind::Postgres | StoreKind::Mysql | StoreKind::Sqlite => {
                let sql = self
                    .registry
                    .sql(&store)
                    .expect("SQL stores are registered");
                match sql
                    .apply(plan.kind, &plan.subject, &self.hash_key, today)
                    .await
                {
                    Ok(applied) => {
                        let (receipts, holds) = (&applied.receipts, &applied.holds);
                        for r in receipts {
                            sqlx::query(
                                "INSERT INTO receipts (task_id, request_id, store, table_name, action, rows, detail, run)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(task_id)
                            .bind(request_id)
                            .bind(&store)
                            .bind(&r.table)
                            .bind(&r.action)
                            .bind(r.rows as i64)
                            .bind(&r.detail)
                            .bind(attempts)
                            .execute(&mut *tx)
                            .await?;
                        }
                        for h in holds {
                            sqlx::query(
                                "INSERT INTO holds (request_id, task_id, store, table_name, row_key, basis, destroy_after)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                                 ON CONFLICT (store, table_name, row_key) DO UPDATE
                                   SET destroy_after = greatest(holds.destroy_after, EXCLUDED.destroy_after)",
                            )
                            .bind(request_id)
                            .bind(task_id)
                            .bind(&h.store)
                            .bind(&h.table)
                            .bind(&h.row_key)
                            .bind(&h.basis)
                            .bind(h.destroy_after)
                            .execute(&mut *tx)
                            .await?;
                        }
                        let rows: u64 = receipts.iter().map(|r| r.rows).sum();
                        sqlx::query("UPDATE store_tasks SET receipt = $2 WHERE id = $1")
                            .bind(task_id)
                            .bind(json!({ "tables": receipts, "rows": rows, "holds": holds.len() }))
                            .execute(&mut *tx)
                            .await?;
                        // Our records are written (not yet committed); now the store commits. If
                        // it cannot, our transaction rolls back too and the task is retried.
                        applied.commit().await.map(|()| "done")
                    }
                    Err(e) => Err(e),
                }
            }
            StoreKind::Webhook => {
                let settings = self.registry.get(&store).expect("registered");
                let call = WebhookCall {
                    task_id,
                    reference: &reference,
                    kind: plan.kind.as_str(),
                    subject: &plan.subject,
                };
                webhook::call(settings, &call)
                    .await
                    .map(|_| "waiting_confirmation")
            }
            StoreKind::Manual => Ok("waiting_manual"),
        };
        if kind != StoreKind::Manual {
            self.metrics
                .store_action(&store, outcome.is_ok(), started.elapsed());
        }
        match outcome {
            Ok(new_status) => {
                sqlx::query(
                    "UPDATE store_tasks SET status = $2, attempts = $3, last_error = NULL, updated_at = now()
                     WHERE id = $1",
                )
                .bind(task_id)
                .bind(new_status)
                .bind(attempts)
                .execute(&mut *tx)
                .await?;
                event(
                    &mut tx,
                    request_id,
                    &format!("store_{new_status}"),
                    json!({ "store": store, "task_id": task_id }),
                )
                .await?;
                complete_if_done(&mut tx, &self.replier, request_id).await?;
                tx.commit().await?;
                tracing::info!(task_id, request_id, store = %store, status = new_status, "store task ran");
                Ok(())
            }
            Err(e) => {
                let message = format!("{e:#}");
                sqlx::query(
                    "UPDATE store_tasks SET status = 'failed', attempts = $2, last_error = $3, updated_at = now()
                     WHERE id = $1",
                )
                .bind(task_id)
                .bind(attempts)
                .bind(&message)
                .execute(&mut *tx)
                .await?;
                event(
                    &mut tx,
                    request_id,
                    "store_failed",
                    json!({ "store": store, "task_id": task_id, "error": message }),
                )
                .await?;
                tx.commit().await?;
                Err(Failure::Retry(e))
            }
        }
    }
}

/// Completes the request if every task is done or skipped: marks it and sends the reply.
/// Locks the request row first, so two tasks finishing together complete it exactly once.
pub async fn complete_if_done(
    conn: &mut PgConnection,
    replier: &Replier,
    request_id: i64,
) -> anyhow::Result<bool> {
    let Some(request) = RequestRow::lock(conn, request_id).await? else {
        return Ok(false);
    };
    if request.status != RequestStatus::Executing {
        return Ok(false);
    }
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM store_tasks WHERE request_id = $1 AND status NOT IN ('done', 'skipped')",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    if open > 0 {
        return Ok(false);
    }
    let rows: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(rows), 0)::bigint FROM receipts WHERE request_id = $1",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    let stores: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM store_tasks WHERE request_id = $1 AND status = 'done'",
    )
    .bind(request_id)
    .fetch_one(&mut *conn)
    .await?;
    let holds: Vec<serde_json::Value> = sqlx::query(
        "SELECT basis, max(destroy_after)::text AS until FROM holds
         WHERE request_id = $1 AND destroyed_at IS NULL GROUP BY basis ORDER BY basis",
    )
    .bind(request_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| json!({ "basis": r.get::<String, _>("basis"), "until": r.get::<String, _>("until") }))
    .collect();
    replier
        .send_to(
            conn,
            &request,
            &To::Verified,
            Urgency::Result,
            "completed",
            &DedupeKey::reply(request_id, Reply::Complete),
            json!({ "rows": rows, "stores": stores, "holds": holds }),
            vec![],
        )
        .await?;
    end(
        conn,
        request_id,
        RequestStatus::Completed,
        "done",
        "completed",
        json!({ "rows": rows, "stores": stores }),
    )
    .await?;
    Ok(true)
}

/// Replays one task (after it failed, or on staff's demand): back to pending and on the queue.
pub async fn retry(
    pool: &PgPool,
    queue: &WorkQueue,
    task_id: i64,
    actor: &str,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let request_id = retry_in(&mut tx, queue, task_id).await?;
    event(
        &mut tx,
        request_id,
        "store_task_replayed",
        json!({ "task_id": task_id, "by": actor }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// [`retry`] inside the caller's transaction (no timeline event); returns the request id.
pub async fn retry_in(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    task_id: i64,
) -> anyhow::Result<i64> {
    let row = sqlx::query(
        "UPDATE store_tasks SET status = 'pending', updated_at = now()
         WHERE id = $1 AND status IN ('failed', 'pending', 'running') RETURNING request_id, attempts",
    )
    .bind(task_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| anyhow::anyhow!("task {task_id} does not exist or is not failed/pending"))?;
    let request_id: i64 = row.try_get("request_id")?;
    let attempts: i32 = row.try_get("attempts")?;
    publish_task(conn, queue, task_id, Some(attempts)).await?;
    Ok(request_id)
}

/// Marks a webhook task confirmed by its processor, or a manual task done by staff.
pub async fn resolve(
    pool: &PgPool,
    replier: &Replier,
    task_id: i64,
    actor: &str,
    note: &str,
) -> anyhow::Result<bool> {
    let mut tx = pool.begin().await?;
    let (request_id, completed) = resolve_in(&mut tx, replier, task_id, actor, note).await?;
    event(
        &mut tx,
        request_id,
        "store_task_resolved",
        json!({ "task_id": task_id, "by": actor, "note": note }),
    )
    .await?;
    tx.commit().await?;
    Ok(completed)
}

/// [`resolve`] inside the caller's transaction (no timeline event); returns the request id and
/// whether the request is now complete.
pub async fn resolve_in(
    conn: &mut PgConnection,
    replier: &Replier,
    task_id: i64,
    actor: &str,
    note: &str,
) -> anyhow::Result<(i64, bool)> {
    let request_id: i64 = sqlx::query_scalar(
        "UPDATE store_tasks SET status = 'done', resolved_by = $2, updated_at = now(),
                receipt = coalesce(receipt, '{}'::jsonb) || jsonb_build_object('resolved_by', $2::text, 'note', $3::text)
         WHERE id = $1 AND status IN ('waiting_manual', 'waiting_confirmation') RETURNING request_id",
    )
    .bind(task_id)
    .bind(actor)
    .bind(note)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| anyhow::anyhow!("task {task_id} does not exist or is not waiting for a confirmation"))?;
    let completed = complete_if_done(conn, replier, request_id).await?;
    Ok((request_id, completed))
}
