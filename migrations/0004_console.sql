-- Staff review console: accounts, sessions, login attempts, the hash-chained audit log, and
-- the bookkeeping of the daily deadline digest.

-- People who review flagged requests. `reviewer` decides; `admin` also manages staff.
CREATE TABLE staff (
    id              BIGSERIAL PRIMARY KEY,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('reviewer', 'admin')),
    -- PHC string (argon2id); never the password.
    password_hash   TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    -- Consecutive failed logins since the last success or lockout.
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX staff_email ON staff (lower(email));

-- A signed-in browser. The cookie carries a random 256-bit id; only its SHA-256 is stored, so
-- a copy of this table does not let anyone sign in.
CREATE TABLE staff_sessions (
    id_hash      BYTEA PRIMARY KEY,
    staff_id     BIGINT NOT NULL REFERENCES staff (id),
    -- Synchronizer token every form of this session must send back.
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Every login attempt, for the record (successful or not, known account or not).
CREATE TABLE staff_login_attempts (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    email     TEXT NOT NULL,
    staff_id  BIGINT REFERENCES staff (id),
    success   BOOLEAN NOT NULL,
    outcome   TEXT NOT NULL
);
CREATE INDEX staff_login_attempts_at ON staff_login_attempts (at);

-- Append-only audit log of staff decisions. Each row is chained to the previous one:
--   hash = sha256(prev_hash || canonical JSON of {id, at, actor, action, request_id, before, after})
-- (hex; the first row's prev_hash is 64 zeros). `dsr-worker audit verify` recomputes the chain.
CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    request_id  BIGINT REFERENCES requests (id),
    before      JSONB NOT NULL,
    after       JSONB NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_request ON audit_log (request_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- One row per Almaty calendar day on which the deadline digest was sent (or found nothing to
-- send): any number of workers send it once.
CREATE TABLE console_digests (
    day        DATE PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    requests   INTEGER NOT NULL,
    recipients INTEGER NOT NULL
);
