// A time range typed as wall time ('YYYY-MM-DD HH:mm', in the server's zone)
// as the API takes it: Unix seconds, both ends included; the end takes in the
// whole minute typed (up to 08:00 means until 08:00:59).
import { fromWall } from '../lib/time.js';

/** { from, to } in Unix seconds (undefined where not typed), or null when from is after to. */
export function wallRange(fromText, toText) {
  const from = fromText ? fromWall(fromText) : null;
  const to = toText ? fromWall(toText) : null;
  if (from !== null && to !== null && from > to) return null;
  return { from: from === null ? undefined : from, to: to === null ? undefined : to + 59 };
}
