//! Operations: what the worker tells the machines that watch it.
//!
//! - [`metrics`] — the Prometheus registry (every name starts `dsr_`): counters and histograms
//!   the stages update as they work, and gauges read from PostgreSQL on each scrape.
//! - [`server`] — the `[ops] bind` endpoint: `GET /metrics` (Prometheus text format),
//!   `GET /healthz` (the process is alive), `GET /readyz` (PostgreSQL and RabbitMQ answer).
//!
//! No label and no span field carries personal data: outcomes, statuses, kinds, configured
//! store names and request ids only.

pub mod metrics;
pub mod server;

pub use metrics::Metrics;
pub use server::{BrokerState, Ops};
