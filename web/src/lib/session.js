// Who is signed in (GET /api/v1/me) and what they may do, shared by the
// desktop and phone apps.
import { reactive } from 'vue';
import { api, get, dropPrefetched } from './api.js';
import { setTimeZone } from './time.js';

export const session = reactive({ me: null, loaded: false, scopeName: '' });

export async function loadMe() {
  try {
    session.me = await get('/me');
  } catch (e) {
    if (e.status !== 401) throw e;
    session.me = null;
    dropPrefetched();
  } finally {
    session.loaded = true;
  }
  if (session.me) setTimeZone(session.me.time_zone);
  if (session.me && !session.scopeName) loadScopeName();
  return session.me;
}

async function loadScopeName() {
  const me = session.me;
  if (!me.rights.includes('GRID_READ')) {
    session.scopeName = me.scope_path;
    return;
  }
  try {
    const node = await get(`/grids/${me.scope_node_id}`);
    if (session.me === me) session.scopeName = node.name;
  } catch {
    session.scopeName = me.scope_path;
  }
}

export function can(...rights) {
  return !!session.me && rights.every((r) => session.me.rights.includes(r));
}

export async function signIn(username, password) {
  dropPrefetched();
  const r = await api('POST', '/session', { body: { username, password } });
  session.me = null;
  session.scopeName = '';
  await loadMe();
  return r;
}

export async function signOut() {
  dropPrefetched();
  try { await api('DELETE', '/session'); } catch { /* already gone */ }
  session.me = null;
  session.scopeName = '';
}
