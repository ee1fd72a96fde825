-- The spine of the worker: raw mail, requests, an outbox for everything that leaves a transaction.

-- Where intake stopped in each mailbox. A change of UIDVALIDITY restarts from UID 0; the content
-- hash on inbound_messages makes the re-fetch a no-op.
CREATE TABLE mailbox_checkpoints (
    mailbox      TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every message exactly as received, stored before anything else is done with it.
CREATE TABLE inbound_messages (
    id            BIGSERIAL PRIMARY KEY,
    sha256        BYTEA NOT NULL UNIQUE,
    raw           BYTEA NOT NULL,
    size_bytes    BIGINT NOT NULL,
    mailbox       TEXT NOT NULL,
    uid_validity  BIGINT NOT NULL,
    uid           BIGINT NOT NULL,
    -- The full body was not fetched (over imap.max_message_bytes): raw holds the header only.
    truncated     BOOLEAN NOT NULL DEFAULT FALSE,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    status        TEXT NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'request', 'ignored', 'duplicate', 'failed')),
    kind          TEXT,
    understanding JSONB,
    failure       TEXT,
    processed_at  TIMESTAMPTZ
);
CREATE INDEX inbound_messages_unprocessed ON inbound_messages (id) WHERE status = 'received';

-- One data-subject request per inbound message that asks for something.
CREATE TABLE requests (
    id                 BIGSERIAL PRIMARY KEY,
    reference          TEXT NOT NULL UNIQUE,
    inbound_message_id BIGINT NOT NULL UNIQUE REFERENCES inbound_messages (id),
    kind               TEXT NOT NULL,
    language           TEXT NOT NULL CHECK (language IN ('kk', 'ru', 'en', 'mixed')),
    review             BOOLEAN NOT NULL,
    status             TEXT NOT NULL DEFAULT 'received',
    -- Personal data: the address replies go to. Never logged in clear.
    sender             TEXT NOT NULL,
    sender_message_id  TEXT,
    sender_references  TEXT[] NOT NULL DEFAULT '{}',
    subject            TEXT NOT NULL DEFAULT '',
    understanding      JSONB NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    acknowledged_at    TIMESTAMPTZ
);
-- The same message delivered twice (another route, other bytes) is one request.
CREATE UNIQUE INDEX requests_sender_message
    ON requests (lower(sender), sender_message_id) WHERE sender_message_id IS NOT NULL;

-- What happened to a request, in order (the staff console's timeline).
CREATE TABLE request_events (
    id         BIGSERIAL PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    event      TEXT NOT NULL,
    detail     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX request_events_request ON request_events (request_id, id);

-- Everything that must leave the database exactly once after a commit: e-mails to send and
-- messages to publish. dedupe_key makes enqueueing idempotent (e.g. 'ack:42').
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    dedupe_key      TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'publish')),
    request_id      BIGINT REFERENCES requests (id),
    payload         JSONB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (channel, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_email_recipient ON outbox ((payload ->> 'to'), created_at) WHERE channel = 'email';
