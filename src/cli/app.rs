//! The application context of the database commands (like zero2prod's `startup::Application`):
//! the settings, loaded once, and the pool, connected once, that every such command runs on.

use sqlx::PgPool;

use crate::config::Settings;
use crate::db;

pub struct Application {
    pub settings: Settings,
    pub pool: PgPool,
}

impl Application {
    /// Connects and applies pending migrations: `migrate`, `retention`, `staff`, `review`,
    /// `audit`.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let app = Self::connect(settings).await?;
        db::migrate(&app.pool).await?;
        Ok(app)
    }

    /// Connects without migrating: `plan`, `tasks list` and `holds run`, which never applied
    /// migrations.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::connect(&settings.database).await?;
        Ok(Self { settings, pool })
    }
}
