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
  if (!can('GRID_READ')) {
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

/** A session that must set up two-factor sign-in first may do nothing else (GET /me totp_enrollment_required). */
export function mustEnroll() {
  return !!session.me && session.me.totp_enrollment_required === true;
}

export function can(...rights) {
  return !!session.me && !mustEnroll() && rights.every((r) => session.me.rights.includes(r));
}

/** totp: the one-time code (or a recovery code) once the server has answered totp_required. */
export async function signIn(username, password, totp) {
  dropPrefetched();
  const r = await api('POST', '/session', { body: { username, password, ...(totp ? { totp } : {}) } });
  session.me = null;
  session.scopeName = '';
  await loadMe();
  return r;
}

/** all: ends every session of the account, on every device (DELETE /session?all=1); its failure is thrown. */
export async function signOut(all = false) {
  dropPrefetched();
  if (all) await api('DELETE', '/session', { query: { all: 1 } });
  else try { await api('DELETE', '/session'); } catch { /* already gone */ }
  session.me = null;
  session.scopeName = '';
}
