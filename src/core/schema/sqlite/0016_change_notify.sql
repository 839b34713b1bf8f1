-- PostgreSQL notifies the servers of changes to the grid tree, its leaders
-- and the accounts' names (postgres/0016). An embedded SQLite store has one
-- server and nothing kept in memory to tell: nothing to do here.
SELECT 1;
