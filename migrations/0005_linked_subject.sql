-- Staff can say who a request is about (`link to a subject`): identifiers that replace the
-- sender's own when the worker looks the subject up in the stores.
ALTER TABLE requests ADD COLUMN linked_subject JSONB;
