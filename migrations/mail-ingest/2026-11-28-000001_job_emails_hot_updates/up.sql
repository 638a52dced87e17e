-- The registry updates each `job_emails` row twice (its outcome, then its booking), neither
-- column indexed. Leaving half of each page free lets both updates stay on the row's page as
-- heap-only tuples: no new entries in the table's two indexes, and far less WAL per email.
ALTER TABLE job_emails SET (fillfactor = 50);
