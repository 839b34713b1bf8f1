-- A person's place is kept in memory by what checks it many times a second
-- (a checkpoint's scans): moving or removing a person notifies the servers
-- (store_changes, store_stamp). A new person changes nothing kept.
CREATE TRIGGER persons_changed AFTER UPDATE OF node_path OR DELETE OR TRUNCATE ON persons
	FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
