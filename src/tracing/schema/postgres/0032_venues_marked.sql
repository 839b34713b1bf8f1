-- A venue's code and place are kept in memory by the scans at it: changing
-- either, or removing the venue, notifies the servers (store_stamp).
CREATE TRIGGER venues_changed AFTER UPDATE OF code, node_path OR DELETE OR TRUNCATE ON venues
	FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
