//! From stored mail to requests, and what happens to a request.
//!
//! - [`triage`] reads each stored message once ([`crate::understand`]) and records the outcome:
//!   a new request (published to RabbitMQ through the outbox), mail left for humans, or a
//!   failure with its reason. Every worker runs it; rows are claimed with `SKIP LOCKED`.
//!   Replies to our own mail attach to their request ([`replies`]): codes, disputes, details.
//! - [`acknowledge`] and [`process`] handle the `requests` queue: one acknowledgement per
//!   request, then identity, the subject ([`subject`]: records the verified address matches),
//!   art. 8(2) obligations, and the plan; [`tasks`] run it per store.
//! - [`status`] owns the lifecycle: every status change goes through it. [`verification`]
//!   keeps the one-time codes; [`expiry`] closes what nobody answered.
//! - [`approval`] is the rule of what a staff approval covers (shared with the console).

pub mod access;
pub mod acknowledge;
pub mod approval;
pub mod deadline;
pub mod expiry;
pub mod identity;
pub mod process;
pub mod replies;
pub mod reply;
pub mod status;
pub mod subject;
pub mod tasks;
pub mod triage;
pub mod verification;
