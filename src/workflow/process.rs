//! The `requests` queue handler: moves one request as far as it can go, then stops to wait.
//!
//! ```text
//! received ─ack─▶ accepted ──identity?──▶ awaiting_confirmation ─(reply with code)─▶ confirmed
//!    │                │                                                                  │
//!    └▶ needs_review  ▼ (verified: trusted Authentication-Results, round trip, or staff)  ◀┘
//!       (staff ─▶ approved)  find the subject in every store
//!                     ├─ nobody found ──────────▶ completed (unknown_subject: ask for details)
//!                     ├─ identifiers disagree ──▶ needs_review
//!                     ├─ open obligation (art. 8(2)) ─▶ needs_review (+ reply explaining)
//!                     ├─ access ────────────────▶ completed (report to the verified address)
//!                     └─ otherwise: one task per store ─▶ executing ─(all tasks done)─▶ completed
//! ```
//!
//! Every step runs in one transaction on the request row (locked), so a redelivery, a restart or a
//! second worker continues from the recorded state and never repeats a step.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::access;
use super::acknowledge::{Acknowledger, RequestMessage};
use super::identity;
use super::reply::{event, Replier, RequestRow};
use super::tasks;
use crate::config::IdentitySettings;
use crate::domain::RequestKind;
use crate::outbound::outbox::{self, OutgoingPublish};
use crate::queue::consumer::Failure;
use crate::queue::topology::WorkQueue;
use crate::stores::settings::{Action, StoreKind, StoreSettings};
use crate::stores::{Registry, StoreMatch, SubjectIds};

/// Where a request stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do in this state (waiting for staff, a confirmation, tasks, or already done).
    Waiting(String),
    AwaitingConfirmation,
    NeedsReview(Vec<String>),
    UnknownSubject,
    Answered,
    Executing {
        tasks: usize,
    },
    Completed,
}

#[derive(Clone)]
pub struct Processor {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub replier: Replier,
    pub identity: IdentitySettings,
    pub acknowledger: Acknowledger,
    pub store_actions: WorkQueue,
}

/// States from which processing continues.
const ACTIONABLE: &[&str] = &["accepted", "approved", "confirmed"];

impl Processor {
    /// Queue handler entry point.
    pub async fn handle(&self, payload: Vec<u8>) -> Result<(), Failure> {
        let message: RequestMessage = serde_json::from_slice(&payload)
            .map_err(|e| Failure::Poison(anyhow::anyhow!("malformed requests message: {e}")))?;
        self.acknowledger.acknowledge(message.request_id).await?;
        let step = self.advance(message.request_id).await?;
        tracing::info!(request_id = message.request_id, ?step, "request advanced");
        Ok(())
    }

    pub async fn advance(&self, request_id: i64) -> Result<Step, Failure> {
        let mut tx = self.pool.begin().await?;
        let request = RequestRow::lock(&mut tx, request_id)
            .await?
            .ok_or_else(|| {
                Failure::Poison(anyhow::anyhow!("request {request_id} does not exist"))
            })?;
        if !ACTIONABLE.contains(&request.status.as_str()) {
            return Ok(Step::Waiting(request.status));
        }
        let kind: RequestKind = request
            .kind
            .parse()
            .map_err(|e| Failure::Poison(anyhow::anyhow!("request {request_id}: {e}")))?;

        // 1. Identity: never act or disclose on a From header alone (an opt-out only sets flags).
        if !request.verified && kind != RequestKind::MarketingOptOut {
            let raw: Vec<u8> = sqlx::query_scalar("SELECT raw FROM inbound_messages WHERE id = $1")
                .bind(request.inbound_message_id)
                .fetch_one(&mut *tx)
                .await?;
            match identity::authenticated(&raw, &request.sender, kind, &self.identity) {
                Some(how) => {
                    set_verified(&mut tx, request_id, &how).await?;
                }
                None => {
                    self.ask_for_confirmation(&mut tx, &request).await?;
                    tx.commit().await?;
                    return Ok(Step::AwaitingConfirmation);
                }
            }
        }

        // 2. Who is it, in every store?
        let ids = request.subject_ids();
        let mut matches: BTreeMap<String, StoreMatch> = BTreeMap::new();
        for store in self.registry.sql_stores() {
            // A store that is down fails the whole step; the queue retries it later.
            matches.insert(
                store.name().to_owned(),
                store.find(&ids).await.map_err(Failure::Retry)?,
            );
        }
        let summary: BTreeMap<&String, BTreeMap<&String, usize>> = matches
            .iter()
            .map(|(s, m)| (s, m.tables.iter().map(|(t, k)| (t, k.len())).collect()))
            .collect();
        sqlx::query("UPDATE requests SET subject_match = $2 WHERE id = $1")
            .bind(request_id)
            .bind(json!(summary))
            .execute(&mut *tx)
            .await?;
        let conflicts: Vec<String> = matches.values().flat_map(|m| m.conflicts.clone()).collect();
        if !conflicts.is_empty() && !request.approved && request.linked_subject.is_none() {
            return self.to_review(tx, request_id, conflicts).await;
        }
        let found = matches.values().any(|m| !m.is_empty());
        if !found && kind != RequestKind::Access {
            self.replier
                .send(
                    &mut tx,
                    &request,
                    "unknown_subject",
                    &format!("unknown:{request_id}"),
                    json!({}),
                    vec![],
                )
                .await
                .map_err(Failure::Poison)?;
            finish(&mut tx, request_id, "unknown_subject").await?;
            tx.commit().await?;
            return Ok(Step::UnknownSubject);
        }

        // 3. Law 94-V art. 8(2): no automatic withdrawal or erasure while an obligation is open.
        if matches!(kind, RequestKind::WithdrawConsent | RequestKind::Erasure) && !request.approved
        {
            let mut open = vec![];
            for store in self.registry.sql_stores() {
                if let Some(m) = matches.get(store.name()).filter(|m| !m.is_empty()) {
                    open.extend(store.open_obligations(m).await.map_err(Failure::Retry)?);
                }
            }
            if !open.is_empty() {
                self.replier
                    .send(
                        &mut tx,
                        &request,
                        "obligation_hold",
                        &format!("obligation:{request_id}"),
                        json!({ "obligations": open }),
                        vec![],
                    )
                    .await
                    .map_err(Failure::Poison)?;
                let reasons = open
                    .iter()
                    .map(|o| format!("open obligation (art. 8(2)): {o}"))
                    .collect();
                return self.to_review(tx, request_id, reasons).await;
            }
        }

        // 4. Access: answer with the report, to the verified address only.
        if kind == RequestKind::Access {
            access::answer(&mut tx, &self.registry, &self.replier, &request, &ids)
                .await
                .map_err(Failure::Retry)?;
            finish(&mut tx, request_id, "done").await?;
            tx.commit().await?;
            return Ok(Step::Answered);
        }

        // 5. One task per store.
        let planned = self.plan(&mut tx, &request, kind, &ids, &matches).await?;
        sqlx::query("UPDATE requests SET status = 'executing' WHERE id = $1")
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, request_id, "planned", json!({ "tasks": planned })).await?;
        let completed = tasks::complete_if_done(&mut tx, &self.replier, request_id).await?;
        tx.commit().await?;
        Ok(if completed {
            Step::Completed
        } else {
            Step::Executing { tasks: planned }
        })
    }

    async fn ask_for_confirmation(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
    ) -> Result<(), Failure> {
        let (code, hash) = identity::new_code();
        let inserted = sqlx::query(
            "INSERT INTO verifications (request_id, code_hash, expires_at)
             VALUES ($1, $2, now() + make_interval(hours => $3))
             ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request.id)
        .bind(hash)
        .bind(self.identity.confirmation_hours as i32)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            self.replier
                .send(
                    tx,
                    request,
                    "confirmation",
                    &format!("confirm:{}", request.id),
                    json!({ "code": code, "expires_hours": self.identity.confirmation_hours }),
                    vec![],
                )
                .await
                .map_err(Failure::Poison)?;
        }
        sqlx::query("UPDATE requests SET status = 'awaiting_confirmation' WHERE id = $1")
            .bind(request.id)
            .execute(&mut *tx)
            .await?;
        event(
            tx,
            request.id,
            "confirmation_requested",
            json!({ "reason": "no trusted sender authentication" }),
        )
        .await?;
        Ok(())
    }

    async fn to_review(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        request_id: i64,
        reasons: Vec<String>,
    ) -> Result<Step, Failure> {
        sqlx::query("UPDATE requests SET status = 'needs_review', review = true WHERE id = $1")
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            request_id,
            "flagged_for_review",
            json!({ "reasons": reasons }),
        )
        .await?;
        tx.commit().await?;
        Ok(Step::NeedsReview(reasons))
    }

    /// Creates the tasks; publishes those a worker can run. Returns how many were created.
    async fn plan(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
        kind: RequestKind,
        ids: &SubjectIds,
        matches: &BTreeMap<String, StoreMatch>,
    ) -> Result<usize, Failure> {
        let mut count = 0;
        for store in &self.registry.settings {
            let Some((status, plan)) = plan_for(store, kind, ids, matches.get(&store.name)) else {
                continue;
            };
            let task: Option<i64> = sqlx::query_scalar(
                "INSERT INTO store_tasks (request_id, store, status, plan) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (request_id, store) DO NOTHING RETURNING id",
            )
            .bind(request.id)
            .bind(&store.name)
            .bind(status)
            .bind(&plan)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(task_id) = task else { continue };
            count += 1;
            if status == "pending" {
                publish_task(
                    tx,
                    &self.store_actions,
                    task_id,
                    &format!("publish:task:{task_id}"),
                )
                .await?;
            }
        }
        Ok(count)
    }
}

/// What a store would do for `kind`: the task's initial status and its plan, or `None` when
/// the store takes no part. Pure: shared by processing and `dsr-worker plan` (dry run).
pub fn plan_for(
    store: &StoreSettings,
    kind: RequestKind,
    ids: &SubjectIds,
    found: Option<&StoreMatch>,
) -> Option<(&'static str, serde_json::Value)> {
    Some(match store.kind {
        StoreKind::Webhook | StoreKind::Manual if !store.takes_part_in(kind) => return None,
        StoreKind::Webhook => ("pending", json!({ "kind": kind, "subject": ids })),
        StoreKind::Manual => (
            "waiting_manual",
            json!({ "kind": kind, "instructions": store.instructions }),
        ),
        _ => {
            let found = found.cloned().unwrap_or_default();
            let tables: BTreeMap<&String, serde_json::Value> = store
                .tables
                .iter()
                .filter_map(|t| {
                    let rows = found.tables.get(&t.name).map(Vec::len).unwrap_or(0);
                    let action = t.actions.get(&kind)?;
                    (rows > 0 && *action != Action::Keep).then(|| {
                        (
                            &t.name,
                            json!({ "action": action_name(action), "rows": rows }),
                        )
                    })
                })
                .collect();
            if found.is_empty() {
                (
                    "skipped",
                    json!({ "kind": kind, "reason": "no records of this subject" }),
                )
            } else if kind == RequestKind::Rectification {
                (
                    "waiting_manual",
                    json!({ "kind": kind, "instructions": "correct the records as the subject asked", "rows": found.rows() }),
                )
            } else if tables.is_empty() {
                (
                    "skipped",
                    json!({ "kind": kind, "reason": "no action configured for this kind" }),
                )
            } else {
                (
                    "pending",
                    json!({ "kind": kind, "subject": ids, "tables": tables }),
                )
            }
        }
    })
}

pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Keep => "keep",
        Action::Block => "block",
        Action::Delete => "delete",
        Action::Retain => "retain",
        Action::Anonymise(_) => "anonymise",
        Action::Set(_) => "set",
    }
}

/// `dsr-worker plan`: what processing `request_id` would do in each store, without doing it.
pub async fn dry_run(
    pool: &PgPool,
    registry: &Registry,
    request_id: i64,
) -> anyhow::Result<Vec<(String, &'static str, serde_json::Value)>> {
    let mut conn = pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let request = RequestRow::lock(&mut tx, request_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request {request_id} does not exist"))?;
    tx.rollback().await?;
    let kind: RequestKind = request.kind.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let ids = request.subject_ids();
    let mut out = vec![];
    for store in &registry.settings {
        let found = match registry.sql(&store.name) {
            Some(sql) => Some(sql.find(&ids).await?),
            None => None,
        };
        if let Some((status, mut plan)) = plan_for(store, kind, &ids, found.as_ref()) {
            if let Some(found) = &found {
                plan["conflicts"] = json!(found.conflicts);
            }
            if let Some(obj) = plan.as_object_mut() {
                // The dry run shows shapes, not identifiers.
                obj.remove("subject");
            }
            out.push((store.name.clone(), status, plan));
        }
    }
    Ok(out)
}

/// Enqueues a store task for the `store-actions` queue through the outbox.
pub async fn publish_task(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    task_id: i64,
    dedupe: &str,
) -> sqlx::Result<()> {
    outbox::enqueue_publish(
        conn,
        dedupe,
        None,
        &OutgoingPublish {
            exchange: queue.exchange(),
            routing_key: queue.routing_key().to_owned(),
            body: json!({ "task_id": task_id }),
        },
    )
    .await?;
    Ok(())
}

/// Enqueues a request for the `requests` queue through the outbox.
pub async fn publish_request(
    conn: &mut PgConnection,
    queue: &WorkQueue,
    request_id: i64,
    dedupe: &str,
) -> sqlx::Result<()> {
    outbox::enqueue_publish(
        conn,
        dedupe,
        Some(request_id),
        &OutgoingPublish {
            exchange: queue.exchange(),
            routing_key: queue.routing_key().to_owned(),
            body: json!({ "request_id": request_id }),
        },
    )
    .await?;
    Ok(())
}

async fn set_verified(conn: &mut PgConnection, request_id: i64, how: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE requests SET verified_at = now(), verification = $2 WHERE id = $1")
        .bind(request_id)
        .bind(how)
        .execute(&mut *conn)
        .await?;
    event(conn, request_id, "identity_verified", json!({ "how": how })).await
}

async fn finish(conn: &mut PgConnection, request_id: i64, outcome: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE requests SET status = 'completed', completed_at = now(), outcome = $2 WHERE id = $1")
        .bind(request_id)
        .bind(outcome)
        .execute(&mut *conn)
        .await?;
    event(conn, request_id, "completed", json!({ "outcome": outcome })).await
}
