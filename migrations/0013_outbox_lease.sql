-- The mailer leases the e-mails it sends instead of holding their row locks (and a database
-- connection) across the SMTP round trip: a slot claims a few due rows in one statement,
-- setting lease_until, commits, sends, then marks each row sent. A leased row is not claimable
-- until its lease expires, so two workers never send the same row; a worker that dies leaves
-- its leased rows claimable once the lease has run out (outbound::outbox::lease_emails).
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
