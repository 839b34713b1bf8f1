-- The registry's public shape for other modules' set-based SQL
-- (registry/registry.h): they read this view, never the tables.
CREATE VIEW registry_people AS
SELECT p.id, p.grid_id, p.node_path, p.household_id, p.name, p.gender, p.birth_date,
       p.phone_enc, p.phone_bidx, COALESCE(h.address, '') AS address
FROM persons p LEFT JOIN households h ON h.id = p.household_id;
