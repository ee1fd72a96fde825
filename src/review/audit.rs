//! The append-only, hash-chained audit log of staff decisions.
//!
//! Each entry stores the hash of the previous one and its own:
//! `hash = sha256(prev_hash || canonical JSON of {id, at, actor, action, request_id, before, after})`
//! in lowercase hex; the first entry's `prev_hash` is 64 zeros. Canonical JSON has object keys
//! sorted at every level and no insignificant whitespace, so it survives a round trip through
//! JSONB. Ids are consecutive (assigned under a transaction-scoped advisory lock), so a deleted
//! row breaks the chain as surely as an edited one. A trigger forbids UPDATE, DELETE and
//! TRUNCATE; [`verify`] proves nobody went around it.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Advisory lock key serialising appends (ASCII "dsraudit").
const APPEND_LOCK: i64 = 0x6473_7261_7564_6974;

/// What a staff member did. The store-dependent variants are written by the store-task
/// decisions (issue 4) once `store_tasks` and subject matching exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Approve,
    Reject,
    /// End a request without action (no reply to the subject).
    Close,
    AskInformation,
    /// Send a failed request back through processing.
    RetryRequest,
    /// Link the request to a subject found in a store (issue 4).
    LinkSubject,
    /// Retry a failed store task (issue 4).
    RetryStoreTask,
    /// Mark a `waiting_manual` store task done (issue 4).
    MarkStoreTaskDone,
    StaffAdded,
    StaffDeactivated,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Approve => "approve",
            AuditAction::Reject => "reject",
            AuditAction::Close => "close",
            AuditAction::AskInformation => "ask_information",
            AuditAction::RetryRequest => "retry_request",
            AuditAction::LinkSubject => "link_subject",
            AuditAction::RetryStoreTask => "retry_store_task",
            AuditAction::MarkStoreTaskDone => "mark_store_task_done",
            AuditAction::StaffAdded => "staff_added",
            AuditAction::StaffDeactivated => "staff_deactivated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub request_id: Option<i64>,
    pub before: Value,
    pub after: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// JSON with object keys sorted at every level, compact.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The hash of an entry with these fields.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    id: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    request_id: Option<i64>,
    before: &Value,
    after: &Value,
) -> String {
    let body = serde_json::json!({
        "id": id,
        "at": timestamp(at),
        "actor": actor,
        "action": action,
        "request_id": request_id,
        "before": before,
        "after": after,
    });
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_json(&body).as_bytes());
    hex::encode(hasher.finalize())
}

/// Appends an entry inside the caller's transaction; the entry is visible only if it commits.
pub async fn append(
    conn: &mut PgConnection,
    actor: &str,
    action: AuditAction,
    request_id: Option<i64>,
    before: Value,
    after: Value,
) -> sqlx::Result<AuditEntry> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    let last = sqlx::query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (id, prev_hash) = match last {
        Some(row) => (
            row.try_get::<i64, _>("id")? + 1,
            row.try_get::<String, _>("hash")?,
        ),
        None => (1, GENESIS.to_owned()),
    };
    // PostgreSQL keeps microseconds: hash exactly what is stored.
    let at = Utc::now().trunc_subsecs(6);
    let action = action.as_str().to_owned();
    let hash = entry_hash(
        &prev_hash, id, at, actor, &action, request_id, &before, &after,
    );
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, request_id, before, after, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(&action)
    .bind(request_id)
    .bind(&before)
    .bind(&after)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(AuditEntry {
        id,
        at,
        actor: actor.to_owned(),
        action,
        request_id,
        before,
        after,
        prev_hash,
        hash,
    })
}

fn entry_from_row(row: &sqlx::postgres::PgRow) -> sqlx::Result<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        request_id: row.try_get("request_id")?,
        before: row.try_get("before")?,
        after: row.try_get("after")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str = "id, at, actor, action, request_id, before, after, prev_hash, hash";

/// The entries about one request, oldest first.
pub async fn for_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<AuditEntry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE request_id = $1 ORDER BY id"
    )))
    .bind(request_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The newest `limit` entries, newest first.
pub async fn recent(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<AuditEntry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log ORDER BY id DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Intact {
        entries: u64,
        /// Hash of the newest entry (or [`GENESIS`]): write it down to detect truncation later.
        head: String,
    },
    Broken {
        /// The first entry that does not link or does not hash to what it says.
        id: i64,
        reason: String,
        checked: u64,
    },
}

/// Recomputes every link of the chain, oldest first.
pub async fn verify(conn: &mut PgConnection) -> sqlx::Result<Verification> {
    use futures::TryStreamExt;
    let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY id");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(conn);
    let mut prev = GENESIS.to_owned();
    let mut expected_id = 1;
    let mut checked = 0;
    while let Some(row) = rows.try_next().await? {
        let e = entry_from_row(&row)?;
        let broken = |reason: String| Verification::Broken {
            id: e.id,
            reason,
            checked,
        };
        if e.id != expected_id {
            return Ok(broken(format!(
                "expected entry {expected_id} next, found {} (entries missing)",
                e.id
            )));
        }
        if e.prev_hash != prev {
            return Ok(broken(
                "prev_hash does not match the previous entry's hash".into(),
            ));
        }
        let recomputed = entry_hash(
            &e.prev_hash,
            e.id,
            e.at,
            &e.actor,
            &e.action,
            e.request_id,
            &e.before,
            &e.after,
        );
        if recomputed != e.hash {
            return Ok(broken(
                "content does not match its hash (entry altered)".into(),
            ));
        }
        prev = e.hash;
        expected_id += 1;
        checked += 1;
    }
    Ok(Verification::Intact {
        entries: checked,
        head: prev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = serde_json::json!({"b": 1, "a": {"z": [true, null], "y": "é\"x"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"y":"é\"x","z":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn hash_depends_on_every_field() {
        let at = Utc::now().trunc_subsecs(6);
        let before = serde_json::json!({"status": "needs_review"});
        let after = serde_json::json!({"status": "approved"});
        let h = entry_hash(
            GENESIS,
            1,
            at,
            "a@nlg.kz",
            "approve",
            Some(7),
            &before,
            &after,
        );
        assert_eq!(h.len(), 64);
        assert_ne!(
            h,
            entry_hash(
                GENESIS,
                2,
                at,
                "a@nlg.kz",
                "approve",
                Some(7),
                &before,
                &after
            )
        );
        assert_ne!(
            h,
            entry_hash(
                GENESIS,
                1,
                at,
                "b@nlg.kz",
                "approve",
                Some(7),
                &before,
                &after
            )
        );
        assert_ne!(
            h,
            entry_hash(
                GENESIS,
                1,
                at,
                "a@nlg.kz",
                "approve",
                Some(7),
                &after,
                &after
            )
        );
        assert_ne!(
            h,
            entry_hash(&h, 1, at, "a@nlg.kz", "approve", Some(7), &before, &after)
        );
    }
}
