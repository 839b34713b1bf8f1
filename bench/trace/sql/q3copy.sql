-- Q3 written out: the distinct (case, contact) pairs of the batch of
-- cases(person, onset) into a CSV file (@OUT@), with a header line, as
-- `wangge trace batch --format csv` writes them.
COPY (
  SELECT DISTINCT k.person AS "case", s.person AS person
  FROM cases k
  JOIN scans c ON c.person = k.person AND c.t_out >= k.onset - 1209600
  JOIN scans s ON s.venue = c.venue
              AND s.t_in BETWEEN c.t_in - 9000 AND c.t_out + 1800
              AND s.t_out >= c.t_in - 1800
  WHERE s.person <> k.person
) TO '@OUT@' (HEADER, DELIMITER ',');
