//! The operations endpoint (`[ops] bind`): `/metrics`, `/healthz`, `/readyz`.
//!
//! - `GET /healthz` — 200 `ok` while the process runs and its runtime answers.
//! - `GET /readyz` — 200 `ready` while PostgreSQL answers `SELECT 1` and, in a process that runs
//!   the processing stages, the worker's own RabbitMQ connection is up; otherwise 503 with one
//!   line per dependency that is down (`postgresql: ...`, `rabbitmq: ...`). Each probe is bounded
//!   by `ops.probe_timeout_ms`. The broker is judged by the connection the worker consumes on
//!   ([`BrokerState`]): no extra connection per probe, and it is exactly what the worker can use.
//! - `GET /metrics` — the registry of [`Metrics`] in the Prometheus text format, after reading
//!   the database gauges (serialised: two scrapes at once do not interleave).
//!
//! Nothing here is authenticated: bind it to loopback or a private interface.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::metrics::{Metrics, CONTENT_TYPE};

/// Whether the worker's broker connection is up: set by the broker stage when its topology is
/// declared, cleared when the session ends; between the two it follows lapin's own status of
/// that connection.
#[derive(Clone, Default)]
pub struct BrokerState(Arc<Mutex<Option<lapin::ConnectionStatus>>>);

impl BrokerState {
    pub fn connected(&self, status: &lapin::ConnectionStatus) {
        *self.0.lock().expect("broker state lock") = Some(status.clone());
    }

    pub fn disconnected(&self) {
        *self.0.lock().expect("broker state lock") = None;
    }

    pub fn is_up(&self) -> bool {
        self.0
            .lock()
            .expect("broker state lock")
            .as_ref()
            .is_some_and(|s| s.connected())
    }
}

/// What the endpoint looks at.
#[derive(Clone)]
pub struct Ops {
    pub metrics: Metrics,
    pub pool: PgPool,
    /// `None` when this process does not use the broker (intake only).
    pub broker: Option<BrokerState>,
    pub probe_timeout: Duration,
    scrape: Arc<tokio::sync::Mutex<()>>,
}

impl Ops {
    pub fn new(
        metrics: Metrics,
        pool: PgPool,
        broker: Option<BrokerState>,
        probe_timeout: Duration,
    ) -> Self {
        Self {
            metrics,
            pool,
            broker,
            probe_timeout,
            scrape: Arc::default(),
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(self)
    }

    /// What is down, one short line each; empty when ready.
    pub async fn not_ready(&self) -> Vec<String> {
        let mut down = vec![];
        let ping = tokio::time::timeout(
            self.probe_timeout,
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool),
        )
        .await;
        match ping {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => down.push(format!("postgresql: {}", short(&e.to_string()))),
            Err(_) => down.push(format!(
                "postgresql: no answer within {} ms",
                self.probe_timeout.as_millis()
            )),
        }
        if let Some(broker) = &self.broker {
            if !broker.is_up() {
                down.push("rabbitmq: not connected".to_owned());
            }
        }
        down
    }
}

/// A driver's error, cut short and without anything that looks personal.
fn short(error: &str) -> String {
    let text = crate::redact::text(error);
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.into_owned(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let down = ops.not_ready().await;
    if down.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        let mut body = down.join("\n");
        body.push('\n');
        (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
    }
}

async fn metrics(State(ops): State<Ops>) -> Response {
    let _one_at_a_time = ops.scrape.lock().await;
    if let Err(e) = ops.metrics.refresh(&ops.pool, ops.probe_timeout).await {
        tracing::warn!("ops: database gauges not refreshed: {e:#}");
    }
    let body = ops.metrics.encode();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

/// Binds the endpoint's address now, so a wrong `ops.bind` stops the worker at start.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("ops.bind: cannot listen on {addr}: {e}"))
}

/// Serves until `shutdown`, then lets in-flight answers finish.
pub async fn serve(ops: Ops, listener: TcpListener, shutdown: CancellationToken) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("ops: serving /metrics, /healthz, /readyz on http://{addr}/");
    }
    if let Err(e) = axum::serve(listener, ops.router())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::warn!("ops: server stopped: {e}");
    }
}
