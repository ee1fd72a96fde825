//! The wiring: every stage of [`crate::pipeline`] in one process (`dsr-worker run`), or the
//! stages split across processes (`intake`, `process`), until Ctrl-C or SIGTERM. Nothing here
//! decides anything about a request; it builds each stage once, connects it to PostgreSQL,
//! RabbitMQ, IMAP and SMTP, and restarts what a lost connection stopped.
//!
//! Each stage is a task that survives the failure of the service it talks to: it logs what
//! happened and retries with backoff; the database keeps whatever it had received. The staff
//! console ([`run_console`]) is started here too when enabled, beside the stages.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::db::{self, CHANNEL_PUBLISH};
use crate::monitoring::{self, BrokerState, Metrics, Ops};
use crate::outbound::owner::LeaseName;
use crate::outbound::reply::Replier;
use crate::outbound::templates::Templates;
use crate::pipeline::mailer::Mailer;
use crate::pipeline::requests::acknowledge::Acknowledger;
use crate::pipeline::requests::Processor;
use crate::pipeline::store_actions::Executor;
use crate::pipeline::triage::Triage;
use crate::pipeline::{expiry, holds, intake, relay};
use crate::queue::{self, consumer, publisher::Publisher, topology::WorkQueue};
use crate::request::deadline::{almaty, Calendar};
use crate::stores::Registry;
use crate::understand::{Company, Reader, StatisticalReader};

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

/// The two work queues of a deployment.
pub fn queues(settings: &Settings) -> (WorkQueue, WorkQueue) {
    let (prefix, delays) = (
        &settings.rabbitmq.prefix,
        &settings.rabbitmq.retry_delays_ms,
    );
    (
        WorkQueue::requests(prefix, delays),
        WorkQueue::store_actions(prefix, delays),
    )
}

/// Connects, migrates, and runs the chosen stages until `shutdown` is cancelled.
pub async fn run(
    settings: Settings,
    stages: Stages,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // A process that sends and publishes leases outbox rows under a name of its own, taken
    // before its pool connects (the connections carry it).
    let lease_name = if stages.processing {
        LeaseName::take(&settings.database.url)
            .await
            .context("taking a lease name (a session advisory lock in PostgreSQL)")?
    } else {
        None
    };
    let pool = db::connect_as(&settings.database, lease_name.as_ref().map(LeaseName::name)).await?;
    db::migrate(&pool).await?;
    match &lease_name {
        Some(name) => {
            let released = name.release_orphans(&pool).await?;
            tracing::info!(
                lease_name = name.name(),
                released,
                "worker: leasing outbox rows as {}; gave back {released} rows a dead worker of \
                 that name had leased",
                name.name()
            );
        }
        None if stages.processing => tracing::warn!(
            "worker: no lease name free on this host; a crash leaves this worker's leases to run out"
        ),
        None => {}
    }
    // Bound before anything starts, so a wrong ops.bind stops the worker here.
    let ops_listener = match settings.ops.bind_addr() {
        Some(addr) => Some(monitoring::server::bind(addr).await?),
        None => None,
    };
    let metrics = Metrics::new();
    let broker_state = BrokerState::default();
    let templates = Arc::new(Templates::load(&settings.templates_dir)?);
    let templates_for_console = templates.clone();
    let mailer = Mailer::new(
        &settings.smtp,
        &settings.company.reply_from,
        settings.worker.outbox_max_attempts,
    )?
    .with_metrics(metrics.clone());
    let poll = Duration::from_millis(settings.worker.outbox_poll_ms);
    let (requests, store_actions) = queues(&settings);
    let registry = Arc::new(Registry::new(&settings.stores)?);
    let replier = Replier::new(templates, settings.company.clone())
        .with_limit(settings.worker.replies_per_sender_per_hour)
        .with_metrics(metrics.clone());

    let mut tasks = JoinSet::new();
    // Held by `run` itself until every stage has stopped (below): a worker started while this
    // one drains must not take the name and give back e-mails still in flight here.
    let lease_name = lease_name.map(|name| Arc::new(tokio::sync::Mutex::new(name)));
    if let Some(name) = &lease_name {
        tasks.spawn(keep_lease_name(name.clone(), shutdown.clone()));
    }
    if let Some(listener) = ops_listener {
        let ops = Ops::new(
            metrics.clone(),
            pool.clone(),
            stages.processing.then(|| broker_state.clone()),
            Duration::from_millis(settings.ops.probe_timeout_ms),
        );
        tasks.spawn(monitoring::server::serve(ops, listener, shutdown.clone()));
    }
    if stages.intake {
        tasks.spawn(intake::source::run(
            settings.imap.clone(),
            pool.clone(),
            settings.database.url.clone(),
            shutdown.clone(),
        ));
    }
    if stages.processing {
        // The configured cue vocabulary, for the reader and for every later reading of replies.
        let vocabulary = Arc::new(
            settings
                .understand
                .vocabulary()
                .context("loading the cue vocabulary (understand.vocabulary_dir)")?,
        );
        crate::understand::vocabulary::install(vocabulary.clone());
        let mut reader =
            Reader::new(Company::from_settings(&settings.company)).with_vocabulary(vocabulary);
        if let Some(path) = &settings.understand.model {
            reader = reader.with_statistical(StatisticalReader::load(path)?);
        }
        let triage = Triage::new(
            pool.clone(),
            reader,
            requests.clone(),
            replier.clone(),
            Calendar::new(&settings.calendar),
            settings.deadlines.clone(),
        )
        .with_metrics(metrics.clone());
        tasks.spawn(triage.run(poll, settings.worker.triage_concurrency, shutdown.clone()));
        tasks.spawn(expiry::run(
            pool.clone(),
            replier.clone(),
            poll,
            shutdown.clone(),
        ));
        tasks.spawn(mailer.run(
            pool.clone(),
            poll,
            settings.worker.mailer_concurrency,
            shutdown.clone(),
        ));
        let processor = Processor {
            pool: pool.clone(),
            registry: registry.clone(),
            replier: replier.clone(),
            identity: settings.identity.clone(),
            acknowledger: Acknowledger::new(pool.clone(), replier.clone()),
            store_actions: store_actions.clone(),
        };
        let hash_key = settings.hash_key()?;
        let executor = Executor {
            pool: pool.clone(),
            registry: registry.clone(),
            replier,
            hash_key: hash_key.clone(),
            metrics: metrics.clone(),
        };
        tasks.spawn(broker(
            settings.clone(),
            pool.clone(),
            (requests, store_actions),
            (processor, executor),
            broker_state.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(holds(pool.clone(), registry, shutdown.clone()));
        tasks.spawn(
            crate::retention::Retention::new(
                pool.clone(),
                settings.retention.clone(),
                &hash_key,
                &settings.company,
            )
            .run(shutdown.clone()),
        );
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
    drop(tasks);
    pool.close().await;
    // Only now, with no stage left that could be sending, may another worker take the name.
    drop(lease_name);
    Ok(())
}

/// Checks the lease name's lock until `shutdown`. If its lock's connection is lost, another
/// process may take the name and give this one's leases back (an e-mail in flight here could
/// then be sent twice, with one Message-ID): said loudly, and the name is taken again when free.
async fn keep_lease_name(name: Arc<tokio::sync::Mutex<LeaseName>>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {},
            _ = shutdown.cancelled() => return,
        }
        let mut name = name.lock().await;
        if let Err(e) = name.check().await {
            tracing::error!(
                lease_name = name.name(),
                "worker: {e:#}; taking the name again"
            );
            if let Err(e) = name.retake().await {
                tracing::error!(lease_name = name.name(), "worker: {e:#}");
            }
        }
    }
}

/// Destroys held rows whose retention duty has ended, once an hour.
async fn holds(pool: PgPool, registry: Arc<Registry>, shutdown: CancellationToken) {
    loop {
        let today = chrono::Utc::now().with_timezone(&almaty()).date_naive();
        match holds::destroy_due_holds(&pool, &registry, today).await {
            Ok(run) if run.failed > 0 => tracing::warn!(
                destroyed = run.destroyed,
                skipped = run.skipped,
                failed = run.failed,
                "holds: some holds could not be ended; they stay due for the next run"
            ),
            Ok(run) if run.destroyed + run.skipped > 0 => tracing::info!(
                destroyed = run.destroyed,
                skipped = run.skipped,
                "holds: ended the holds whose retention is over"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("holds: {e:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {},
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The RabbitMQ side: relay the outbox's publishes and consume the `requests` and
/// `store-actions` queues; reconnect with backoff whenever the broker goes away.
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
    let decider =
        crate::review::decisions::Decider::from_settings(settings, pool.clone(), templates.clone());
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
    (requests, store_actions): (WorkQueue, WorkQueue),
    (processor, executor): (Processor, Executor),
    state: BrokerState,
    shutdown: CancellationToken,
) {
    let poll = Duration::from_millis(settings.worker.outbox_poll_ms);
    let prefetch = settings.rabbitmq.prefetch;
    let mut backoff = settings.imap.reconnect_backoff();
    loop {
        let session = shutdown.child_token();
        let result = async {
            let connection = queue::connect(settings.rabbitmq.url.expose()).await?;
            let publisher = Publisher::open(&connection).await?;
            requests.declare(publisher.channel()).await?;
            store_actions.declare(publisher.channel()).await?;
            tracing::info!("broker: connected; topology declared");
            state.connected(connection.status());
            backoff.reset();
            let relay = db::run_on_notify(
                "relay",
                CHANNEL_PUBLISH,
                pool.clone(),
                poll,
                session.clone(),
                move |pool| {
                    let publisher = publisher.clone();
                    async move { relay::drain(&pool, &publisher, i32::MAX).await }
                },
            );
            let on_request = {
                let processor = processor.clone();
                move |payload: Vec<u8>| {
                    let processor = processor.clone();
                    async move { processor.handle(payload).await }
                }
            };
            let on_task = {
                let executor = executor.clone();
                move |payload: Vec<u8>| {
                    let executor = executor.clone();
                    async move { executor.handle(payload).await }
                }
            };
            let on_dead_request = {
                let processor = processor.clone();
                move |payload: Vec<u8>, error: String| {
                    let processor = processor.clone();
                    async move { processor.dead_lettered(payload, error).await }
                }
            };
            let consumers = async {
                let r = tokio::try_join!(
                    consumer::consume_with_dead_letters(
                        &connection,
                        &requests,
                        prefetch,
                        session.clone(),
                        on_request,
                        on_dead_request
                    ),
                    consumer::consume(
                        &connection,
                        &store_actions,
                        prefetch,
                        session.clone(),
                        on_task
                    ),
                );
                session.cancel();
                r.map(|_| ())
            };
            let (consumed, ()) = tokio::join!(consumers, relay);
            if consumed.is_ok() {
                connection
                    .close(200, "worker shutting down".into())
                    .await
                    .ok();
            }
            consumed
        }
        .await;
        state.disconnected();
        session.cancel();
        if shutdown.is_cancelled() {
            return;
        }
        let wait = backoff.next_wait();
        if let Err(e) = result {
            tracing::warn!("broker: {e:#}; reconnecting in {} ms", wait.as_millis());
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = shutdown.cancelled() => return,
        }
    }
}
