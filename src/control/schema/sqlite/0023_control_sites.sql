-- Central isolation and medical observation sites (集中隔离点, 医学留察点):
-- rooms, arriving batches, stays tied to control records, staff on duty.
CREATE TABLE control_sites (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id     INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path   TEXT NOT NULL,
  name        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  address     TEXT,
  phone       TEXT,
  status      TEXT NOT NULL DEFAULT 'open',
  notes       TEXT,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX control_sites_path ON control_sites(node_path);

CREATE TABLE control_site_rooms (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id     INTEGER NOT NULL REFERENCES control_sites(id),
  room_no     TEXT NOT NULL,
  beds        INTEGER NOT NULL,
  note        TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (site_id, room_no)
);

-- A batch of people arriving together (Funing's 留察点: 6 batches, 19 people).
CREATE TABLE control_site_batches (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id     INTEGER NOT NULL REFERENCES control_sites(id),
  batch_no    INTEGER NOT NULL,
  arrived_at  INTEGER NOT NULL,
  origin      TEXT,
  expected    INTEGER,
  note        TEXT,
  user_id     INTEGER,
  created_at  INTEGER NOT NULL,
  UNIQUE (site_id, batch_no)
);

-- A person's stay at a site: intake and discharge, tied to the control
-- record (node_path is the record's, for scope). *_day: local days.
CREATE TABLE control_site_stays (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id         INTEGER NOT NULL REFERENCES control_sites(id),
  room_id         INTEGER REFERENCES control_site_rooms(id),
  batch_id        INTEGER REFERENCES control_site_batches(id),
  control_id      INTEGER NOT NULL REFERENCES controls(id),
  chain_id        INTEGER NOT NULL,
  person_id       INTEGER NOT NULL,
  name            TEXT NOT NULL DEFAULT '',
  node_path       TEXT NOT NULL,
  intake_at       INTEGER NOT NULL,
  intake_day      INTEGER NOT NULL,
  discharge_at    INTEGER,
  discharge_day   INTEGER,
  discharge_note  TEXT,
  user_id         INTEGER,
  version         INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX control_site_stays_site ON control_site_stays(site_id, intake_day);
CREATE INDEX control_site_stays_chain ON control_site_stays(chain_id);
CREATE UNIQUE INDEX control_site_stays_current ON control_site_stays(chain_id) WHERE discharge_at IS NULL;

-- Staff on duty at a site, by dates (临时党支部, 医护, 安保 …).
CREATE TABLE control_site_staff (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id     INTEGER NOT NULL REFERENCES control_sites(id),
  name        TEXT NOT NULL,
  duty        TEXT NOT NULL,
  phone       TEXT,
  user_id     INTEGER,
  on_from     TEXT NOT NULL,
  on_to       TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX control_site_staff_site ON control_site_staff(site_id, on_from);
