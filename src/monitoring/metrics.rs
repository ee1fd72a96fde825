//! The worker's Prometheus metrics, in one registry per worker process.
//!
//! A [`Metrics`] handle is cheap to clone and is given to the stages that count something
//! (triage, the replier, the mailer, the store-task executor). [`Metrics::default`] is a handle
//! that records nothing, for code that runs outside a worker (the CLI, console decisions).
//!
//! Counters and histograms are updated where the work happens; the gauges describe the
//! database (requests by kind and status, store tasks, the outbox backlog, what waits for staff,
//! what is past its deadline) and are read from PostgreSQL on each scrape
//! ([`Metrics::refresh`]) with three grouped counts that use indexes (migrations/0012).
//!
//! Labels are closed sets written by the code (outcomes, statuses, kinds) or the names of
//! configured stores: never an address, an IIN, a phone or a name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use sqlx::{PgPool, Row};

use crate::domain::{RequestKind, RequestStatus};

/// Every store task status the database allows (migrations/0006_lifecycle.sql).
const STORE_TASK_STATUSES: [&str; 8] = [
    "pending",
    "running",
    "done",
    "skipped",
    "failed",
    "waiting_manual",
    "waiting_confirmation",
    "cancelled",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailedLabel {
    gave_up: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabel {
    store: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabel {
    kind: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Why an automatic e-mail was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    /// Over `worker.replies_per_sender_per_hour` to that address (recorded, never sent).
    RateLimit,
    /// The understanding said not to write to this sender (a no-reply address, machine mail).
    NoReply,
}

impl Suppressed {
    fn label(self) -> &'static str {
        match self {
            Suppressed::RateLimit => "rate_limit",
            Suppressed::NoReply => "no_reply",
        }
    }
}

struct Inner {
    registry: Registry,
    triaged: Family<OutcomeLabel, Counter>,
    emails_sent: Counter,
    emails_failed: Family<FailedLabel, Counter>,
    emails_suppressed: Family<ReasonLabel, Counter>,
    ack_latency: Histogram,
    smtp_send: Histogram,
    store_action: HistogramFamily<StoreLabel>,
    requests: Family<RequestLabel, Gauge>,
    store_tasks: Family<StatusLabel, Gauge>,
    outbox_backlog: Family<ChannelLabel, Gauge>,
    awaiting_staff: Gauge,
    overdue: Gauge,
    gauges_ok: Gauge,
    gauges_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Inner {
    /// Empties the database gauges, then puts every known kind, status and channel back at 0,
    /// so series do not come and go.
    fn clear(&self) {
        self.requests.clear();
        for kind in RequestKind::ALL {
            for status in RequestStatus::ALL {
                self.requests
                    .get_or_create(&RequestLabel {
                        kind: kind.as_str().to_owned(),
                        status: status.as_str().to_owned(),
                    })
                    .set(0);
            }
        }
        self.store_tasks.clear();
        for status in STORE_TASK_STATUSES {
            self.store_tasks
                .get_or_create(&StatusLabel {
                    status: status.to_owned(),
                })
                .set(0);
        }
        self.outbox_backlog.clear();
        for channel in ["email", "publish"] {
            self.outbox_backlog
                .get_or_create(&ChannelLabel {
                    channel: channel.to_owned(),
                })
                .set(0);
        }
    }
}

/// A handle on the worker's metrics (see the module documentation).
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Inner>>);

fn seconds_histogram() -> Histogram {
    // 5 ms … ~82 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

impl Metrics {
    /// A fresh registry with every metric registered (one per worker process).
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dsr");
        let triaged = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "messages_triaged",
            "Stored messages triaged, by outcome (request, reply, folded, duplicate, ignored, retry, failed)",
            triaged.clone(),
        );
        let emails_sent = Counter::default();
        registry.register(
            "emails_sent",
            "E-mails the SMTP server accepted",
            emails_sent.clone(),
        );
        let emails_failed = Family::<FailedLabel, Counter>::default();
        registry.register(
            "emails_failed",
            "Failed SMTP attempts; gave_up=true when the e-mail is marked failed for staff (worker.outbox_max_attempts)",
            emails_failed.clone(),
        );
        let emails_suppressed = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "emails_suppressed",
            "Automatic e-mails decided against: rate_limit (per-recipient hourly limit), no_reply (the sender is not written to)",
            emails_suppressed.clone(),
        );
        // 0.5 s … ~11 h.
        let ack_latency = Histogram::new(exponential_buckets(0.5, 2.0, 17));
        registry.register(
            "ack_latency_seconds",
            "From intake storing a request's message (inbound_messages.received_at) to the SMTP server accepting its acknowledgement",
            ack_latency.clone(),
        );
        let smtp_send = seconds_histogram();
        registry.register(
            "smtp_send_seconds",
            "Sending one e-mail on an open SMTP connection (MAIL FROM to the answer after DATA)",
            smtp_send.clone(),
        );
        let store_action: HistogramFamily<StoreLabel> =
            Family::new_with_constructor(seconds_histogram);
        registry.register(
            "store_action_seconds",
            "One store task's action on a registered store (its SQL statements, our receipts and the store's commit, or the webhook call), by store and outcome",
            store_action.clone(),
        );
        let requests = Family::<RequestLabel, Gauge>::default();
        registry.register(
            "requests",
            "Requests in the database, by kind and status",
            requests.clone(),
        );
        let store_tasks = Family::<StatusLabel, Gauge>::default();
        registry.register(
            "store_tasks",
            "Store tasks in the database, by status",
            store_tasks.clone(),
        );
        let outbox_backlog = Family::<ChannelLabel, Gauge>::default();
        registry.register(
            "outbox_backlog",
            "Outbox rows still pending (e-mails to send, messages to publish), by channel",
            outbox_backlog.clone(),
        );
        let awaiting_staff = Gauge::default();
        registry.register(
            "requests_awaiting_staff",
            "Open requests waiting for a staff decision (needs_review, disputed, failed)",
            awaiting_staff.clone(),
        );
        let overdue = Gauge::default();
        registry.register(
            "requests_overdue",
            "Open requests past their statutory deadline (requests.due_at)",
            overdue.clone(),
        );
        let gauges_ok = Gauge::default();
        registry.register(
            "gauges_refresh_ok",
            "1 when the database gauges were read on this scrape, 0 when they keep older values",
            gauges_ok.clone(),
        );
        let gauges_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "gauges_refresh_seconds",
            "How long reading the database gauges took on the last scrape",
            gauges_seconds.clone(),
        );
        registry.register(
            "build",
            "The worker's version",
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        let inner = Inner {
            registry,
            triaged,
            emails_sent,
            emails_failed,
            emails_suppressed,
            ack_latency,
            smtp_send,
            store_action,
            requests,
            store_tasks,
            outbox_backlog,
            awaiting_staff,
            overdue,
            gauges_ok,
            gauges_seconds,
        };
        inner.clear();
        Self(Some(Arc::new(inner)))
    }

    /// Whether this handle records anything.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    /// One stored message triaged (`outcome`: request, reply, folded, duplicate, ignored,
    /// retry, failed).
    pub fn triaged(&self, outcome: &'static str) {
        if let Some(m) = &self.0 {
            m.triaged.get_or_create(&OutcomeLabel { outcome }).inc();
        }
    }

    pub fn email_sent(&self) {
        if let Some(m) = &self.0 {
            m.emails_sent.inc();
        }
    }

    /// A failed SMTP attempt; `gave_up` when the e-mail will not be tried again.
    pub fn email_failed(&self, gave_up: bool) {
        if let Some(m) = &self.0 {
            let gave_up = if gave_up { "true" } else { "false" };
            m.emails_failed
                .get_or_create(&FailedLabel { gave_up })
                .inc();
        }
    }

    /// An automatic e-mail decided against. Counted where it is decided, inside the
    /// caller's transaction: one that rolls back and is retried counts it again.
    pub fn email_suppressed(&self, why: Suppressed) {
        if let Some(m) = &self.0 {
            m.emails_suppressed
                .get_or_create(&ReasonLabel {
                    reason: why.label(),
                })
                .inc();
        }
    }

    pub fn ack_latency(&self, latency: Duration) {
        if let Some(m) = &self.0 {
            m.ack_latency.observe(latency.as_secs_f64());
        }
    }

    pub fn smtp_send(&self, took: Duration) {
        if let Some(m) = &self.0 {
            m.smtp_send.observe(took.as_secs_f64());
        }
    }

    /// One store action on the store named `store` (a configured name, never personal data).
    pub fn store_action(&self, store: &str, ok: bool, took: Duration) {
        if let Some(m) = &self.0 {
            m.store_action
                .get_or_create(&StoreLabel {
                    store: store.to_owned(),
                    outcome: if ok { "ok" } else { "error" },
                })
                .observe(took.as_secs_f64());
        }
    }

    /// Reads the database gauges, each query bounded by `timeout`. On an error the gauges keep
    /// their last values and `dsr_gauges_refresh_ok` says 0. Callers serialise refreshes with
    /// encoding (the families are cleared and refilled).
    pub async fn refresh(&self, pool: &PgPool, timeout: Duration) -> anyhow::Result<()> {
        let Some(m) = &self.0 else {
            return Ok(());
        };
        let started = Instant::now();
        let read = tokio::time::timeout(timeout, read_gauges(pool)).await;
        m.gauges_seconds.set(started.elapsed().as_secs_f64());
        let gauges = match read {
            Ok(Ok(gauges)) => gauges,
            Ok(Err(e)) => {
                m.gauges_ok.set(0);
                return Err(e.into());
            }
            Err(_) => {
                m.gauges_ok.set(0);
                anyhow::bail!("no answer within {} ms", timeout.as_millis());
            }
        };
        m.gauges_ok.set(1);
        m.clear();
        let (mut awaiting, mut overdue) = (0, 0);
        for (kind, status, count, late) in gauges.requests {
            let parsed = status.parse::<RequestStatus>().ok();
            if parsed.is_some_and(RequestStatus::awaits_staff) {
                awaiting += count;
            }
            if !parsed.is_some_and(RequestStatus::is_final) {
                overdue += late;
            }
            m.requests
                .get_or_create(&RequestLabel { kind, status })
                .set(count);
        }
        m.awaiting_staff.set(awaiting);
        m.overdue.set(overdue);
        for (status, count) in gauges.store_tasks {
            m.store_tasks
                .get_or_create(&StatusLabel { status })
                .set(count);
        }
        for (channel, count) in gauges.outbox {
            m.outbox_backlog
                .get_or_create(&ChannelLabel { channel })
                .set(count);
        }
        Ok(())
    }

    /// Everything in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Some(m) = &self.0 {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &m.registry)
                .expect("writing to a String cannot fail");
        }
        out
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

struct Gauges {
    /// kind, status, count, of which past due_at.
    requests: Vec<(String, String, i64, i64)>,
    store_tasks: Vec<(String, i64)>,
    outbox: Vec<(String, i64)>,
}

async fn read_gauges(pool: &PgPool) -> sqlx::Result<Gauges> {
    let mut conn = pool.acquire().await?;
    // Index-only scans: requests_kind_status (0012), store_tasks_status (0012), outbox_due.
    let requests = sqlx::query(
        "SELECT kind, status, count(*) AS n, count(*) FILTER (WHERE due_at < now()) AS late
         FROM requests GROUP BY kind, status",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            r.try_get("kind")?,
            r.try_get("status")?,
            r.try_get("n")?,
            r.try_get("late")?,
        ))
    })
    .collect::<sqlx::Result<_>>()?;
    let store_tasks = sqlx::query("SELECT status, count(*) AS n FROM store_tasks GROUP BY status")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect::<sqlx::Result<_>>()?;
    let outbox = sqlx::query(
        "SELECT channel, count(*) AS n FROM outbox WHERE status = 'pending' GROUP BY channel",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get("channel")?, r.try_get("n")?)))
    .collect::<sqlx::Result<_>>()?;
    Ok(Gauges {
        requests,
        store_tasks,
        outbox,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_a_disabled_handle_records_nothing() {
        let m = Metrics::new();
        m.triaged("request");
        m.email_sent();
        m.email_failed(false);
        m.email_suppressed(Suppressed::RateLimit);
        m.smtp_send(Duration::from_millis(12));
        m.store_action("crm", true, Duration::from_millis(30));
        let text = m.encode();
        for line in [
            "dsr_messages_triaged_total{outcome=\"request\"} 1",
            "dsr_emails_sent_total 1",
            "dsr_emails_failed_total{gave_up=\"false\"} 1",
            "dsr_emails_suppressed_total{reason=\"rate_limit\"} 1",
            "dsr_smtp_send_seconds_count 1",
            "dsr_store_action_seconds_count{store=\"crm\",outcome=\"ok\"} 1",
            "# TYPE dsr_ack_latency_seconds histogram",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        for name in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(name.starts_with("dsr_"), "{name}");
        }
        // The shipped Grafana dashboard asks only for names this registry has.
        let dashboard = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana-dashboard.json"),
        )
        .unwrap();
        let names = regex::Regex::new(r"dsr_[a-z_]+").unwrap();
        let mut asked = 0;
        for name in names.find_iter(&dashboard).map(|m| m.as_str()) {
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "the dashboard asks for {name}"
            );
            asked += 1;
        }
        assert!(asked > 10);
        let off = Metrics::default();
        off.email_sent();
        assert!(!off.enabled());
        assert_eq!(off.encode(), "");
    }
}
