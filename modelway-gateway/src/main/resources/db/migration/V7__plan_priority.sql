-- A plan's priority class (critical, standard, sheddable) and fair-share weight in the
-- scheduler's queues. NULL: standard, weight 1.

ALTER TABLE plans ADD COLUMN priority VARCHAR(16);
ALTER TABLE plans ADD COLUMN weight INT;
