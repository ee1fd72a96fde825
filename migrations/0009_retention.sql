-- The worker forgets too (src/retention): after a request has been final for
-- retention.final_days, it and everything attached to it keep only what the audit needs.

-- When the retention job reduced the row (raw mail: bytes dropped, sha256 and size kept).
ALTER TABLE requests ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE inbound_messages ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN purged_at TIMESTAMPTZ;
ALTER TABLE request_events ADD COLUMN purged_at TIMESTAMPTZ;
-- When the one-time code was masked in the e-mails that carried it (the hash is enough to check
-- a reply).
ALTER TABLE verifications ADD COLUMN code_masked_at TIMESTAMPTZ;

-- Requests that went final before every final status set completed_at: their last event.
UPDATE requests r SET completed_at = coalesce(
        (SELECT max(e.at) FROM request_events e WHERE e.request_id = r.id), r.created_at)
 WHERE r.status IN ('completed', 'rejected', 'closed') AND r.completed_at IS NULL;

-- What the job looks for, each pass.
CREATE INDEX requests_to_reduce ON requests (id)
    WHERE purged_at IS NULL AND status IN ('completed', 'rejected', 'closed');
CREATE INDEX inbound_messages_unreduced ON inbound_messages (request_id, id)
    WHERE purged_at IS NULL;
CREATE INDEX outbox_request ON outbox (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX outbox_unreduced ON outbox (request_id)
    WHERE purged_at IS NULL AND request_id IS NOT NULL;
CREATE INDEX request_events_unreduced ON request_events (request_id) WHERE purged_at IS NULL;
CREATE INDEX verifications_code_unmasked ON verifications (id) WHERE code_masked_at IS NULL;
CREATE INDEX verifications_inbound ON verifications (inbound_message_id)
    WHERE inbound_message_id IS NOT NULL;

-- An e-mail that was sent keeps no attachment contents (the subject has the report in their
-- mailbox): file name, type and size stay. From now on outbox::mark_sent does this as it marks
-- the e-mail sent; this clears what was sent before.
UPDATE outbox SET payload = jsonb_set(payload, '{attachments}', (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'filename', a.value -> 'filename',
                   'content_type', a.value -> 'content_type',
                   'content', '',
                   'size', CASE WHEN coalesce(a.value ->> 'content', '') = '' AND a.value ? 'size'
                                THEN a.value -> 'size'
                                ELSE to_jsonb(octet_length(coalesce(a.value ->> 'content', ''))) END)
                 ORDER BY a.ordinality), '[]'::jsonb)
          FROM jsonb_array_elements(payload -> 'attachments') WITH ORDINALITY AS a(value, ordinality)))
 WHERE channel = 'email' AND status = 'sent' AND jsonb_typeof(payload -> 'attachments') = 'array';
