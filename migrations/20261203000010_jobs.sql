-- The job queue (server/src/jobs) and the record of sent emails (server/src/mail).
-- A job is enqueued in the caller's transaction; workers claim with FOR UPDATE SKIP LOCKED.

CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue        text        NOT NULL DEFAULT 'default',
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    dedupe_key   text,
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    state        text        NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    locked_by    text,
    lease_until  timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Claiming: the next queued job of a queue that is due.
CREATE INDEX jobs_claim ON jobs (queue, run_at, id) WHERE state = 'queued';
-- Reclaiming: running jobs whose lease has expired.
CREATE INDEX jobs_lease ON jobs (queue, lease_until) WHERE state = 'running';

-- Wakes listening runners when the inserting transaction commits (a rollback sends nothing).
CREATE FUNCTION jobs_notify_ready() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobs_ready', NEW.queue);
    RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_ready AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_notify_ready();

CREATE TABLE emails (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id     bigint REFERENCES jobs (id) ON DELETE SET NULL,
    kind       text        NOT NULL,
    message_id text        NOT NULL UNIQUE,
    recipient  text        NOT NULL,
    subject    text        NOT NULL,
    sent_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
