ALTER TABLE job_emails RESET (fillfactor);
