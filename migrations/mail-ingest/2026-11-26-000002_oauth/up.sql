-- Pending OAuth authorizations: one row per `state` handed to a browser by
-- `POST /v1/accounts/oauth/{provider}/start`. The state itself is never stored, only its SHA-256,
-- so a database leak gives no usable state; the PKCE verifier is sealed like any other secret.
-- `consumed_at` makes a state single-use (and lets a reuse be told apart from an unknown state).
CREATE TABLE oauth_states (
    state_hash      BYTEA PRIMARY KEY,
    user_id         UUID        NOT NULL,
    provider        TEXT        NOT NULL CHECK (provider IN ('gmail', 'outlook')),
    verifier_key_id TEXT        NOT NULL,
    verifier        BYTEA       NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    consumed_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
CREATE INDEX oauth_states_user ON oauth_states (user_id);
