//! `stores check` and `plan`: the registered data stores, and what processing a request would
//! do in each. Plain text meant for a terminal; an error says what to fix.

use clap::Subcommand;

use super::Application;
use crate::config::Settings;
use crate::domain::RequestKind;
use crate::pipeline::requests::plan;
use crate::stores::{self, Registry};

#[derive(Subcommand)]
pub enum StoresCommand {
    /// Connect to every store, verify tables and columns, warn about unindexed identifiers,
    /// and print the plan per request kind.
    Check,
}

pub async fn run(settings: &Settings, command: StoresCommand) -> anyhow::Result<()> {
    match command {
        StoresCommand::Check => stores_check(settings).await,
    }
}

/// `stores check`.
pub async fn stores_check(settings: &Settings) -> anyhow::Result<()> {
    let registry = Registry::new(&settings.stores)?;
    if registry.settings.is_empty() {
        println!("no stores are registered ([[stores]] in the configuration)");
        return Ok(());
    }
    let mut failed = 0;
    for (name, result) in stores::check(&registry).await {
        let kind = registry.kind(&name).map(|k| k.as_str()).unwrap_or("?");
        match result {
            Ok(warnings) => {
                println!("✔ {name} ({kind})");
                for w in warnings {
                    println!("  ⚠ {w}");
                }
            }
            Err(e) => {
                failed += 1;
                println!("✘ {name} ({kind}): {e}");
            }
        }
        let store = registry.get(&name).expect("listed");
        for kind in RequestKind::ALL {
            let mut steps = vec![];
            for table in &store.tables {
                if let Some(action) = table.actions.get(&kind) {
                    steps.push(format!("{} {}", plan::action_name(action), table.name));
                }
            }
            if !store.kind.is_sql() && store.takes_part_in(kind) {
                steps.push(format!("{} task", store.kind.as_str()));
            }
            if !steps.is_empty() {
                println!("    {kind:<18} {}", steps.join(", "));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} store(s) failed the check");
    }
    Ok(())
}

/// `plan REQUEST_ID`: what processing the request would do in every store (a dry run).
pub async fn plan(app: &Application, request_id: i64) -> anyhow::Result<()> {
    let (settings, pool) = (&app.settings, &app.pool);
    let purged: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT purged_at FROM requests WHERE id = $1")
            .bind(request_id)
            .fetch_optional(pool)
            .await?
            .flatten();
    if let Some(at) = purged {
        // Its identifiers are pseudonyms now: there is nobody left to look for.
        println!(
            "request {request_id} was reduced under the retention policy on {}; its receipts show what was done",
            at.format("%Y-%m-%d")
        );
        return Ok(());
    }
    let registry = Registry::new(&settings.stores)?;
    for (store, status, plan) in plan::dry_run(pool, &registry, request_id).await? {
        println!("{store}: {status}");
        println!("  {}", serde_json::to_string(&plan)?);
    }
    Ok(())
}
