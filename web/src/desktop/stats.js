// The dashboard's figures: GET /api/v1/stats/children counts on the server
// what lies under a node and under each of its direct children (households,
// persons, cases, contacts handed over, and whatever other modules count).
// Only counts come back, so nothing is read or audited record by record; a
// figure the role may not see is absent from the answer.
import { get } from '../lib/api.js';

/** The figures the pages know by name, in the order they are shown. */
export const KNOWN_FIGURES = ['households', 'persons', 'cases', 'contacts'];
const NOT_FIGURES = new Set(['id', 'name', 'kind', 'path', 'parent_id']);

/** The figure keys an answer carries: the known ones in order, then any other count. */
export function figureKeys(node) {
  const known = KNOWN_FIGURES.filter((k) => typeof node[k] === 'number');
  const other = Object.keys(node).filter((k) => !NOT_FIGURES.has(k) && !KNOWN_FIGURES.includes(k) && typeof node[k] === 'number');
  return [...known, ...other];
}

/**
 * { node: {id, name, kind, …figures}, items: [same per direct child], figures: [keys] }
 * for a node (the caller's scope node when id is not given).
 */
export async function childStats(id) {
  const r = await get('/stats/children', id ? { node: id } : undefined);
  return { node: r.node, items: r.items, figures: figureKeys(r.node) };
}
