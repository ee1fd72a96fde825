-- Indexes for the per-message hot paths under load.

-- The per-recipient limit on automatic mail counts the last hour's e-mails to one address,
-- compared lower-cased: without this every automatic e-mail scanned the outbox.
CREATE INDEX outbox_email_recipient_lower ON outbox (lower(payload ->> 'to'), created_at)
    WHERE channel = 'email';

-- The mailer claims acknowledgements first, then the rest in order.
CREATE INDEX outbox_email_due ON outbox ((dedupe_key NOT LIKE 'ack:%'), id)
    WHERE channel = 'email' AND status = 'pending';
