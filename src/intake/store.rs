//! Raw mail and the UID checkpoint, written together in one transaction.

use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

use crate::db::{self, CHANNEL_INBOUND};

/// Where a fetched message came from.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// `user@host/INBOX`: the checkpoint key.
    pub mailbox: &'a str,
    pub uid_validity: u32,
    pub uid: u32,
}

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

/// Stores `raw` (unless its sha256 is known) and advances the checkpoint to `origin.uid`.
pub async fn store(
    pool: &PgPool,
    origin: &Origin<'_>,
    raw: &[u8],
    size_bytes: u64,
    truncated: bool,
) -> sqlx::Result<Stored> {
    let hash = sha256(raw);
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid, truncated)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (sha256) DO NOTHING
         RETURNING id",
    )
    .bind(&hash)
    .bind(raw)
    .bind(size_bytes as i64)
    .bind(origin.mailbox)
    .bind(i64::from(origin.uid_validity))
    .bind(i64::from(origin.uid))
    .bind(truncated)
    .fetch_optional(&mut *tx)
    .await?;
    let stored = match inserted {
        Some(row) => Stored::New(row.try_get("id")?),
        None => Stored::Known(
            sqlx::query("SELECT id FROM inbound_messages WHERE sha256 = $1")
                .bind(&hash)
                .fetch_one(&mut *tx)
                .await?
                .try_get("id")?,
        ),
    };
    advance(&mut tx, origin).await?;
    if matches!(stored, Stored::New(_)) {
        db::notify(&mut tx, CHANNEL_INBOUND).await?;
    }
    tx.commit().await?;
    Ok(stored)
}

async fn advance(conn: &mut sqlx::PgConnection, origin: &Origin<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mailbox_checkpoints (mailbox, uid_validity, last_uid) VALUES ($1, $2, $3)
         ON CONFLICT (mailbox) DO UPDATE
           SET uid_validity = EXCLUDED.uid_validity,
               last_uid = CASE WHEN mailbox_checkpoints.uid_validity = EXCLUDED.uid_validity
                               THEN greatest(mailbox_checkpoints.last_uid, EXCLUDED.last_uid)
                               ELSE EXCLUDED.last_uid END,
               updated_at = now()",
    )
    .bind(origin.mailbox)
    .bind(i64::from(origin.uid_validity))
    .bind(i64::from(origin.uid))
    .execute(conn)
    .await?;
    Ok(())
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
