//! The IMAP source: the info@nlg.kz mailbox to `inbound_messages`.
//!
//! - [`connection`] opens an authenticated session over IMAPS, STARTTLS or (loopback only) plain.
//! - [`store`] writes each message's raw bytes and sha256 to PostgreSQL, together with the UID
//!   checkpoint, before anything else looks at it; a re-fetch is a no-op.
//! - [`source`] selects the mailbox, fetches new UIDs with `BODY.PEEK[]` (nothing is marked read),
//!   waits with IDLE when offered or polls otherwise, and reconnects with backoff.
//! - [`leader`] makes sure only one worker reads the mailbox (a PostgreSQL advisory lock).

pub mod connection;
pub mod leader;
pub mod source;
pub mod store;
