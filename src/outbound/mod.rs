//! What the worker says and sends: reply templates ([`templates`]), the replies composed from
//! them for a request ([`reply`]), the typed key each is written under once ([`dedupe`]), the outbox ([`outbox`]) every stage writes to inside the
//! transaction that decided it. The pipeline's relay and mailer stages drain the outbox
//! afterwards, so a crash between commit and send neither loses nor duplicates a row, and
//! several workers never send the same row twice; [`owner`] names who holds a lease, so a
//! restarted worker takes its dead predecessor's leases back at once.

pub mod dedupe;
pub mod outbox;
pub mod owner;
pub mod reply;
pub mod templates;
