-- Wake-ups from the rows themselves: a stored message wakes triage, a pending outbox row wakes
-- the stage of its channel (the mailer for e-mails, the relay for publishes). NOTIFY is
-- delivered on commit, and identical notifications of one transaction are delivered once, so a
-- batch of rows is one wake-up. Before this, each writer sent its NOTIFY as a statement of its
-- own (one more round trip per row), and every outbox row woke both the mailer and the relay.
CREATE FUNCTION dsr_wake_triage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dsr_inbound', '');
    RETURN NULL;
END $$;

CREATE TRIGGER inbound_messages_wake AFTER INSERT ON inbound_messages
    FOR EACH ROW EXECUTE FUNCTION dsr_wake_triage();

CREATE FUNCTION dsr_wake_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dsr_outbox_' || NEW.channel, '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_wake AFTER INSERT ON outbox
    FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION dsr_wake_outbox();
