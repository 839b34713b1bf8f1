-- The registry: households and persons on the grid. ID numbers and phones
-- are stored only encrypted (*_enc) with a keyed blind index (*_bidx).
CREATE TABLE households (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id       INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path     TEXT NOT NULL,
  address       TEXT NOT NULL,
  head_person_id INTEGER,
  phone_enc     TEXT,
  phone_bidx    TEXT,
  tags          TEXT NOT NULL DEFAULT '',
  note          TEXT,
  version       INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX households_path ON households(node_path);
CREATE INDEX households_grid_address ON households(grid_id, address);

CREATE TABLE persons (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id       INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path     TEXT NOT NULL,
  household_id  INTEGER REFERENCES households(id),
  name          TEXT NOT NULL,
  id_number_enc TEXT,
  id_number_bidx TEXT,
  id_missing    INTEGER NOT NULL DEFAULT 0,
  phone_enc     TEXT,
  phone_bidx    TEXT,
  gender        TEXT,
  birth_date    TEXT,
  residence     TEXT,
  workplace     TEXT,
  tags          TEXT NOT NULL DEFAULT '',
  note          TEXT,
  version       INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX persons_id_number ON persons(id_number_bidx);
CREATE INDEX persons_phone ON persons(phone_bidx);
CREATE INDEX persons_path ON persons(node_path);
CREATE INDEX persons_name ON persons(name);
CREATE INDEX persons_household ON persons(household_id);
