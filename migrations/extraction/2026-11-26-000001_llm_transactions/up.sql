-- One attempt per extraction request: a redelivered request finds its attempt and adds none.
CREATE UNIQUE INDEX email_extractions_request ON email_extractions (request_id);

-- Every call to an LLM, with what it cost. Written as soon as the call returns (outside the
-- batch that asked for it), so money spent is on record even if that batch is retried.
CREATE TABLE llm_transactions (
    id                  UUID PRIMARY KEY,
    user_id             UUID          NOT NULL,
    -- NULL for a dry run (POST /v1/extract), which concerns no stored email.
    email_id            UUID,
    job_id              UUID,
    request_id          UUID,
    model_name          TEXT          NOT NULL,
    provider            TEXT          NOT NULL,
    prompt_version      TEXT          NOT NULL,
    prompt_hash         TEXT          NOT NULL,
    status              TEXT          NOT NULL CHECK (status IN ('SUCCESS', 'SKIPPED', 'FAILED')),
    error               TEXT,
    input_tokens        INT           NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    cached_input_tokens INT           NOT NULL DEFAULT 0 CHECK (cached_input_tokens >= 0),
    output_tokens       INT           NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    total_tokens        INT           NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
    -- USD, from the price table named by price_version.
    estimated_cost      NUMERIC(18, 8) NOT NULL DEFAULT 0,
    price_version       TEXT          NOT NULL,
    latency_ms          INT           NOT NULL CHECK (latency_ms >= 0),
    -- The validated answer (SUCCESS/SKIPPED), reused for the same email, prompt and model.
    result_json         JSONB,
    created_at          TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE INDEX llm_transactions_user ON llm_transactions (user_id, created_at);
CREATE INDEX llm_transactions_reuse ON llm_transactions (user_id, email_id, prompt_hash, model_name, created_at)
    WHERE result_json IS NOT NULL;
