-- Q2: secondary contacts of one case, "contacts of contacts over the whole
-- window" (the self-join): not the case, not a close contact.
WITH cs AS (
  SELECT venue, t_in, t_out FROM scans WHERE person = @CASE@ AND t_out >= @W@
), close AS (
  SELECT DISTINCT s.person
  FROM cs JOIN scans s ON s.venue = cs.venue
                      AND s.t_in BETWEEN cs.t_in - 9000 AND cs.t_out + 1800
                      AND s.t_out >= cs.t_in - 1800
  WHERE s.person <> @CASE@
), sec AS (
  SELECT DISTINCT s.person
  FROM close k
  JOIN scans c ON c.person = k.person AND c.t_out >= @W@
  JOIN scans s ON s.venue = c.venue
              AND s.t_in BETWEEN c.t_in - 9000 AND c.t_out + 1800
              AND s.t_out >= c.t_in - 1800
)
SELECT count(*), sum(CAST(@CASE@ AS BIGINT) * 1000003 + person) FROM sec
WHERE person <> @CASE@ AND person NOT IN (SELECT person FROM close);
