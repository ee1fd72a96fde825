-- Staff decisions on the facts (issue 8): alerts to staff when a request is disputed or
-- something fails for good, and the indexes that find such events without scanning history.

-- One row per announced event; the key is what was announced: 'request:<request_events.id>',
-- 'inbound:<inbound_messages.id>' or 'email:<outbox.id>'. Claiming the key and queueing the
-- e-mails happen in one transaction, so any number of workers announce an event once.
-- No personal data; no foreign key, so purging a request's data is never blocked by it.
CREATE TABLE staff_alerts (
    key        TEXT PRIMARY KEY,
    request_id BIGINT,
    what       TEXT NOT NULL
               CHECK (what IN ('disputed', 'failed', 'inbound_failed', 'email_failed')),
    recipients INTEGER NOT NULL,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Transitions into a state staff must hear of (detail.to is written by every transition).
CREATE INDEX request_events_alerting ON request_events (id)
    WHERE detail ->> 'to' IN ('disputed', 'failed');
-- Failed items of each stage, for the dashboard's lists and the alerts.
CREATE INDEX inbound_messages_failed ON inbound_messages (id) WHERE status = 'failed';
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';
CREATE INDEX store_tasks_failed ON store_tasks (id) WHERE status = 'failed';
