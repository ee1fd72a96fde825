//! `tasks list`: the store tasks of a request. Replaying a task or marking one done are staff
//! decisions, audited: `review retry|done` ([`super::review`]); `tasks retry|done` only say so.

use clap::Subcommand;
use sqlx::Row;

use super::Application;
use crate::config::Settings;

#[derive(Subcommand)]
pub enum TasksCommand {
    /// List the store tasks of a request.
    ///
    /// Replaying a task or marking one done are staff decisions, audited: use
    /// `review retry TASK --as STAFF_EMAIL` and `review done TASK --note TEXT --as STAFF_EMAIL`.
    List { request_id: i64 },
    /// Moved to `review retry TASK --as STAFF_EMAIL` (an audited staff decision).
    #[command(hide = true)]
    Retry {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Moved to `review done TASK --note TEXT --as STAFF_EMAIL` (an audited staff decision).
    #[command(hide = true)]
    Done {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Connects only for `list`: the moved commands fail at once, database or not.
pub async fn run(settings: Settings, command: TasksCommand) -> anyhow::Result<()> {
    match command {
        TasksCommand::List { request_id } => {
            tasks_list(&Application::connect(settings).await?, request_id).await
        }
        TasksCommand::Retry { .. } => anyhow::bail!(
            "`tasks retry` is now `review retry TASK --as STAFF_EMAIL`: replaying a task is an audited staff decision"
        ),
        TasksCommand::Done { .. } => anyhow::bail!(
            "`tasks done` is now `review done TASK --note TEXT --as STAFF_EMAIL`: marking a task done is an audited staff decision"
        ),
    }
}

/// `tasks list REQUEST_ID`.
pub async fn tasks_list(app: &Application, request_id: i64) -> anyhow::Result<()> {
    let pool = &app.pool;
    let rows = sqlx::query(
        "SELECT id, store, status, attempts, coalesce(last_error, '') AS error, receipt::text AS receipt
         FROM store_tasks WHERE request_id = $1 ORDER BY id",
    )
    .bind(request_id)
    .fetch_all(pool)
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
