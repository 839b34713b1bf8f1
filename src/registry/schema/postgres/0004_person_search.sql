-- Name searches count their matches from the index alone: the scope path
-- rides along in the name index, so no row is read to check it.
DROP INDEX persons_name;
CREATE INDEX persons_name ON persons(name text_pattern_ops, node_path);
