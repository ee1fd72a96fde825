//! `dsr-worker run`: every stage of the pipeline in one process, until Ctrl-C or SIGTERM.
//!
//! ```text
//! intake (leader only) ─▶ triage ─▶ outbox ─relay─▶ RabbitMQ requests ─▶ acknowledge ─▶ outbox ─mailer─▶ SMTP
//! ```
//!
//! Each stage is a task that survives the failure of the service it talks to: it logs what
//! happened and retries with backoff; the database keeps whatever it had received.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::db::{self, CHANNEL_OUTBOX};
use crate::intake;
use crate::outbound::mailer::Mailer;
use crate::outbound::relay;
use crate::outbound::templates::Templates;
use crate::queue::{self, consumer, publisher::Publisher, topology::WorkQueue};
use crate::understand::{Company, Reader};
use crate::workflow::acknowledge::Acknowledger;
use crate::workflow::deadline::Calendar;
use crate::workflow::triage::Triage;

/// Which stages a process runs (`run` = all; `intake`/`process` split them across processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stages {
    pub intake: bool,
    pub processing: bool,
}

impl Stages {
    pub const ALL: Stages = Stages {
        intake: true,
        processing: true,
    };
}

/// Connects, migrates, and runs the chosen stages until `shutdown` is cancelled.
pub async fn run(
    settings: Settings,
    stages: Stages,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    db::migrate(&pool).await?;
    let templates = Arc::new(Templates::load(&settings.templates_dir)?);
    let templates_for_console = templates.clone();
    let mailer = Mailer::new(
        &settings.smtp,
        &settings.company.reply_from,
        settings.worker.outbox_max_attempts,
    )?;
    let poll = Duration::from_millis(settings.worker.outbox_poll_ms);
    let requests = WorkQueue::requests(
        &settings.rabbitmq.prefix,
        &settings.rabbitmq.retry_delays_ms,
    );

    let mut tasks = JoinSet::new();
    if stages.intake {
        tasks.spawn(intake::source::run(
            settings.imap.clone(),
            pool.clone(),
            settings.database.url.clone(),
            shutdown.clone(),
        ));
    }
    if stages.processing {
        let reader = Reader::new(Company::from_settings(&settings.company));
        let triage = Triage::new(
            pool.clone(),
            reader,
            requests.clone(),
            Calendar::new(&settings.calendar),
            settings.deadlines.clone(),
        );
        tasks.spawn(triage.run(poll, shutdown.clone()));
        tasks.spawn(mailer.run(pool.clone(), poll, shutdown.clone()));
        let acknowledger = Acknowledger::new(
            pool.clone(),
            templates,
            settings.company.clone(),
            settings.worker.clone(),
        );
        tasks.spawn(broker(
            settings.clone(),
            pool.clone(),
            requests,
            acknowledger,
            shutdown.clone(),
        ));
    }
    if stages.processing {
        spawn_console(
            &settings,
            &pool,
            templates_for_console,
            &mut tasks,
            &shutdown,
        );
    }
    tracing::info!(
        intake = stages.intake,
        processing = stages.processing,
        "worker running"
    );
    shutdown.cancelled().await;
    tracing::info!("shutting down");
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(20), drain)
        .await
        .is_err()
    {
        tracing::warn!("some stages did not stop within 20 s; aborting them");
    }
    pool.close().await;
    Ok(())
}

/// The staff review console and its daily digest (when `console.enabled`).
fn spawn_console(
    settings: &Settings,
    pool: &PgPool,
    templates: Arc<Templates>,
    tasks: &mut JoinSet<()>,
    shutdown: &CancellationToken,
) {
    if !settings.console.enabled {
        return;
    }
    let decider = crate::review::decisions::Decider::new(
        pool.clone(),
        templates.clone(),
        settings.company.clone(),
        WorkQueue::requests(
            &settings.rabbitmq.prefix,
            &settings.rabbitmq.retry_delays_ms,
        ),
        Calendar::new(&settings.calendar),
        settings.deadlines.clone(),
    );
    let console = crate::review::web::Console::new(decider, settings.console.clone());
    tasks.spawn(crate::review::web::serve(
        console,
        settings.console.bind,
        shutdown.clone(),
    ));
    let digest = crate::review::digest::Digest::new(
        pool.clone(),
        templates,
        settings.company.clone(),
        settings.console.clone(),
        Calendar::new(&settings.calendar),
    );
    tasks.spawn(digest.run(shutdown.clone()));
}

/// Only the console and the digest (`dsr-worker console`), until `shutdown`.
pub async fn run_console(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await?;
    db::migrate(&pool).await?;
    let templates = Arc::new(Templates::load(&settings.templates_dir)?);
    let mut tasks = JoinSet::new();
    let mut console = settings.clone();
    console.console.enabled = true;
    spawn_console(&console, &pool, templates, &mut tasks, &shutdown);
    shutdown.cancelled().await;
    let drain = async { while tasks.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(20), drain).await;
    pool.close().await;
    Ok(())
}

/// The RabbitMQ side: relay the outbox's publishes and consume the `requests` queue; reconnect
/// with backoff whenever the broker goes away.
async fn broker(
    settings: Settings,
    pool: PgPool,
    requests: WorkQueue,
    acknowledger: Acknowledger,
    shutdown: CancellationToken,
) {
    let poll = Duration::from_millis(settings.worker.outbox_poll_ms);
    let (min_backoff, max_backoff) = settings.imap.reconnect_backoff();
    let mut backoff = min_backoff;
    loop {
        let session = shutdown.child_token();
        let result = async {
            let connection = queue::connect(settings.rabbitmq.url.expose()).await?;
            let publisher = Publisher::open(&connection).await?;
            requests.declare(publisher.channel()).await?;
            tracing::info!("broker: connected; topology declared");
            backoff = min_backoff;
            let relay_pool = pool.clone();
            let relay = db::run_on_notify(
                "relay",
                CHANNEL_OUTBOX,
                relay_pool,
                poll,
                session.clone(),
                move |pool| {
                    let publisher = publisher.clone();
                    async move { relay::drain(&pool, &publisher, i32::MAX).await }
                },
            );
            let handler = {
                let acknowledger = acknowledger.clone();
                move |payload: Vec<u8>| {
                    let acknowledger = acknowledger.clone();
                    async move { acknowledger.handle(payload).await }
                }
            };
            let consume = consumer::consume(
                &connection,
                &requests,
                settings.rabbitmq.prefetch,
                session.clone(),
                handler,
            );
            let (consumed, ()) = tokio::join!(
                async {
                    let r = consume.await;
                    session.cancel();
                    r
                },
                relay
            );
            if consumed.is_ok() {
                connection
                    .close(200, "worker shutting down".into())
                    .await
                    .ok();
            }
            consumed
        }
        .await;
        session.cancel();
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = result {
            tracing::warn!("broker: {e:#}; reconnecting in {} ms", backoff.as_millis());
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {},
            _ = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(max_backoff);
    }
}
