-- Control lists (管控名单): settings, versioned configuration (protocol
-- presets, team shapes), control records with their teams, history, daily
-- checks and alerts, and the counters the roll-ups read.

-- Local practice a county sets (docs/api.md, "Control settings").
CREATE TABLE control_settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL DEFAULT 0,
  updated_by  INTEGER
);
INSERT INTO control_settings (key, value) VALUES
  ('default_preset', 'v9'),
  ('alert_escalate_seconds', '1800'),
  ('device_clock_skew_seconds', '300'),
  ('time_zone', 'Asia/Shanghai'),
  ('utc_offset_minutes', '480');

-- Configuration that changes by version: a protocol preset (kind 'preset')
-- or a team shape (kind 'team_shape'). Editing adds a version; records keep
-- the version they were opened under (control_config_versions.id).
CREATE TABLE control_config (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind           TEXT NOT NULL,
  code           TEXT NOT NULL,
  name           TEXT NOT NULL,
  active_version INTEGER NOT NULL,
  version        INTEGER NOT NULL DEFAULT 1,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (kind, code)
);
CREATE TABLE control_config_versions (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  config_id   INTEGER NOT NULL REFERENCES control_config(id),
  number      INTEGER NOT NULL,
  rules       TEXT NOT NULL,
  note        TEXT,
  created_at  INTEGER NOT NULL,
  created_by  INTEGER,
  UNIQUE (config_id, number)
);

-- A control record: one person, one category, under a preset version,
-- active until released, transferred (a new record continues the chain)
-- or closed. At most one active record per person. active_from: the day
-- this record came into force (its chain's start date, or the day of the
-- transfer that made it).
CREATE TABLE controls (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  person_id         INTEGER NOT NULL,
  name              TEXT NOT NULL DEFAULT '',
  grid_id           INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path         TEXT NOT NULL,
  category          TEXT NOT NULL,
  mode              TEXT NOT NULL,
  status            TEXT NOT NULL DEFAULT 'active',
  preset            TEXT NOT NULL,
  preset_version    INTEGER NOT NULL,
  preset_version_id INTEGER NOT NULL REFERENCES control_config_versions(id),
  start_date        TEXT NOT NULL,
  end_date          TEXT NOT NULL,
  active_from       TEXT NOT NULL,
  site_id           INTEGER,
  source            TEXT,
  case_id           INTEGER,
  team_shape        TEXT,
  notes             TEXT,
  previous_id       INTEGER REFERENCES controls(id),
  chain_id          INTEGER,
  ended_on          TEXT,
  end_reason        TEXT,
  override          INTEGER NOT NULL DEFAULT 0,
  version           INTEGER NOT NULL DEFAULT 1,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE UNIQUE INDEX controls_active_person ON controls(person_id) WHERE status = 'active';
CREATE INDEX controls_path ON controls(node_path);
CREATE INDEX controls_chain ON controls(chain_id);
CREATE INDEX controls_case ON controls(case_id);

-- The responsibility team of a record (五包一 …): one row per slot of its shape.
CREATE TABLE control_team (
  control_id  INTEGER NOT NULL REFERENCES controls(id),
  slot        INTEGER NOT NULL,
  role        TEXT NOT NULL,
  role_zh     TEXT NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  user_id     INTEGER,
  PRIMARY KEY (control_id, slot)
);
CREATE INDEX control_team_user ON control_team(user_id);

-- What happened to a chain of records, in order (the audit trail has it too).
CREATE TABLE control_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  control_id  INTEGER NOT NULL REFERENCES controls(id),
  chain_id    INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  user_id     INTEGER,
  username    TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,
  from_status TEXT,
  to_status   TEXT,
  note        TEXT,
  detail      TEXT
);
CREATE INDEX control_events_chain ON control_events(chain_id, id);

-- Daily checks: temperature (tenths of a degree), fever (at or above the
-- preset's threshold when recorded), symptoms (",code,code,"),
-- NAT samples and their results. day: the local day, days since 1970-01-01;
-- day_no: the day of control (1 = the chain's start date).
CREATE TABLE control_checks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  control_id  INTEGER NOT NULL REFERENCES controls(id),
  chain_id    INTEGER NOT NULL,
  person_id   INTEGER NOT NULL,
  node_path   TEXT NOT NULL,
  day         INTEGER NOT NULL,
  day_no      INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  temperature INTEGER,
  symptoms    TEXT NOT NULL DEFAULT '',
  fever       INTEGER NOT NULL DEFAULT 0,
  nat         INTEGER NOT NULL DEFAULT 0,
  tube        TEXT,
  nat_result  TEXT,
  result_at   INTEGER,
  note        TEXT,
  user_id     INTEGER,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX control_checks_chain ON control_checks(chain_id, day);
CREATE INDEX control_checks_day ON control_checks(day, node_path);

-- Alerts: raised by a check, a result or a door event; open until handled
-- or closed with a note. base_depth: the depth of the record's grid, from
-- which the alert climbs one level per escalation interval.
CREATE TABLE control_alerts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  control_id  INTEGER NOT NULL REFERENCES controls(id),
  chain_id    INTEGER NOT NULL,
  person_id   INTEGER NOT NULL,
  name        TEXT NOT NULL DEFAULT '',
  node_path   TEXT NOT NULL,
  base_depth  INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  detail      TEXT NOT NULL DEFAULT '',
  check_id    INTEGER,
  event_id    INTEGER,
  raised_at   INTEGER NOT NULL,
  status      TEXT NOT NULL DEFAULT 'open',
  handled_by  INTEGER,
  handled_at  INTEGER,
  handle_note TEXT,
  closed_by   INTEGER,
  closed_at   INTEGER,
  close_note  TEXT,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX control_alerts_path ON control_alerts(status, node_path);
CREATE INDEX control_alerts_control ON control_alerts(control_id);

-- Counters per grid node (the record's node and every ancestor) and local
-- day, kept in each write's transaction: a roll-up of any node reads one
-- node's rows. Keys and their meaning: src/control/counts.c.
CREATE TABLE control_counts (
  node_id  INTEGER NOT NULL,
  key      TEXT NOT NULL,
  day      INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  PRIMARY KEY (node_id, key, day)
) WITHOUT ROWID;
