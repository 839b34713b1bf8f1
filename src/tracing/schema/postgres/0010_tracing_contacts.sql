-- A new trace of a case waits (pending = 1) beside the lists already
-- handed out, which stay in force until the new result is applied: the
-- key takes pending in.
ALTER TABLE case_contacts ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_contacts DROP CONSTRAINT case_contacts_pkey;
ALTER TABLE case_contacts ADD PRIMARY KEY (case_id, pending, kind, person_id);
-- A community's list is read by the subtree of its node.
CREATE INDEX case_contacts_path ON case_contacts(node_path);

-- The tracing module's public shape of the lists it hands out
-- (tracing/tracing.h): modules that act on them read this view, never
-- case_contacts. person_id is the registry person, NULL for a phone
-- number nobody in the registry has yet.
CREATE VIEW tracing_contacts AS
SELECT k.case_id, k.kind, k.rank,
       CASE WHEN k.located_person_id IS NOT NULL THEN k.located_person_id
            WHEN k.person_id < 2147483648 THEN k.person_id END AS person_id,
       CASE WHEN k.person_id >= 2147483648 THEN k.person_id END AS subject_id,
       k.community_id, k.node_path, k.hit_in, k.hit_out, k.overlap_min, k.total_overlap_min
FROM case_contacts k WHERE k.duplicate = 0 AND k.pending = 0;
