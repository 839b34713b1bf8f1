-- A venue's code and place are kept in memory by the scans at it: changing
-- either, or removing the venue, marks the store (store_stamp).
CREATE TRIGGER venues_moved AFTER UPDATE OF code, node_path ON venues
WHEN OLD.code IS NOT NEW.code OR OLD.node_path IS NOT NEW.node_path
BEGIN
  UPDATE store_marks SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER venues_removed AFTER DELETE ON venues
BEGIN
  UPDATE store_marks SET n = n + 1 WHERE id = 1;
END;
