-- A record may stand for several events of one kind: the scans one user
-- recorded at one venue within one write of the audit queue (a checkpoint
-- records tens of thousands a minute). 1 for every record before, and for
-- every other record; the record's MAC covers it only when it is not 1, so
-- the chain written before verifies as it did.
ALTER TABLE audit ADD COLUMN events BIGINT NOT NULL DEFAULT 1;
