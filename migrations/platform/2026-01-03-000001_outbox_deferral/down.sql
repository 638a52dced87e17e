ALTER TABLE outbox DROP COLUMN not_before, DROP COLUMN attempts;
