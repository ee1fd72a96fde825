//! The engineers' commands: `stores check`, `plan`, `tasks list`, `holds`, `retention`. Each
//! prints plain text meant for a terminal and returns an error that says what to fix. Decisions
//! on store tasks (replay, mark done) are staff decisions: `review retry|done`
//! ([`crate::review::cli`]).

use sqlx::Row;

use crate::config::Settings;
use crate::db;
use crate::domain::RequestKind;
use crate::stores::{self, Registry};
use crate::workflow::{process, tasks};

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
                    steps.push(format!("{} {}", process::action_name(action), table.name));
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

pub async fn plan(settings: &Settings, request_id: i64) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    let purged: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT purged_at FROM requests WHERE id = $1")
            .bind(request_id)
            .fetch_optional(&pool)
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
    for (store, status, plan) in process::dry_run(&pool, &registry, request_id).await? {
        println!("{store}: {status}");
        println!("  {}", serde_json::to_string(&plan)?);
    }
    Ok(())
}

pub async fn tasks_list(settings: &Settings, request_id: i64) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    let rows = sqlx::query(
        "SELECT id, store, status, attempts, coalesce(last_error, '') AS error, receipt::text AS receipt
         FROM store_tasks WHERE request_id = $1 ORDER BY id",
    )
    .bind(request_id)
    .fetch_all(&pool)
    .await?;
    for r in rows {
        println!(
            "task {:>6}  {:<16} {:<21} attempts {}  {} {}",
            r.get::<i64, _>("id"),
            r.get::<String, _>("store"),
            r.get::<String, _>("status"),
            r.get::<i32, _>("attempts"),
            r.get::<Option<String>, _>("receipt").unwrap_or_default(),
            r.get::<String, _>("error"),
        );
    }
    Ok(())
}

pub async fn holds_run(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    let registry = Registry::new(&settings.stores)?;
    let today = chrono::Utc::now()
        .with_timezone(&crate::workflow::deadline::almaty())
        .date_naive();
    let run = tasks::destroy_due_holds(&pool, &registry, today).await?;
    println!(
        "holds: {} destroyed, {} skipped (no longer blocked, or already gone), {} failed",
        run.destroyed, run.skipped, run.failed
    );
    if run.failed > 0 {
        anyhow::bail!(
            "{} hold(s) could not be ended (see the log); they stay due for the next run",
            run.failed
        );
    }
    Ok(())
}

pub async fn retention_run(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    db::migrate(&pool).await?;
    let retention = crate::retention::Retention::new(
        pool,
        settings.retention.clone(),
        &crate::worker::hash_key(settings)?,
        &settings.company,
    );
    let pass = retention.run_once(chrono::Utc::now()).await?;
    println!(
        "{} request(s) reduced, {} reduced request(s) with later rows, {} message(s) never part of a request, {} one-time code(s) masked{}",
        pass.requests,
        pass.late,
        pass.unattached,
        pass.codes,
        if retention.keyed() {
            ""
        } else {
            " (no hash key: values replaced, not pseudonymised)"
        }
    );
    Ok(())
}
