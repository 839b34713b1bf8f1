-- Mass NAT rounds (全员核酸) over a subtree: sampling points with time slots,
-- samples recorded by scanning a person's code, and per node of the
-- subtree the residents counted when the round opened and the samples so
-- far (kept in each sample's transaction).
CREATE TABLE control_nat_rounds (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id     INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path   TEXT NOT NULL,
  name        TEXT NOT NULL,
  date_from   TEXT NOT NULL,
  date_to     TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'open',
  notes       TEXT,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX control_nat_rounds_path ON control_nat_rounds(node_path);

CREATE TABLE control_nat_points (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  round_id       INTEGER NOT NULL REFERENCES control_nat_rounds(id),
  name           TEXT NOT NULL,
  address        TEXT,
  green_channel  INTEGER NOT NULL DEFAULT 0,
  note           TEXT,
  created_at     INTEGER NOT NULL
);
CREATE INDEX control_nat_points_round ON control_nat_points(round_id);

-- A time slot of a point and the grids called to it (",4,9,").
CREATE TABLE control_nat_slots (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  point_id    INTEGER NOT NULL REFERENCES control_nat_points(id),
  starts_at   INTEGER NOT NULL,
  ends_at     INTEGER NOT NULL,
  grids       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX control_nat_slots_point ON control_nat_slots(point_id);

CREATE TABLE control_nat_samples (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  round_id    INTEGER NOT NULL REFERENCES control_nat_rounds(id),
  person_id   INTEGER NOT NULL,
  node_path   TEXT NOT NULL,
  point_id    INTEGER,
  tube        TEXT,
  channel     TEXT NOT NULL DEFAULT 'normal',
  sampled_at  INTEGER NOT NULL,
  user_id     INTEGER,
  UNIQUE (round_id, person_id)
);
CREATE INDEX control_nat_samples_path ON control_nat_samples(round_id, node_path);

CREATE TABLE control_nat_nodes (
  round_id   INTEGER NOT NULL,
  node_id    INTEGER NOT NULL,
  node_path  TEXT NOT NULL,
  residents  INTEGER NOT NULL,
  sampled    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (round_id, node_id)
);
