-- registry_people also publishes the ID number's blind index (id_number_bidx,
-- keyed as column "id_number": crypt.h), so that another module matches a
-- list or a scanned ID card to a person by ID number as it does by phone.
-- A column added at the end: what the view published before stays as it was.
DROP VIEW registry_people;
CREATE VIEW registry_people AS
SELECT p.id, p.grid_id, p.node_path, p.household_id, p.name, p.gender, p.birth_date,
       p.phone_enc, p.phone_bidx, COALESCE(h.address, '') AS address, p.id_number_bidx
FROM persons p LEFT JOIN households h ON h.id = p.household_id;
