-- Q1: close contacts of one case (distinct persons). Times in Unix seconds;
-- buffer 1800 s, maximum stay 7200 s, window start @W@ = onset - 14 days.
-- The BETWEEN bound (t_in >= c.t_in - buffer - max stay) is implied by the
-- maximum stay; it lets an index on (venue, t_in) serve the join.
SELECT count(*), sum(CAST(@CASE@ AS BIGINT) * 1000003 + person) FROM (
  SELECT DISTINCT s.person
  FROM scans c
  JOIN scans s ON s.venue = c.venue
              AND s.t_in BETWEEN c.t_in - 9000 AND c.t_out + 1800
              AND s.t_out >= c.t_in - 1800
  WHERE c.person = @CASE@ AND c.t_out >= @W@ AND s.person <> @CASE@
) x;
