-- A number every change to what a server keeps in memory raises, bumped by
-- the triggers of the tables concerned (each module marks its own). Every
-- writer runs them (this server, a second process, a command, the sqlite3
-- shell), so store_stamp() can tell whether anything kept went stale by
-- reading one row, and only when the store has seen a commit since.
CREATE TABLE store_marks (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  INTEGER NOT NULL
);
INSERT INTO store_marks (id, n) VALUES (1, 0);
