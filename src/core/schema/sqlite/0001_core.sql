-- Platform core: the grid tree, accounts, sessions, audit, idempotent retries.
-- AUTOINCREMENT: an id is never reused, so old links and audit records never
-- point at a different record.
CREATE TABLE grid_nodes (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  parent_id   INTEGER REFERENCES grid_nodes(id),
  kind        TEXT NOT NULL,
  code        TEXT,
  name        TEXT NOT NULL,
  path        TEXT NOT NULL,
  geometry    TEXT,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX grid_nodes_path ON grid_nodes(path);
CREATE INDEX grid_nodes_parent ON grid_nodes(parent_id);
CREATE INDEX grid_nodes_code ON grid_nodes(code);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,
  scope_node_id INTEGER NOT NULL REFERENCES grid_nodes(id),
  display_name  TEXT NOT NULL DEFAULT '',
  phone         TEXT NOT NULL DEFAULT '',
  disabled      INTEGER NOT NULL DEFAULT 0,
  version       INTEGER NOT NULL DEFAULT 1,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX users_scope ON users(scope_node_id);

CREATE TABLE grid_leaders (
  node_id  INTEGER NOT NULL REFERENCES grid_nodes(id) ON DELETE CASCADE,
  user_id  INTEGER NOT NULL REFERENCES users(id),
  duty     TEXT NOT NULL,
  PRIMARY KEY (node_id, user_id, duty)
);
CREATE INDEX grid_leaders_user ON grid_leaders(user_id);

CREATE TABLE sessions (
  token_hash  TEXT PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users(id),
  created_at  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  address     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
  subject      TEXT PRIMARY KEY,
  failures     INTEGER NOT NULL,
  first_at     INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  user_id    INTEGER,
  username   TEXT NOT NULL DEFAULT '',
  address    TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL,
  resource   TEXT NOT NULL,
  record_id  TEXT NOT NULL DEFAULT '',
  node_path  TEXT NOT NULL DEFAULT '',
  change_hash TEXT NOT NULL DEFAULT '',
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX audit_resource ON audit(resource, record_id);

CREATE TABLE audit_head (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  last_id   INTEGER NOT NULL,
  last_hash TEXT NOT NULL
);

CREATE TABLE idempotency (
  user_id    INTEGER NOT NULL,
  key        TEXT NOT NULL,
  route      TEXT NOT NULL,
  status     INTEGER NOT NULL,
  body       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
);
