//! `staff add|deactivate`: the staff accounts of the review console.

use clap::Subcommand;
use sqlx::PgPool;

use super::Application;
use crate::review::auth::{self, Role};

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Add a staff account. The password is read from DSR_STAFF_PASSWORD, else from stdin.
    Add {
        email: String,
        /// reviewer (decides on requests) or admin (also manages staff).
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Deactivate a staff account and end its sessions.
    Deactivate { email: String },
}

pub async fn run(app: &Application, command: StaffCommand) -> anyhow::Result<()> {
    match command {
        StaffCommand::Add { email, role } => {
            let role: Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            staff_add(&app.pool, &email, role).await
        }
        StaffCommand::Deactivate { email } => staff_deactivate(&app.pool, &email).await,
    }
}

/// `staff add`: the password comes from `DSR_STAFF_PASSWORD` or the first line of stdin.
pub async fn staff_add(pool: &PgPool, email: &str, role: Role) -> anyhow::Result<()> {
    let password = match std::env::var("DSR_STAFF_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password for the new account (one line on stdin):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let actor = format!("cli:{}", whoami());
    let staff = auth::add_staff(pool, email, role, &password, &actor).await?;
    println!("staff {} added as {}", staff.id, role.as_str());
    Ok(())
}

/// `staff deactivate`: the account can no longer sign in; its sessions end now.
pub async fn staff_deactivate(pool: &PgPool, email: &str) -> anyhow::Result<()> {
    auth::deactivate_staff(pool, email, &format!("cli:{}", whoami())).await?;
    println!("staff account deactivated");
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
}
