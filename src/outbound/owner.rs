//! Who holds an outbox lease, so that a restarted worker does not wait out its dead
//! predecessor's leases.
//!
//! Each worker process that sends or publishes takes a lease name, `host#n` (the first `n` from
//! 1 that no live process on this host holds), and keeps it with a session advisory lock on a
//! connection of its own for as long as it runs. Its pool's connections carry the name as
//! `application_name` (also seen in `pg_stat_activity`), and every lease records it
//! (`outbox.lease_owner`, migration 0016). A name that nobody holds belongs to no live process:
//! the worker that takes it gives that name's leases back at once ([`LeaseName::release_orphans`]).
//! After a SIGKILL and a restart the e-mail that was in flight goes out again (same
//! Message-ID) within a second, instead of after its lease (`3 × smtp.timeout_secs + 10` s);
//! rows leased by a live worker, under its own name, are never touched.
//!
//! A worker that cannot take a name (64 taken on one host) leases without one: its leases run
//! out as before.

use sqlx::PgPool;

use crate::config::Secret;
use crate::pipeline::intake::leader::{self, Leadership};

/// Lock key space of lease names: "dsr-lease-owner" folded into 64 bits, fixed so all versions
/// agree.
const OWNER_LOCK: i64 = 0x0d5e_1ea5_e000_0002;
/// Names tried per host.
const MAX_PER_HOST: u32 = 64;

/// A lease name held by this process.
pub struct LeaseName {
    name: String,
    lock: Leadership,
    url: Secret,
}

impl LeaseName {
    /// Takes the first free name `host#n` of this host; `Ok(None)` if all are taken.
    pub async fn take(database_url: &Secret) -> anyhow::Result<Option<Self>> {
        let host = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        Self::take_on(database_url, &host).await
    }

    /// [`LeaseName::take`] for a given host name.
    pub async fn take_on(database_url: &Secret, host: &str) -> anyhow::Result<Option<Self>> {
        for n in 1..=MAX_PER_HOST {
            let name = format!("{host}#{n}");
            if let Some(lock) = lock(database_url, &name).await? {
                return Ok(Some(Self {
                    name,
                    lock,
                    url: database_url.clone(),
                }));
            }
        }
        Ok(None)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gives back, at once, the pending rows still leased under this name: the process that
    /// leased them is dead (its lock went with it, or this one could not have the name).
    /// Returns how many.
    pub async fn release_orphans(&self, pool: &PgPool) -> sqlx::Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET lease_until = NULL
             WHERE lease_owner = $1 AND status = 'pending' AND lease_until > now()",
        )
        .bind(&self.name)
        .execute(pool)
        .await?
        .rows_affected())
    }

    /// Fails when the lock's connection is gone (another process may then take the name).
    pub async fn check(&mut self) -> anyhow::Result<()> {
        self.lock.check().await
    }

    /// Takes this name's lock again on a new connection (after [`LeaseName::check`] failed);
    /// fails if another process holds it now.
    pub async fn retake(&mut self) -> anyhow::Result<()> {
        match lock(&self.url, &self.name).await? {
            Some(lock) => {
                self.lock = lock;
                Ok(())
            }
            None => Err(anyhow::anyhow!(
                "another process holds lease name {} now; its restart may resend an e-mail in flight here",
                self.name
            )),
        }
    }
}

/// The session advisory lock of lease name `name`, if no other process holds it.
async fn lock(database_url: &Secret, name: &str) -> anyhow::Result<Option<Leadership>> {
    let key = OWNER_LOCK ^ leader::fold(name);
    Leadership::try_lock(database_url, key, "the lease name's lock").await
}
