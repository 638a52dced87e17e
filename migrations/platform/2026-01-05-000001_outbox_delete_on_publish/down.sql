ALTER TABLE outbox ADD COLUMN published_at TIMESTAMPTZ;
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
