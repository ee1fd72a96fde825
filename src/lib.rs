//! dsr-worker: data-subject requests for NLG.KZ LLP, from the info@nlg.kz mailbox to a reply.
//!
//! The data's path is visible in the module names (sources → transforms → sinks):
//!
//! - [`pipeline`] — the stages in order, one folder or file each: 1 intake (IMAP, raw mail stored
//!   first), 2 triage, 3 relay (outbox → RabbitMQ), 4 requests, 5 store actions, 6 mailer
//!   (outbox → SMTP), 7 holds, 8 expiry; and the wiring that runs them.
//! - [`understand`] — MIME to clean text, language, kind, identifiers, review flags.
//! - [`request`] — the request record, its lifecycle and timeline, deadlines, codes, subject.
//! - [`stores`] — the company's registered databases and what blocking/deleting does in each.
//! - [`queue`] — the RabbitMQ topology (durable quorum queues, delayed retries, dead letters) and
//!   the typed messages it carries.
//! - [`outbound`] — reply templates, the composed replies, and the outbox every stage writes to.
//! - [`review`] — the staff review console (web + CLI), its audit log and deadline digest.
//! - [`retention`] — what the worker's own database forgets once a request is over.
//! - [`monitoring`] — Prometheus metrics and the health/readiness endpoint (`[ops] bind`).
//! - [`cli`] — the `dsr-worker` command line, one file per command group (nothing else in the
//!   library uses it).
//!
//! PostgreSQL is the source of truth ([`db`]); RabbitMQ carries ids of work, never state. Every
//! reconnect loop waits with one [`backoff::Backoff`].

pub mod backoff;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod monitoring;
pub mod outbound;
pub mod pipeline;
pub mod queue;
pub mod redact;
pub mod request;
pub mod retention;
pub mod review;
pub mod stores;
pub mod telemetry;
pub mod understand;
