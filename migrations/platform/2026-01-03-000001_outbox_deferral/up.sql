-- A row that no queue takes yet (its consumer has never started) is offered again later, on its
-- own schedule, so it never holds back the rows behind it.
ALTER TABLE outbox
    ADD COLUMN attempts  INT NOT NULL DEFAULT 0,
    ADD COLUMN not_before TIMESTAMPTZ;
