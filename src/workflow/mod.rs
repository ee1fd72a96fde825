//! From stored mail to requests, and what happens to a request.
//!
//! - [`triage`] reads each stored message once ([`crate::understand`]) and records the outcome:
//!   a new request (published to RabbitMQ through the outbox), mail left for humans, or a
//!   failure with its reason. Every worker runs it; rows are claimed with `SKIP LOCKED`.
//! - [`approval`] is the rule of what a staff approval covers (shared with the console).
//! - [`acknowledge`] is the handler of the `requests` queue: it writes the acknowledgement to
//!   the outbox, exactly once per request.

pub mod access;
pub mod acknowledge;
pub mod approval;
pub mod confirmation;
pub mod deadline;
pub mod identity;
pub mod process;
pub mod reply;
pub mod status;
pub mod tasks;
pub mod triage;
