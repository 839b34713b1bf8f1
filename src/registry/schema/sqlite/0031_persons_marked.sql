-- A person's place is kept in memory by what checks it many times a second
-- (a checkpoint's scans): moving or removing a person marks the store
-- (store_stamp). A new person marks nothing: nothing kept can miss one.
CREATE TRIGGER persons_moved AFTER UPDATE OF node_path ON persons
WHEN OLD.node_path IS NOT NEW.node_path
BEGIN
  UPDATE store_marks SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER persons_removed AFTER DELETE ON persons
BEGIN
  UPDATE store_marks SET n = n + 1 WHERE id = 1;
END;
