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
FROM case_contacts k WHERE k.duplicate = 0;
