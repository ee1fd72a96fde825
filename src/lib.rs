//! dsr-worker: data-subject requests for NLG.KZ LLP, from the info@nlg.kz mailbox to a reply.
//!
//! The data's path is visible in the module names (sources → transforms → sinks):
//!
//! - [`intake`] — the IMAP source: fetches new mail with `BODY.PEEK[]` and stores its raw bytes first.
//! - [`understand`] — MIME to clean text, language, kind, identifiers, review flags.
//! - [`workflow`] — turns stored mail into requests (with references and deadlines) and runs them.
//! - [`queue`] — the RabbitMQ topology: durable quorum queues, delayed retries, dead letters.
//! - [`outbound`] — reply templates, the outbox, and SMTP delivery.
//! - [`review`] — the staff review console (web + CLI), its audit log and deadline digest.
//! - [`retention`] — what the worker's own database forgets once a request is over.
//! - [`monitoring`] — Prometheus metrics and the health/readiness endpoint (`[ops] bind`).
//! - [`cli`] — the `dsr-worker` command line, one file per command group (nothing else in the
//!   library uses it).
//!
//! PostgreSQL is the source of truth ([`db`]); RabbitMQ carries ids of work, never state.

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod intake;
pub mod monitoring;
pub mod outbound;
pub mod queue;
pub mod redact;
pub mod retention;
pub mod review;
pub mod stores;
pub mod telemetry;
pub mod understand;
pub mod worker;
pub mod workflow;
