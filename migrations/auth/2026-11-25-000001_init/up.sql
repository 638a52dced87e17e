-- Roles for access control; every new user is `user`, admins are made by an operator.
CREATE TABLE roles (
    name       TEXT PRIMARY KEY CHECK (name IN ('admin', 'user')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO roles (name) VALUES ('admin'), ('user');

-- Accounts. Usernames and emails are unique regardless of case, because people type them in
-- whatever case they like when they log in.
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    name          TEXT        NOT NULL,
    username      TEXT        NOT NULL,
    email         TEXT        NOT NULL,
    -- An argon2id PHC string: it carries its own parameters and salt, so parameters can change.
    password_hash TEXT        NOT NULL,
    role          TEXT        NOT NULL DEFAULT 'user' REFERENCES roles (name),
    is_active     BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_admins ON users (id) WHERE role = 'admin';

-- One login session: the refresh tokens rotated from one login share a family, its absolute
-- expiry, and its fate when a rotated token is presented again.
CREATE TABLE token_families (
    id         UUID PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX token_families_user ON token_families (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored as the SHA-256 of the 256-bit random token (a fast hash is enough for
-- a secret that cannot be guessed). `access_jti` names the access token issued with it, so a
-- request can tell which session it belongs to.
CREATE TABLE refresh_tokens (
    id         UUID PRIMARY KEY,
    family_id  UUID        NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    token_hash BYTEA       NOT NULL UNIQUE,
    access_jti UUID        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_access_jti ON refresh_tokens (access_jti);

-- One-time password reset codes; only the newest of a user counts.
CREATE TABLE password_reset_codes (
    id         UUID PRIMARY KEY,
    user_id    UUID        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA       NOT NULL,
    attempts   INTEGER     NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX password_reset_codes_user ON password_reset_codes (user_id, created_at DESC);

-- Failed logins per account, in the database so that every replica counts the same. The key is
-- the user id, or a hash of the login for names nobody has, so that both lock the same way and
-- a lock-out does not tell whether an account exists.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER     NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);
