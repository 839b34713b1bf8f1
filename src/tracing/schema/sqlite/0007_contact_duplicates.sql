-- One person, two engine ids: scanned by phone before being registered and
-- by person id after. "Apply" keeps the stronger of the two rows (close
-- before secondary, then the longer exposure) for the community's list and
-- marks the other, which stays as evidence.
ALTER TABLE case_contacts ADD COLUMN duplicate INTEGER NOT NULL DEFAULT 0;
