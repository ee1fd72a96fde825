//! The worker's own PostgreSQL database: connection pool, migrations, and change notifications.
//!
//! Stages wake each other with `NOTIFY` on the channels below, sent by the rows themselves
//! (triggers of migration 0015, so it is delivered only on commit and costs the writer no round
//! trip); every loop also polls, so a lost notification only delays work.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::DatabaseSettings;

/// New raw mail is stored and waits to be understood.
pub const CHANNEL_INBOUND: &str = "dsr_inbound";
/// The outbox has an e-mail to send (the mailer listens).
pub const CHANNEL_EMAIL: &str = "dsr_outbox_email";
/// The outbox has a message to publish to RabbitMQ (the relay listens).
pub const CHANNEL_PUBLISH: &str = "dsr_outbox_publish";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A transaction that commits without waiting for its WAL to reach the disk
/// (`SET LOCAL synchronous_commit = off`). For triage only: its effects stay in this database
/// and are handed on only through the outbox, and nothing leaves the database before a
/// *synchronous* commit — the mailer's and the relay's lease of the outbox row, before an SMTP
/// send or a broker publish — which makes every earlier commit durable too (the WAL is flushed
/// in order). A crash of the worker loses nothing (PostgreSQL still flushes within
/// `wal_writer_delay`); a crash of PostgreSQL itself can lose the last triage commits, and
/// with them the messages' own `triaged` mark, so they are triaged again from the raw mail
/// (intake's commit is synchronous), with nothing sent for them meanwhile. (Request
/// processing commits synchronously: the broker's message is acknowledged after it, and
/// nothing would carry a request on whose processing PostgreSQL lost.)
///
/// `BEGIN` and the `SET LOCAL` go in one simple query: one round trip, as a plain `begin`.
pub async fn begin_relaxed(
    pool: &PgPool,
) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin_with("BEGIN; SET LOCAL synchronous_commit = off")
        .await
}

pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    connect_as(settings, None).await
}

/// [`connect`], every connection carrying `application_name` (a worker's lease name, which
/// its outbox leases record: [`crate::outbound::owner`]).
pub async fn connect_as(
    settings: &DatabaseSettings,
    application_name: Option<&str>,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = settings
        .url
        .expose()
        .parse::<PgConnectOptions>()
        .map_err(|e| anyhow::anyhow!("database.url is not a valid PostgreSQL URL: {e}"))?;
    let options = options.disable_statement_logging();
    let options = match application_name {
        Some(name) => options.application_name(name),
        None => options,
    };
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

/// Text made safe to store: PostgreSQL rejects NUL in `text` and `jsonb`, and other C0 control
/// characters (but tab and line breaks) have no business in a header or a reason either; at
/// most `max_chars` characters. Borrowed when nothing had to change.
pub fn clean_text(s: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    let too_long = s.len() > max_chars && s.chars().nth(max_chars).is_some();
    if !too_long && !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| if bad(c) { '\u{FFFD}' } else { c })
            .take(max_chars)
            .collect(),
    )
}

/// [`clean_text`] on every string (keys too) of a JSON value, each at most `max_chars`.
pub fn clean_json(value: &mut serde_json::Value, max_chars: usize) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = clean_text(s, max_chars) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| clean_json(v, max_chars)),
        Value::Object(map) => {
            let dirty = map.keys().any(|k| clean_text(k, max_chars) != k.as_str());
            if dirty {
                let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (k, v) in entries {
                    map.insert(clean_text(&k, max_chars).into_owned(), v);
                }
            }
            map.values_mut().for_each(|v| clean_json(v, max_chars));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_loses_nul_and_control_characters_and_length() {
        assert!(matches!(
            clean_text("plain\ttext\n", 100),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(clean_text("a\0b\x07c", 100), "a\u{FFFD}b\u{FFFD}c");
        assert_eq!(clean_text("абвгд", 3), "абв");
        let mut v = serde_json::json!({ "k\0": ["x\0y", { "z": "\u{1}" }], "n": 1 });
        clean_json(&mut v, 100);
        assert_eq!(
            v,
            serde_json::json!({ "k\u{FFFD}": ["x\u{FFFD}y", { "z": "\u{FFFD}" }], "n": 1 })
        );
    }
}
