//! The pipeline: the stages a message passes through, in order (the folder and file names carry
//! the numbers). Each stage owns its loop or its queue handler; [`wiring`] starts them in one
//! process (`dsr-worker run`) or splits them across processes (`intake`, `process`).
//!
//! ```text
//! 1 intake ─▶ 2 triage ─▶ outbox ─3 relay─▶ RabbitMQ `requests` ─▶ 4 requests ─▶ outbox ─3 relay─▶
//!   (IMAP, raw mail      (understand,                     (acknowledge, identity,
//!    stored first)        new request or reply)            subject, plan, access report)
//!
//!   ─▶ RabbitMQ `store-actions` ─▶ 5 store actions ─▶ outbox ─6 mailer─▶ SMTP
//!                                  (block, delete, export,  (acknowledgements, codes,
//!                                   forward, per store)      receipts, reports)
//!
//! 7 holds   hourly: destroys held rows whose retention duty has ended.
//! 8 expiry  closes what nobody answered (codes, questions) after its time.
//! ```
//!
//! The stages share libraries that run no loop of their own: [`crate::understand`] (reading
//! mail), [`crate::request`] (the request record, lifecycle, deadlines, codes),
//! [`crate::stores`] (the registered databases), [`crate::queue`] (topology and typed messages),
//! [`crate::outbound`] (templates, replies, the outbox) and [`crate::domain`].

#[path = "1_intake/mod.rs"]
pub mod intake;

#[path = "2_triage/mod.rs"]
pub mod triage;

#[path = "3_relay.rs"]
pub mod relay;

#[path = "4_requests/mod.rs"]
pub mod requests;

#[path = "5_store_actions.rs"]
pub mod store_actions;

#[path = "6_mailer.rs"]
pub mod mailer;

#[path = "7_holds.rs"]
pub mod holds;

#[path = "8_expiry.rs"]
pub mod expiry;

pub mod wiring;

pub use wiring::{queues, run, Stages};
