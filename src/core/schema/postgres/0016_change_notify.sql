-- What the server keeps in memory is kept true by these: a statement that
-- changes the grid tree, its leaders or the accounts (whose names the
-- leaders show) notifies every listening connection when its transaction
-- commits, in this process and in any other (core/store/store.h,
-- store_changes). One notification per table and transaction at most:
-- PostgreSQL folds identical ones.
CREATE FUNCTION wangge_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('wangge_changes', TG_TABLE_NAME);
	RETURN NULL;
END $$;

CREATE TRIGGER grid_nodes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_nodes
	FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
CREATE TRIGGER grid_leaders_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_leaders
	FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OF display_name OR DELETE OR TRUNCATE ON users
	FOR EACH STATEMENT EXECUTE FUNCTION wangge_notify_change();
