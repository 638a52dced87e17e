-- The ledger: a user's categories, transactions and categorisation rules.
-- Rows carry the owner's `user_id` (auth owns users; no foreign key crosses services).

-- A user's categories; system ones are created on `user.registered` and cannot be deleted.
CREATE TABLE categories (
    id         UUID PRIMARY KEY,
    user_id    UUID        NOT NULL,
    name       TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    type       TEXT        NOT NULL CHECK (type IN ('income', 'expense', 'both')),
    is_system  BOOLEAN     NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Names are unique per user regardless of case, so an extractor's hint maps to one category.
CREATE UNIQUE INDEX categories_user_name ON categories (user_id, lower(name));

-- Money is NUMERIC(18,4) (four-decimal currencies exist); amounts are positive, the direction is
-- in `type`. `external_id` is unique per user and source: `<email_id>#<n>` for mail, a content
-- hash plus occurrence for CSV rows, NULL for manual entries.
CREATE TABLE transactions (
    id               UUID PRIMARY KEY,
    user_id          UUID          NOT NULL,
    amount           NUMERIC(18,4) NOT NULL CHECK (amount > 0),
    currency         TEXT          NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    type             TEXT          NOT NULL CHECK (type IN ('income', 'expense')),
    occurred_at      TIMESTAMPTZ   NOT NULL,
    category_id      UUID REFERENCES categories (id) ON DELETE SET NULL,
    -- The category was chosen by the user (create, patch, CSV column): rules never change it.
    category_by_user BOOLEAN       NOT NULL DEFAULT false,
    merchant         TEXT,
    notes            TEXT,
    account_hint     TEXT,
    source           TEXT          NOT NULL
        CHECK (source IN ('manual', 'api', 'import', 'gmail', 'outlook', 'imap', 'upload')),
    external_id      TEXT,
    email_id         UUID,
    confidence       NUMERIC(5,4) CHECK (confidence BETWEEN 0 AND 1),
    needs_review     BOOLEAN       NOT NULL DEFAULT false,
    -- Edited through the API: booking from mail never overwrites or removes the row.
    user_edited      BOOLEAN       NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT transactions_external UNIQUE (user_id, source, external_id)
);
-- Newest-first keyset pages and date ranges.
CREATE INDEX transactions_user_occurred ON transactions (user_id, occurred_at DESC, id DESC);
-- Reconciling one email's rows.
CREATE INDEX transactions_user_email ON transactions (user_id, email_id) WHERE email_id IS NOT NULL;
-- ON DELETE SET NULL of a category.
CREATE INDEX transactions_category ON transactions (category_id) WHERE category_id IS NOT NULL;

-- Categorisation rules, tried in ascending `priority` (then oldest first).
CREATE TABLE rules (
    id          UUID PRIMARY KEY,
    user_id     UUID          NOT NULL,
    name        TEXT          NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    match_field TEXT          NOT NULL CHECK (match_field IN ('merchant', 'notes')),
    match_kind  TEXT          NOT NULL CHECK (match_kind IN ('contains', 'equals', 'regex')),
    pattern     TEXT          NOT NULL CHECK (length(pattern) BETWEEN 1 AND 500),
    min_amount  NUMERIC(18,4) CHECK (min_amount >= 0),
    max_amount  NUMERIC(18,4) CHECK (max_amount >= 0),
    type        TEXT CHECK (type IN ('income', 'expense')),
    -- A rule without its category means nothing, so it goes with it.
    category_id UUID          NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    priority    INTEGER       NOT NULL,
    created_at  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE INDEX rules_user_priority ON rules (user_id, priority, created_at, id);
CREATE INDEX rules_category ON rules (category_id);
