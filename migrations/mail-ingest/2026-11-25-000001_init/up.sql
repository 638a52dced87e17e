-- Connected mailboxes. Secrets (an IMAP password, OAuth tokens) live in `secret`, encrypted
-- with an AEAD under the key named by `secret_key_id`; they are never stored in the clear.
CREATE TABLE connected_accounts (
    id              UUID PRIMARY KEY,
    user_id         UUID        NOT NULL,
    provider        TEXT        NOT NULL CHECK (provider IN ('gmail', 'outlook', 'imap', 'upload', 'other')),
    email           TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'ACTIVE'
                                CHECK (status IN ('ACTIVE', 'REAUTH_REQUIRED', 'REVOKED')),
    status_reason   TEXT,
    -- Provider settings that are not secret (IMAP host, port, TLS mode, username, mailbox).
    settings        JSONB       NOT NULL DEFAULT '{}'::jsonb,
    secret_key_id   TEXT,
    secret          BYTEA,
    last_fetched_at TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT connected_accounts_user_provider_email UNIQUE (user_id, provider, email),
    CONSTRAINT connected_accounts_secret_has_key CHECK ((secret IS NULL) = (secret_key_id IS NULL))
);

-- Where each account's incremental fetch stands: IMAP (mailbox, UIDVALIDITY, last UID), or a
-- provider's sync token (Gmail history id, Graph delta link).
CREATE TABLE fetch_cursors (
    account_id   UUID        NOT NULL REFERENCES connected_accounts (id) ON DELETE CASCADE,
    mailbox      TEXT        NOT NULL,
    uid_validity BIGINT,
    last_uid     BIGINT,
    sync_token   TEXT,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, mailbox)
);

-- Stored mail, once per (user, provider, provider message id).
CREATE TABLE emails (
    id                  UUID PRIMARY KEY,
    user_id             UUID        NOT NULL,
    account_id          UUID        NOT NULL REFERENCES connected_accounts (id) ON DELETE CASCADE,
    provider            TEXT        NOT NULL CHECK (provider IN ('gmail', 'outlook', 'imap', 'upload', 'other')),
    provider_message_id TEXT        NOT NULL,
    subject             TEXT        NOT NULL,
    from_address        TEXT        NOT NULL,
    received_at         TIMESTAMPTZ NOT NULL,
    -- NULL once purged after the retention period; the metadata stays.
    body_text           TEXT,
    html_only           BOOLEAN     NOT NULL,
    checksum            TEXT        NOT NULL,
    size_bytes          BIGINT      NOT NULL,
    extraction_status   TEXT        NOT NULL DEFAULT 'PENDING'
                                    CHECK (extraction_status IN ('PENDING', 'COMPLETED', 'SKIPPED', 'FAILED')),
    extraction_version  TEXT,
    transactions_found  INTEGER     NOT NULL DEFAULT 0,
    body_purged_at      TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT emails_user_provider_message UNIQUE (user_id, provider, provider_message_id)
);
CREATE INDEX emails_user_received ON emails (user_id, received_at DESC, id DESC);
CREATE INDEX emails_account ON emails (account_id);

-- The job registry: every fetch, extraction and reprocess run, with its counts.
CREATE TABLE jobs (
    id             UUID PRIMARY KEY,
    user_id        UUID        NOT NULL,
    account_id     UUID REFERENCES connected_accounts (id) ON DELETE SET NULL,
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
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_parent ON jobs (parent_job_id) WHERE parent_job_id IS NOT NULL;
