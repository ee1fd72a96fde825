-- One owner of the request lifecycle (src/workflow/status.rs), a subject anchored on a verified
-- address, several verifications per request, replies attached to their request, and intake
-- that no single message can stall.

-- Every status the lifecycle knows; nothing else can be written.
ALTER TABLE requests ADD CONSTRAINT requests_status_check CHECK (status IN (
    'received', 'accepted', 'needs_review', 'awaiting_information', 'awaiting_confirmation',
    'confirmed', 'approved', 'executing', 'disputed', 'failed', 'completed', 'rejected', 'closed'));

ALTER TABLE requests
    -- The address that proved itself (trusted DKIM, or a code round trip): the anchor of the
    -- subject. Personal data.
    ADD COLUMN verified_address TEXT,
    -- IINs and phones the sender gave (in the request and in later replies). They may narrow
    -- or confirm the subject found by the verified address; they never add a record.
    ADD COLUMN identifiers JSONB NOT NULL DEFAULT '{}',
    -- When an unanswered confirmation or request for details closes the request.
    ADD COLUMN expires_at TIMESTAMPTZ,
    -- Why processing failed for good (status 'failed').
    ADD COLUMN failure TEXT,
    -- sha256(lower(sender) 0x00 Message-ID): "the same message twice" without indexing a header
    -- of any length.
    ADD COLUMN message_key BYTEA,
    -- What staff approved, on which facts: {by, kind, fingerprint of the store match they saw,
    -- explicit overrides of conflicts / art. 8(2) obligations, audit entry}.
    ADD COLUMN approval JSONB;

UPDATE requests SET identifiers = jsonb_build_object(
    'iins', coalesce(understanding -> 'iin', '[]'::jsonb),
    'phones', coalesce(understanding -> 'phones', '[]'::jsonb));
UPDATE requests SET verified_address = sender WHERE verified_at IS NOT NULL;
UPDATE requests SET message_key = sha256(
    convert_to(lower(sender), 'UTF8') || '\x00'::bytea || convert_to(sender_message_id, 'UTF8'))
  WHERE sender_message_id IS NOT NULL;
DROP INDEX requests_sender_message;
CREATE UNIQUE INDEX requests_message_key ON requests (message_key) WHERE message_key IS NOT NULL;
CREATE INDEX requests_expiring ON requests (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX requests_open_sender ON requests (lower(sender))
    WHERE status NOT IN ('completed', 'rejected', 'closed');
DROP INDEX requests_due;
CREATE INDEX requests_due ON requests (due_at) WHERE status NOT IN ('completed', 'rejected', 'closed');

-- Intake: bounded attempts per message, and replies attached to the request they answer.
ALTER TABLE inbound_messages DROP CONSTRAINT inbound_messages_status_check;
ALTER TABLE inbound_messages ADD CONSTRAINT inbound_messages_status_check
    CHECK (status IN ('received', 'request', 'ignored', 'duplicate', 'failed', 'confirmation',
                      'reply', 'folded'));
ALTER TABLE inbound_messages
    ADD COLUMN attempts        INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN request_id      BIGINT REFERENCES requests (id);
UPDATE inbound_messages m SET request_id = r.id FROM requests r WHERE r.inbound_message_id = m.id;
UPDATE inbound_messages m SET request_id = v.request_id
  FROM verifications v WHERE v.inbound_message_id = m.id AND m.request_id IS NULL;
DROP INDEX inbound_messages_unprocessed;
CREATE INDEX inbound_messages_unprocessed ON inbound_messages (next_attempt_at, id)
    WHERE status = 'received';
CREATE INDEX inbound_messages_request ON inbound_messages (request_id) WHERE request_id IS NOT NULL;

-- Verifications: the sender's own round trip, then perhaps one through the contact on file.
ALTER TABLE verifications DROP CONSTRAINT verifications_pkey;
ALTER TABLE verifications
    ADD COLUMN id        BIGSERIAL PRIMARY KEY,
    ADD COLUMN channel   TEXT NOT NULL DEFAULT 'sender'
                         CHECK (channel IN ('sender', 'contact_on_file')),
    -- Where the code went and where it must come back from. Personal data.
    ADD COLUMN address   TEXT,
    -- Replies from that address with a wrong code.
    ADD COLUMN attempts  INTEGER NOT NULL DEFAULT 0,
    -- Ended without confirmation (expired, too many attempts, disputed, request ended).
    ADD COLUMN closed_at TIMESTAMPTZ;
UPDATE verifications v SET address = r.sender FROM requests r WHERE r.id = v.request_id;
ALTER TABLE verifications ALTER COLUMN address SET NOT NULL;
CREATE INDEX verifications_request ON verifications (request_id);
CREATE UNIQUE INDEX verifications_open ON verifications (request_id)
    WHERE confirmed_at IS NULL AND closed_at IS NULL;

-- A task of a request that staff ended is cancelled, never run.
ALTER TABLE store_tasks DROP CONSTRAINT store_tasks_status_check;
ALTER TABLE store_tasks ADD CONSTRAINT store_tasks_status_check
    CHECK (status IN ('pending', 'running', 'done', 'skipped', 'failed',
                      'waiting_manual', 'waiting_confirmation', 'cancelled'));
