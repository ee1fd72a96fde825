-- The end of a legal hold whose row was no longer blocked (staff unblocked it since): the row is
-- left where it is and the hold is closed with the reason, so no later run destroys it.
ALTER TABLE holds ADD COLUMN released_at TIMESTAMPTZ;
ALTER TABLE holds ADD COLUMN release_reason TEXT;
ALTER TABLE holds ADD CONSTRAINT holds_one_end CHECK (destroyed_at IS NULL OR released_at IS NULL);

DROP INDEX holds_due;
CREATE INDEX holds_due ON holds (destroy_after, id) WHERE destroyed_at IS NULL AND released_at IS NULL;
