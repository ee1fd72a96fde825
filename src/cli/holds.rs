//! `holds run`: destroy the held rows whose retention duty has ended, now (the worker also does
//! it hourly).

use clap::Subcommand;

use super::Application;
use crate::pipeline::holds;
use crate::stores::Registry;

#[derive(Subcommand)]
pub enum HoldsCommand {
    /// Destroy held rows whose retention has ended, now.
    Run,
}

pub async fn run(app: &Application, command: HoldsCommand) -> anyhow::Result<()> {
    match command {
        HoldsCommand::Run => holds_run(app).await,
    }
}

/// `holds run`.
pub async fn holds_run(app: &Application) -> anyhow::Result<()> {
    let (settings, pool) = (&app.settings, &app.pool);
    let registry = Registry::new(&settings.stores)?;
    let today = chrono::Utc::now()
        .with_timezone(&crate::request::deadline::almaty())
        .date_naive();
    let run = holds::destroy_due_holds(pool, &registry, today).await?;
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
