-- Carrying out requests in the registered stores: identity checks, one task per store,
-- receipts of what was done, and legal holds waiting for their end.

ALTER TABLE requests
    ADD COLUMN verified_at   TIMESTAMPTZ,
    ADD COLUMN verification  TEXT,           -- how identity was established
    ADD COLUMN approved_by   TEXT,           -- staff member who approved a flagged request
    ADD COLUMN subject_match JSONB,          -- store -> table -> keys (no personal data)
    ADD COLUMN completed_at  TIMESTAMPTZ,
    ADD COLUMN outcome       TEXT;           -- done | refused:<reason> | unknown_subject

-- A confirmation round trip: we sent a one-time code; a reply quoting it from the same address
-- confirms the request.
CREATE TABLE verifications (
    request_id   BIGINT PRIMARY KEY REFERENCES requests (id),
    code_hash    BYTEA NOT NULL,
    sent_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ,
    inbound_message_id BIGINT REFERENCES inbound_messages (id)
);

CREATE TABLE store_tasks (
    id          BIGSERIAL PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES requests (id),
    store       TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'skipped', 'failed',
                                  'waiting_manual', 'waiting_confirmation')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    plan        JSONB NOT NULL DEFAULT '{}',
    receipt     JSONB,
    resolved_by TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (request_id, store)
);
CREATE INDEX store_tasks_open ON store_tasks (status) WHERE status NOT IN ('done', 'skipped');

-- What each task did, per table: counts, never the data.
CREATE TABLE receipts (
    id         BIGSERIAL PRIMARY KEY,
    task_id    BIGINT NOT NULL REFERENCES store_tasks (id),
    request_id BIGINT NOT NULL REFERENCES requests (id),
    store      TEXT NOT NULL,
    table_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    rows       BIGINT NOT NULL,
    detail     JSONB NOT NULL DEFAULT '{}',
    run        INTEGER NOT NULL DEFAULT 1,
    at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX receipts_request ON receipts (request_id);

-- Rows blocked under a legal retention duty, destroyed when it ends (never forgotten).
CREATE TABLE holds (
    id            BIGSERIAL PRIMARY KEY,
    request_id    BIGINT NOT NULL REFERENCES requests (id),
    task_id       BIGINT NOT NULL REFERENCES store_tasks (id),
    store         TEXT NOT NULL,
    table_name    TEXT NOT NULL,
    row_key       TEXT NOT NULL,
    basis         TEXT NOT NULL,
    destroy_after DATE NOT NULL,
    destroyed_at  TIMESTAMPTZ,
    UNIQUE (store, table_name, row_key)
);
CREATE INDEX holds_due ON holds (destroy_after) WHERE destroyed_at IS NULL;

-- A reply that confirmed a request's identity is recorded as such.
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_status_check;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_status_check
    CHECK (status IN ('received', 'request', 'ignored', 'duplicate', 'failed', 'confirmation'));
