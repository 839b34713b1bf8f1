// Names of grid nodes for records that carry only grid_id and node_path:
// each node is read once (GET /grids/{id}) and kept for the session. A
// building is shown with its grid ("第1网格 · 2号楼").
import { reactive } from 'vue';
import { get } from '../lib/api.js';

const nodes = reactive({});
const asked = new Map();

function fetchNode(id) {
  if (!asked.has(id)) {
    asked.set(id, get(`/grids/${id}`).then((n) => {
      nodes[id] = n;
      if (n.kind === 'building' && n.parent_id) fetchNode(n.parent_id);
      return n;
    }).catch(() => null));
  }
  return asked.get(id);
}

/** The place's name as people say it, '' until it has been read (it is then filled in reactively). */
export function placeName(id) {
  if (!id) return '';
  const n = nodes[id];
  if (!n) {
    fetchNode(id);
    return '';
  }
  if (n.kind === 'building' && n.parent_id) {
    const p = nodes[n.parent_id];
    return p ? `${p.name} · ${n.name}` : n.name;
  }
  return n.name;
}

/** The node as GET /grids/{id} answered, or null until it has been read. */
export function cachedNode(id) {
  if (!id) return null;
  placeName(id);
  return nodes[id] || null;
}
