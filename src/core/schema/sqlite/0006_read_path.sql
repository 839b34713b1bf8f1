-- The audit trail is read by id only (newest first, and in order by the
-- verifier); these indexes served no query and cost every audited read two
-- index insertions.
DROP INDEX audit_at;
DROP INDEX audit_resource;

-- A node's leaders are read with the node, in duty order, straight off this
-- index (no sort per read).
CREATE INDEX grid_leaders_node_duty ON grid_leaders(node_id, duty, user_id);
