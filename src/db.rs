//! The worker's own PostgreSQL database: connection pool, migrations, and change notifications.
//!
//! Stages wake each other with `NOTIFY` on the channels below (sent inside the transaction that
//! made the work, so it is delivered only on commit); every loop also polls, so a lost
//! notification only delays work.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::DatabaseSettings;

/// New raw mail is stored and waits to be understood.
pub const CHANNEL_INBOUND: &str = "dsr_inbound";
/// The outbox has something to send or publish.
pub const CHANNEL_OUTBOX: &str = "dsr_outbox";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = settings
        .url
        .expose()
        .parse::<PgConnectOptions>()
        .map_err(|e| anyhow::anyhow!("database.url is not a valid PostgreSQL URL: {e}"))?;
    let options = options.disable_statement_logging();
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to PostgreSQL at {}:{} (database.url): {e}",
                options.get_host(),
                options.get_port()
            )
        })?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| anyhow::anyhow!("applying migrations failed: {e}"))
}

/// `NOTIFY channel` inside the caller's transaction.
pub async fn notify(conn: &mut sqlx::PgConnection, channel: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await?;
    Ok(())
}

/// Calls `drain` after each notification on `channel`, and at least every `poll`, until
/// `shutdown`. A broken listener is reconnected; meanwhile the loop polls.
pub async fn run_on_notify<F, Fut>(
    name: &'static str,
    channel: &'static str,
    pool: PgPool,
    poll: Duration,
    shutdown: CancellationToken,
    drain: F,
) where
    F: Fn(PgPool) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut listener = None;
    loop {
        if listener.is_none() {
            match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut l) => match l.listen(channel).await {
                    Ok(()) => listener = Some(l),
                    Err(e) => tracing::warn!("{name}: LISTEN failed, polling instead: {e}"),
                },
                Err(e) => tracing::warn!("{name}: LISTEN connection failed, polling: {e}"),
            }
        }
        if let Err(e) = drain(pool.clone()).await {
            tracing::warn!("{name}: {e:#}");
        }
        let wait = async {
            match listener.as_mut() {
                Some(l) => match tokio::time::timeout(poll, l.recv()).await {
                    Ok(Err(_)) => true, // listener broken: reconnect
                    _ => false,
                },
                None => {
                    tokio::time::sleep(poll).await;
                    false
                }
            }
        };
        tokio::select! {
            broken = wait => if broken { listener = None; },
            _ = shutdown.cancelled() => return,
        }
    }
}
