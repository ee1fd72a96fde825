//! Raw mail and the UID checkpoint, written together in one transaction per fetched batch.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

/// The result of storing one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New(i64),
    /// The same bytes were stored before (a re-fetch, or the same message appended twice).
    Known(i64),
}

pub fn sha256(raw: &[u8]) -> Vec<u8> {
    Sha256::digest(raw).to_vec()
}

/// One fetched message.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
    pub size_bytes: u64,
    /// Only the header was fetched (over `imap.max_message_bytes`).
    pub truncated: bool,
}

/// Stores a batch of fetched messages (each unless its sha256 is known) and advances the
/// checkpoint to the highest UID, in one statement (so one transaction): a crash stores none
/// of them and moves the checkpoint nowhere, so they are fetched again. One statement per
/// batch, not one per message, is what lets intake keep up with a burst. Ids follow the UIDs'
/// order, so triage reads a sender's messages in the order they arrived. Each stored row wakes
/// triage on commit (the trigger of migration 0015).
pub async fn store_all(
    pool: &PgPool,
    mailbox: &str,
    uid_validity: u32,
    batch: &[Fetched],
) -> sqlx::Result<Vec<Stored>> {
    let Some(last) = batch.iter().map(|m| m.uid).max() else {
        return Ok(vec![]);
    };
    let hashes: Vec<Vec<u8>> = batch.iter().map(|m| sha256(&m.raw)).collect();
    let raws: Vec<&[u8]> = batch.iter().map(|m| m.raw.as_slice()).collect();
    let sizes: Vec<i64> = batch.iter().map(|m| m.size_bytes as i64).collect();
    let uids: Vec<i64> = batch.iter().map(|m| i64::from(m.uid)).collect();
    let truncated: Vec<bool> = batch.iter().map(|m| m.truncated).collect();
    let inserted: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "WITH new AS (
             INSERT INTO inbound_messages
                    (sha256, raw, size_bytes, mailbox, uid_validity, uid, truncated)
             SELECT m.sha256, m.raw, m.size_bytes, $6, $7, m.uid, m.truncated
             FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bool[])
                  WITH ORDINALITY AS m(sha256, raw, size_bytes, uid, truncated, n)
             ORDER BY m.n
             ON CONFLICT (sha256) DO NOTHING
             RETURNING id, sha256
         ), checkpoint AS (
             INSERT INTO mailbox_checkpoints (mailbox, uid_validity, last_uid) VALUES ($6, $7, $8)
             ON CONFLICT (mailbox) DO UPDATE
               SET uid_validity = EXCLUDED.uid_validity,
                   last_uid = CASE WHEN mailbox_checkpoints.uid_validity = EXCLUDED.uid_validity
                                   THEN greatest(mailbox_checkpoints.last_uid, EXCLUDED.last_uid)
                                   ELSE EXCLUDED.last_uid END,
                   updated_at = now()
         )
         SELECT id, sha256 FROM new",
    )
    .bind(&hashes)
    .bind(&raws)
    .bind(&sizes)
    .bind(&uids)
    .bind(&truncated)
    .bind(mailbox)
    .bind(i64::from(uid_validity))
    .bind(i64::from(last))
    .fetch_all(pool)
    .await?;
    let inserted: HashMap<Vec<u8>, i64> =
        inserted.into_iter().map(|(id, hash)| (hash, id)).collect();
    // The rest were stored before: their ids, in one read.
    let earlier: Vec<&Vec<u8>> = hashes
        .iter()
        .filter(|h| !inserted.contains_key(*h))
        .collect();
    let earlier: HashMap<Vec<u8>, i64> = if earlier.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT id, sha256 FROM inbound_messages WHERE sha256 = ANY($1)",
        )
        .bind(&earlier)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|(id, hash)| (hash, id))
        .collect()
    };
    let mut reported = HashSet::new();
    let mut out = Vec::with_capacity(batch.len());
    for hash in &hashes {
        out.push(match inserted.get(hash) {
            Some(&id) if reported.insert(hash) => Stored::New(id),
            // A second copy, in this batch, of a message the statement stored.
            Some(&id) => Stored::Known(id),
            // Raw mail is never deleted, so the read above found it.
            None => Stored::Known(*earlier.get(hash).ok_or(sqlx::Error::RowNotFound)?),
        });
    }
    Ok(out)
}

/// The last UID stored for `mailbox` under `uid_validity`; 0 when unknown or when the
/// mailbox's UIDVALIDITY changed (everything is fetched again; known bytes are skipped).
pub async fn last_uid(pool: &PgPool, mailbox: &str, uid_validity: u32) -> sqlx::Result<u32> {
    let row =
        sqlx::query("SELECT uid_validity, last_uid FROM mailbox_checkpoints WHERE mailbox = $1")
            .bind(mailbox)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        Some(row) => {
            let validity: i64 = row.try_get("uid_validity")?;
            let last: i64 = row.try_get("last_uid")?;
            if validity == i64::from(uid_validity) {
                u32::try_from(last).unwrap_or(0)
            } else {
                tracing::warn!(mailbox, old = validity, new = uid_validity, "UIDVALIDITY changed; re-reading the mailbox (stored messages are skipped by content hash)");
                0
            }
        }
        None => 0,
    })
}
