//! `dsr-worker migrate`: apply the database migrations and exit.

use super::Application;

/// Says so once `app` is built: building it applied the migrations.
pub fn run(_app: &Application) -> anyhow::Result<()> {
    println!("migrations applied");
    Ok(())
}
