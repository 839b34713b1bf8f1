-- Roles are data: the built-in ones are seeded (with the default grants of
-- each right, the first time the right is seen), administrators add more.
-- Rights are stored by name: their order in the program never matters.
CREATE TABLE roles (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL UNIQUE,
  zh          TEXT NOT NULL,
  en          TEXT NOT NULL,
  rank        BIGINT NOT NULL,
  builtin     BIGINT NOT NULL DEFAULT 0,
  version     BIGINT NOT NULL DEFAULT 1,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);

CREATE TABLE role_rights (
  role_id     BIGINT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  right_name  TEXT NOT NULL,
  PRIMARY KEY (role_id, right_name)
);

-- Rights whose default grants were given: a right seen for the first time
-- (a new module, a new right of a module) goes to the built-in roles its
-- declaration names; what an administrator changed later stays changed.
CREATE TABLE rights_seen (
  name     TEXT PRIMARY KEY,
  seen_at  BIGINT NOT NULL
);

-- Bumped by every change of roles, so another process reloads them.
CREATE TABLE roles_generation (
  id          BIGINT PRIMARY KEY CHECK (id = 1),
  generation  BIGINT NOT NULL
);
INSERT INTO roles_generation (id, generation) VALUES (1, 1);
