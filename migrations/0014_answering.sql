-- The sender's latest message that moved the request on (a repeat folded into it with new
-- identifiers, or the details asked for), when that is not the first message: what the
-- request's next e-mails answer, so they are threaded to it (In-Reply-To) and each message the
-- sender wrote gets its own answer. NULL: the request's first message (sender_message_id).
-- A Message-ID can name the sender: retention pseudonymises it with sender_message_id.
ALTER TABLE requests ADD COLUMN answering_message_id TEXT;
