-- PostgreSQL tells the servers of changes by notification (0016,
-- store_changes), which store_stamp() uses; this table only keeps both
-- dialects' schemas alike for the modules' triggers to name.
CREATE TABLE store_marks (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  n  BIGINT NOT NULL
);
INSERT INTO store_marks (id, n) VALUES (1, 0);
