-- The registry's own bookkeeping (issue: job outcomes, scheduling, retrying, cancelling and
-- reprocessing).

-- Which emails each extraction or reprocess job sent to extraction, and what came back. A row is
-- written in the transaction that publishes the email's `extraction.requested`; `outcome` and
-- `booked` are set once each, so a repeated or late event never counts twice.
CREATE TABLE job_emails (
    job_id   UUID    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    email_id UUID    NOT NULL REFERENCES emails (id) ON DELETE CASCADE,
    outcome  TEXT    CHECK (outcome IN ('SUCCESS', 'SKIPPED', 'FAILED')),
    booked   BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, email_id)
);
CREATE INDEX job_emails_email ON job_emails (email_id);

-- When the outcome now shown on the email was produced, so an older outcome arriving late never
-- overwrites a newer one.
ALTER TABLE emails ADD COLUMN extracted_at TIMESTAMPTZ;
CREATE INDEX emails_user_status ON emails (user_id, extraction_status);

-- `sealed_at`: when the job's set of emails became final (an extraction job's when its fetch
-- ended; a reprocess job's when all its requests were published). Until then it cannot end.
-- `cancel_requested_at`: a RUNNING fetch stops at its next batch boundary.
ALTER TABLE jobs ADD COLUMN sealed_at TIMESTAMPTZ;
ALTER TABLE jobs ADD COLUMN cancel_requested_at TIMESTAMPTZ;
CREATE INDEX jobs_pending_reprocess ON jobs (created_at)
    WHERE job_type = 'EMAIL_REPROCESS' AND status IN ('QUEUED', 'RUNNING') AND sealed_at IS NULL;
CREATE INDEX jobs_active_fetch ON jobs (account_id)
    WHERE job_type = 'EMAIL_FETCH' AND status IN ('QUEUED', 'RUNNING');

-- Extraction versions announced by `extraction.started`; the newest (by the announcement's own
-- time) is what `outdated` compares against.
CREATE TABLE extraction_versions (
    version      TEXT PRIMARY KEY,
    announced_at TIMESTAMPTZ NOT NULL
);

-- The scheduler: a per-account interval (NULL: the service's default; 0: never scheduled) and
-- when the account is next due.
ALTER TABLE connected_accounts ADD COLUMN fetch_interval_secs INTEGER CHECK (fetch_interval_secs >= 0);
ALTER TABLE connected_accounts ADD COLUMN next_fetch_at TIMESTAMPTZ;
