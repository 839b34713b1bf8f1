-- The audit trail is read by id only (newest first, and in order by the
-- verifier); these indexes served no query and cost every audited read two
-- index insertions.
DROP INDEX audit_at;
DROP INDEX audit_resource;
