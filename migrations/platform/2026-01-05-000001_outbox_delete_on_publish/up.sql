-- The relay now deletes a row once the broker has confirmed it, instead of stamping
-- `published_at` and keeping it forever: every row left in the table is pending, the table stays
-- small, and publishing no longer rewrites each row (with its body) into a new version.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN published_at;
