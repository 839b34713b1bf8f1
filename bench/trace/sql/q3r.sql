-- Q3r: close contacts of the batch with onsets spread over the days
-- (table cases_random(person, onset)),
-- distinct (case, contact) pairs.
SELECT count(*), sum(CAST(cp AS BIGINT) * 1000003 + sp) FROM (
  SELECT DISTINCT k.person AS cp, s.person AS sp
  FROM cases_random k
  JOIN scans c ON c.person = k.person AND c.t_out >= k.onset - 1209600
  JOIN scans s ON s.venue = c.venue
              AND s.t_in BETWEEN c.t_in - 9000 AND c.t_out + 1800
              AND s.t_out >= c.t_in - 1800
  WHERE s.person <> k.person
) x;
