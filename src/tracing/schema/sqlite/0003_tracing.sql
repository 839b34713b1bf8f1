-- Venues with their scan codes, cases, and the contacts a trace found.
-- Scans themselves live in the tracing engine's own store (DATA/trace).
CREATE TABLE venues (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id     INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path   TEXT NOT NULL,
  name        TEXT NOT NULL,
  kind        TEXT,
  address     TEXT,
  code        TEXT NOT NULL UNIQUE,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX venues_path ON venues(node_path);

CREATE TABLE cases (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id       INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path     TEXT NOT NULL,
  person_id     INTEGER NOT NULL REFERENCES persons(id),
  onset_at      INTEGER NOT NULL,
  preset        TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'open',
  traced_at     INTEGER,
  note          TEXT,
  version       INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX cases_path ON cases(node_path);

CREATE TABLE case_contacts (
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
  PRIMARY KEY (case_id, kind, person_id)
);
