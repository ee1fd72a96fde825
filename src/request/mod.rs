//! The request as a record: what every stage and the staff console share about it. A library
//! (it runs no loop and handles no queue); the stages in [`crate::pipeline`] and the decisions in
//! [`crate::review`] use it.
//!
//! - [`row`] loads and locks a request ([`RequestRow`]).
//! - [`lifecycle`] is the only writer of a request's status and timeline.
//! - [`deadline`] is the working-day calendar of Kazakhstan and each kind's statutory deadline.
//! - [`verification`] keeps the one-time codes that prove an address.
//! - [`subject`] looks the subject up in the registered stores and records what matched.
//! - [`approval`] is the rule of what a staff approval covers.

pub mod approval;
pub mod deadline;
pub mod lifecycle;
pub mod row;
pub mod subject;
pub mod verification;

pub use row::RequestRow;
