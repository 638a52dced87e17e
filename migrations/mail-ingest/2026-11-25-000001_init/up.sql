-- The job registry: every fetch, extraction and reprocess run, with its counts.
CREATE TABLE jobs (
    id             UUID PRIMARY KEY,
    user_id        UUID        NOT NULL,
    job_type       TEXT        NOT NULL CHECK (job_type IN ('EMAIL_FETCH', 'EMAIL_EXTRACTION', 'EMAIL_REPROCESS')),
    status         TEXT        NOT NULL DEFAULT 'QUEUED'
                               CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED')),
    triggered_by   TEXT        NOT NULL CHECK (triggered_by IN ('CRON', 'MANUAL', 'API', 'RETRY')),
    parent_job_id  UUID REFERENCES jobs (id) ON DELETE CASCADE,
    input_payload  JSONB       NOT NULL DEFAULT '{}'::jsonb,
    output_payload JSONB       NOT NULL DEFAULT '{}'::jsonb,
    error_payload  JSONB,
    retry_count    INTEGER     NOT NULL DEFAULT 0,
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_user_created ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
