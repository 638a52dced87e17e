-- A user's categories; system ones are created at sign-up and cannot be deleted.
CREATE TABLE categories (
    id         UUID PRIMARY KEY,
    user_id    UUID        NOT NULL,
    name       TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    type       TEXT        NOT NULL CHECK (type IN ('income', 'expense', 'both')),
    is_system  BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
