-- A new trace of a case waits (pending = 1) beside the lists already
-- handed out, which stay in force until the new result is applied: the
-- key takes pending in (SQLite changes a key by rebuilding the table).
CREATE TABLE case_contacts_next (
  case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL,
  rank          INTEGER NOT NULL,
  person_id     INTEGER NOT NULL,
  via_person_id INTEGER NOT NULL,
  place         INTEGER NOT NULL,
  src_in        INTEGER NOT NULL,
  src_out       INTEGER NOT NULL,
  hit_in        INTEGER NOT NULL,
  hit_out       INTEGER NOT NULL,
  overlap_min   INTEGER NOT NULL,
  total_overlap_min INTEGER NOT NULL,
  node_path     TEXT NOT NULL DEFAULT '',
  community_id  INTEGER,
  located_person_id INTEGER,
  duplicate     INTEGER NOT NULL DEFAULT 0,
  pending       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (case_id, pending, kind, person_id)
);
INSERT INTO case_contacts_next (case_id, kind, rank, person_id, via_person_id, place, src_in, src_out, hit_in, hit_out,
  overlap_min, total_overlap_min, node_path, community_id, located_person_id, duplicate, pending)
SELECT case_id, kind, rank, person_id, via_person_id, place, src_in, src_out, hit_in, hit_out,
  overlap_min, total_overlap_min, node_path, community_id, located_person_id, duplicate, 0 FROM case_contacts;
DROP TABLE case_contacts;
ALTER TABLE case_contacts_next RENAME TO case_contacts;
-- A community's list is read by the subtree of its node.
CREATE INDEX case_contacts_path ON case_contacts(node_path);

-- The tracing module's public shape of the lists it hands out
-- (tracing/tracing.h): modules that act on them read this view, never
-- case_contacts. person_id is the registry person, NULL for a phone
-- number nobody in the registry has yet.
CREATE VIEW tracing_contacts AS
SELECT k.case_id, k.kind, k.rank,
       CASE WHEN k.located_person_id IS NOT NULL THEN k.located_person_id
            WHEN k.person_id < 2147483648 THEN k.person_id END AS person_id,
       CASE WHEN k.person_id >= 2147483648 THEN k.person_id END AS subject_id,
       k.community_id, k.node_path, k.hit_in, k.hit_out, k.overlap_min, k.total_overlap_min
FROM case_contacts k WHERE k.duplicate = 0 AND k.pending = 0;
