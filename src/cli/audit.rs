//! `audit verify`: the hash-chained audit log of staff decisions.

use clap::Subcommand;
use sqlx::PgPool;

use super::Application;
use crate::review::audit::{self, Verification};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; exit 1 and name the first broken entry if it was altered.
    Verify,
}

pub async fn run(app: &Application, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => {
            if verify(&app.pool).await? {
                return Ok(());
            }
            anyhow::bail!("the audit log's hash chain is broken");
        }
    }
}

/// `audit verify`: `Ok(true)` when the chain is intact.
pub async fn verify(pool: &PgPool) -> anyhow::Result<bool> {
    let mut conn = pool.acquire().await?;
    match audit::verify(&mut conn).await? {
        Verification::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            Ok(true)
        }
        Verification::Broken {
            id,
            reason,
            checked,
        } => {
            println!(
                "audit log BROKEN at entry {id}: {reason} ({checked} entries before it verified)"
            );
            Ok(false)
        }
    }
}
