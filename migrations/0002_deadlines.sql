-- Statutory deadline of each request (end of the last working day, Almaty time).
ALTER TABLE requests ADD COLUMN due_at TIMESTAMPTZ;
UPDATE requests SET due_at = created_at + interval '3 days' WHERE due_at IS NULL;
ALTER TABLE requests ALTER COLUMN due_at SET NOT NULL;
CREATE INDEX requests_due ON requests (due_at) WHERE status NOT IN ('completed', 'rejected');
