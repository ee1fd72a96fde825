//! Raw mail and the UID checkpoint, written together in one transaction per fetched batch.

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
/// checkpoint to the highest UID, all in one transaction: a crash stores none of them and
/// moves the checkpoint nowhere, so they are fetched again. One commit per batch, not per
/// message, is what lets intake keep up with a burst.
pub async fn store_all(
    pool: &PgPool,
    mailbox: &str,
    uid_validity: u32,
    batch: &[Fetched],
) -> sqlx::Result<Vec<Stored>> {
    let mut tx = pool.begin().await?;
    let mut out = Vec::with_capacity(batch.len());
    let mut any_new = false;
    for m in batch {
        let hash = sha256(&m.raw);
        let inserted = sqlx::query(
            "INSERT INTO inbound_messages (sha256, raw, size_bytes, mailbox, uid_validity, uid, truncated)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (sha256) DO NOTHING
             RETURNING id",
        )
        .bind(&hash)
        .bind(&m.raw)
        .bind(m.size_bytes as i64)
        .bind(mailbox)
        .bind(i64::from(uid_validity))
        .bind(i64::from(m.uid))
        .bind(m.truncated)
        .fetch_optional(&mut *tx)
        .await?;
        out.push(match inserted {
            Some(row) => {
                any_new = true;
                Stored::New(row.try_get("id")?)
            }
            None => Stored::Known(
                sqlx::query("SELECT id FROM inbound_messages WHERE sha256 = $1")
                    .bind(&hash)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?,
            ),
        });
    }
    if let Some(last) = batch.iter().map(|m| m.uid).max() {
        advance(
            &mut tx,
            &Origin {
                mailbox,
                uid_validity,
                uid: last,
            },
        )
        .await?;
    }
    if any_new {
        db::notify(&mut tx, CHANNEL_INBOUND).await?;
    }
    tx.commit().await?;
    Ok(out)
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
