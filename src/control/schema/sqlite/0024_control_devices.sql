-- Door sensors and smart doorbells (门磁, 智慧门铃) of households under home
-- isolation: the household's consent first, then devices with an HMAC key
-- each (kept encrypted as column "device_key"), then their events, each
-- stored once per device and event id.
CREATE TABLE control_consents (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  household_id  INTEGER NOT NULL UNIQUE,
  node_path     TEXT NOT NULL,
  signer        TEXT NOT NULL,
  method        TEXT NOT NULL,
  consented_at  INTEGER NOT NULL,
  note          TEXT,
  user_id       INTEGER,
  created_at    INTEGER NOT NULL
);
CREATE INDEX control_consents_path ON control_consents(node_path);

CREATE TABLE control_devices (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  household_id    INTEGER NOT NULL,
  node_path       TEXT NOT NULL,
  kind            TEXT NOT NULL,
  serial          TEXT NOT NULL UNIQUE,
  device_key_enc  TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'active',
  last_event_at   INTEGER,
  user_id         INTEGER,
  version         INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX control_devices_path ON control_devices(node_path);
CREATE INDEX control_devices_household ON control_devices(household_id);

CREATE TABLE control_device_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id   INTEGER NOT NULL REFERENCES control_devices(id),
  event_id    TEXT NOT NULL,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  digest      TEXT NOT NULL,
  control_id  INTEGER,
  alert_id    INTEGER,
  UNIQUE (device_id, event_id)
);
