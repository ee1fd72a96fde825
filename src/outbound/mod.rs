//! Everything that leaves the worker: reply templates, the outbox, SMTP delivery, queue relay.
//!
//! A reply or a queue message is first written to the `outbox` table inside the transaction
//! that decided it ([`outbox`]); [`mailer`] and [`relay`] drain it afterwards, each row claimed
//! with `FOR UPDATE SKIP LOCKED` and marked done in the same transaction as the send. So a crash
//! between commit and send neither loses nor duplicates it, and several workers never send the
//! same row twice.

pub mod mailer;
pub mod outbox;
pub mod relay;
pub mod templates;
