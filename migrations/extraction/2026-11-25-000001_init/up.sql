-- Every extraction attempt of an email, with the version and model that produced it.
CREATE TABLE email_extractions (
    id                 UUID PRIMARY KEY,
    user_id            UUID        NOT NULL,
    email_id           UUID        NOT NULL,
    request_id         UUID        NOT NULL,
    extraction_version TEXT        NOT NULL,
    status             TEXT        NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED', 'FAILED')),
    extracted_json     JSONB       NOT NULL,
    model_used         TEXT,
    prompt_hash        TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX email_extractions_email ON email_extractions (user_id, email_id, created_at);
