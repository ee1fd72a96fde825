//! `retention run`: one retention pass now (the worker also runs one every
//! retention.interval_secs).

use clap::Subcommand;

use super::Application;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// One pass now: mask sent one-time codes, reduce requests final for retention.final_days
    /// and mail never part of a request received retention.unattached_days ago.
    Run,
}

pub async fn run(app: &Application, command: RetentionCommand) -> anyhow::Result<()> {
    match command {
        RetentionCommand::Run => retention_run(app).await,
    }
}

/// `retention run`.
pub async fn retention_run(app: &Application) -> anyhow::Result<()> {
    let (settings, pool) = (&app.settings, app.pool.clone());
    let retention = crate::retention::Retention::new(
        pool,
        settings.retention.clone(),
        &settings.hash_key()?,
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
