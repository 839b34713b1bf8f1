-- Phone-only subjects of the tracing engine, and the queue of contacts that
-- "apply" could not place.
--
-- A scan or dwell may name only a mobile number (health-code feeds, visitors
-- registered at a checkpoint). A number that belongs to a registry person
-- becomes that person; any other gets a subject here, with an id of its own
-- from 2^31 up so it never meets a persons.id in the engine's store. The
-- number is kept only encrypted (phone_enc) with the same keyed blind index
-- as persons.phone (phone_bidx), so "apply" finds a person registered later.
CREATE TABLE trace_subjects (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  phone_enc   TEXT NOT NULL,
  phone_bidx  TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL
);
INSERT INTO sqlite_sequence (name, seq) VALUES ('trace_subjects', 2147483647);

-- Who a traced contact turned out to be: the registry person matched by
-- phone at "apply" or chosen when resolving (person_id of case_contacts
-- stays the engine's id).
ALTER TABLE case_contacts ADD COLUMN located_person_id INTEGER;

-- One row per contact (case, engine id) that "apply" could not place. It
-- outlives a new trace of the case, so a resolution is applied again.
-- status: open, person (a registry person), community (a community or
-- village node), handed_over (外地协查), unreachable (查无此人). person_id and
-- node_id are the resolution's target, kept as history: no foreign key, so
-- merging or deleting a person later is not blocked by it.
CREATE TABLE contact_locates (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  trace_id     INTEGER NOT NULL,
  status       TEXT NOT NULL DEFAULT 'open',
  person_id    INTEGER,
  node_id      INTEGER,
  note         TEXT,
  resolved_by  INTEGER,
  resolved_at  INTEGER,
  version      INTEGER NOT NULL DEFAULT 1,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (case_id, trace_id)
);
CREATE INDEX contact_locates_status ON contact_locates(status, case_id);
