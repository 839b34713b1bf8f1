-- The example module's one table.
CREATE TABLE examples (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  grid_id     INTEGER NOT NULL REFERENCES grid_nodes(id),
  node_path   TEXT NOT NULL,
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX examples_path ON examples(node_path);
