//! The plan: what each registered store does for a request of a given kind (block, delete,
//! export, forward to a processor, or hand to staff), and `dsr-worker plan`, the same plan as a
//! dry run that touches nothing.

use std::collections::BTreeMap;

use serde_json::json;
use sqlx::PgPool;

use crate::domain::RequestKind;
use crate::request::RequestRow;
use crate::stores::settings::{Action, StoreKind, StoreSettings};
use crate::stores::{Registry, StoreMatch, SubjectIds};

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
        StoreKind::Webhook => ("pending", json!({ "kind": kind, "subject": proven(ids) })),
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
    let kind = request.kind;
    let ids = request.probe();
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

/// What a third party may be told about the subject: the verified address (or what staff
/// linked). Typed identifiers are never passed on: they may be someone else's.
fn proven(ids: &SubjectIds) -> SubjectIds {
    if ids.linked {
        return ids.clone();
    }
    SubjectIds {
        emails: ids.emails.clone(),
        ..Default::default()
    }
}
