-- Online sessions get an id of their own (GET /api/v1/sessions, forced
-- sign-out by DELETE /api/v1/sessions/{id}); the token's hash stays the key
-- a request is looked up by. SQLite adds no primary key to a table, so the
-- table is made again.
CREATE TABLE sessions_new (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash  TEXT NOT NULL UNIQUE,
  user_id     INTEGER NOT NULL REFERENCES users(id),
  created_at  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  address     TEXT NOT NULL DEFAULT ''
);
INSERT INTO sessions_new (token_hash, user_id, created_at, last_seen, address)
  SELECT token_hash, user_id, created_at, last_seen, address FROM sessions ORDER BY created_at;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id);

-- The login log (等保: 登录日志), for the administrator: every sign-in and
-- its outcome. The audit trail records the same for the auditor; this one
-- is searched by user, outcome and time. node_path is the account's scope
-- ('' for an unknown name), so a town's administrator sees the town's.
CREATE TABLE logins (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  user_id    INTEGER,
  username   TEXT NOT NULL,
  address    TEXT NOT NULL DEFAULT '',
  outcome    TEXT NOT NULL,
  node_path  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX logins_at ON logins(at);
CREATE INDEX logins_username ON logins(username);
