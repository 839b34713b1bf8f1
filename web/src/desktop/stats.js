// The dashboard's figures per child node of a scope. Today they are
// computed from list endpoints (each list's `total`, and the handed-over
// contacts counted by node path); when the server offers one statistics
// endpoint, only this module changes.
import { get, getAll } from '../lib/api.js';

async function mapLimit(items, n, fn) {
  const out = new Array(items.length);
  let i = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]);
    }
  });
  await Promise.all(workers);
  return out;
}

const total = (path, q) => get(path, { ...q, limit: 1 }).then((r) => r.total, () => null);

/**
 * [{id, name, kind, path, households, persons, cases, contacts}] for the
 * children of node; a figure is null where the user may not read it.
 */
export async function childStats(node, { cases = false, contacts = true } = {}) {
  const kids = (await get(`/grids/${node.id}/children`)).items;
  const handed = contacts ? await getAll('/contacts', {}, 50000).catch(() => null) : null;
  return mapLimit(kids, 4, async (k) => ({
    id: k.id,
    name: k.name,
    kind: k.kind,
    path: k.path,
    households: await total('/households', { grid: k.id }),
    persons: await total('/persons', { grid: k.id }),
    cases: cases ? await total('/cases', { grid: k.id }) : null,
    contacts: handed ? handed.filter((c) => !c.duplicate && c.node_path && c.node_path.startsWith(k.path)).length : null,
  }));
}
