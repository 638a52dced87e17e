-- The outbox body is the message exactly as it is published: JSON text written once by the
-- service and sent as it is by the relay. As `jsonb` PostgreSQL parsed every body into its binary
-- form on insert and printed it back to text for the relay, for nothing.
ALTER TABLE outbox ALTER COLUMN body TYPE TEXT USING body::text;
