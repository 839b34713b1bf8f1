-- The end of the audit chain made verifiable: the head carries a MAC keyed
-- like the records (written from now on; a head without one is accepted only
-- before the first signed checkpoint, audit/checkpoints), and the records
-- moved out to signed archive files (audit/archive/) are listed here, so that
-- an archive removed is missed and the chain is read across them.
ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';
CREATE TABLE audit_archives (
  seq         BIGINT PRIMARY KEY,
  first_id    BIGINT NOT NULL,
  last_id     BIGINT NOT NULL,
  records     BIGINT NOT NULL,
  prev_hash   TEXT NOT NULL,
  last_hash   TEXT NOT NULL,
  content     TEXT NOT NULL,
  name        TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
