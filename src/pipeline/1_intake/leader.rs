//! One active mailbox reader across all workers: a session-level PostgreSQL advisory lock held
//! on a dedicated connection. If that connection dies, the lock is released and a standby
//! worker takes over.

use sqlx::{Connection, PgConnection, Row};

use crate::config::Secret;

/// Lock key: "dsr-intake" folded into 64 bits, fixed so all versions agree.
const INTAKE_LOCK: i64 = 0x0d5e_1a7a_6b00_0001;
/// How long the leader lock's connection may take to answer a ping.
pub const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Leadership {
    conn: PgConnection,
    /// What the lock is, for errors ("the intake leader lock").
    what: &'static str,
}

impl Leadership {
    /// Tries once; `Ok(None)` when another worker is the leader.
    pub async fn try_acquire(database_url: &Secret, mailbox: &str) -> anyhow::Result<Option<Self>> {
        Self::try_lock(
            database_url,
            INTAKE_LOCK ^ fold(mailbox),
            "the intake leader lock",
        )
        .await
    }

    /// The session advisory lock `key`, on a connection of its own, if no other session
    /// holds it (also used for lease names: `outbound::owner`).
    pub async fn try_lock(
        database_url: &Secret,
        key: i64,
        what: &'static str,
    ) -> anyhow::Result<Option<Self>> {
        let mut conn = PgConnection::connect(database_url.expose()).await?;
        let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS got")
            .bind(key)
            .fetch_one(&mut conn)
            .await?
            .try_get("got")?;
        Ok(got.then_some(Self { conn, what }))
    }

    /// Fails when the lock's connection is gone (leadership is lost) or does not answer within
    /// [`CHECK_TIMEOUT`].
    pub async fn check(&mut self) -> anyhow::Result<()> {
        match tokio::time::timeout(CHECK_TIMEOUT, self.conn.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("lost {}'s connection: {e}", self.what)),
            Err(_) => Err(anyhow::anyhow!(
                "{}'s connection did not answer within {} s",
                self.what,
                CHECK_TIMEOUT.as_secs()
            )),
        }
    }
}

/// A text folded into 64 bits (FNV-1a), for lock keys.
pub fn fold(text: &str) -> i64 {
    // FNV-1a: stable across builds and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}
