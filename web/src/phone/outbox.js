// Writes made on the phone go through this outbox: each is stored in
// IndexedDB first, with an Idempotency-Key made when the write is made, then
// sent; when the network is gone it waits and is sent when it returns. A
// write whose answer was lost is resent with the same key, and the server
// answers it again without writing twice. Nothing is dropped: a write the
// server refuses stays, marked with the reason, until the person discards it.
import { reactive } from 'vue';
import { newKey } from '../lib/api.js';
import { session } from '../lib/session.js';

const DB = 'wangge-phone';
const STORE = 'outbox';
// The signed-in account (name, rights, scope, time zone: never a resident's
// data), so the app opens offline as that person and sends their writes.
const KEPT = 'kept';
let dbp = null;

function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 2);
      r.onupgradeneeded = () => {
        if (!r.result.objectStoreNames.contains(STORE)) r.result.createObjectStore(STORE, { keyPath: 'key' });
        if (!r.result.objectStoreNames.contains(KEPT)) r.result.createObjectStore(KEPT);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return dbp;
}

async function tx(mode, fn, name = STORE) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(name, mode);
    const req = fn(t.objectStore(name));
    t.oncomplete = () => resolve(req && req.result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

const all = () => tx('readonly', (s) => s.getAll());
const put = (item) => tx('readwrite', (s) => s.put(item));
const remove = (key) => tx('readwrite', (s) => s.delete(key));

const ACCOUNT_FIELDS = ['id', 'username', 'display_name', 'role', 'role_zh', 'scope_node_id', 'scope_path', 'scope_name', 'rights', 'time_zone', 'totp_enrollment_required'];
/** Keeps who is signed in (GET /me, the account's own fields) for opening the app offline. */
export function keepAccount(me) {
  const a = {};
  for (const f of ACCOUNT_FIELDS) if (me[f] !== undefined) a[f] = me[f];
  return tx('readwrite', (s) => s.put(JSON.parse(JSON.stringify(a)), 'account'), KEPT).catch(() => {});
}
/** The account kept by keepAccount, or null. */
export function keptAccount() {
  return tx('readonly', (s) => s.get('account'), KEPT).then((a) => a || null, () => null);
}
/** On signing out, or when the server says the session is over. */
export function forgetAccount() {
  return tx('readwrite', (s) => s.delete('account'), KEPT).catch(() => {});
}

export const outbox = reactive({ items: [], pending: 0, failed: 0, loaded: false, online: navigator.onLine, sending: false });
const listeners = new Set();
/** fn(item, answer) after the server accepted a write. */
export function onSent(fn) { listeners.add(fn); return () => listeners.delete(fn); }

async function refresh() {
  const items = (await all()).sort((a, b) => a.created - b.created);
  outbox.items = items;
  outbox.pending = items.filter((i) => i.state === 'pending').length;
  outbox.failed = items.filter((i) => i.state === 'failed').length;
  outbox.loaded = true;
}

/** Stores a write (method, path, body, ifMatch, label, ref) and tries to send it. */
export async function enqueue(w) {
  const item = {
    key: newKey(), method: w.method, path: w.path, body: JSON.parse(JSON.stringify(w.body ?? {})), ifMatch: w.ifMatch ?? null,
    label: w.label || '', ref: w.ref || null, user: session.me ? session.me.id : null,
    created: Date.now(), state: 'pending', error: null, tries: 0,
  };
  await put(item);
  await refresh();
  flush();
  return item;
}

let running = null;
let again = false;
/**
 * Sends pending writes in the order they were made; stops at the first network
 * failure. A write made while a round of sending is under way is sent by
 * another round right after it (not 15 s later).
 */
export function flush() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    do {
      again = false;
      await send();
    } while (again && outbox.online);
  })().finally(() => { running = null; });
  return running;
}

async function send() {
  outbox.sending = true;
  try {
    const me = session.me;
    const items = (await all()).filter((i) => i.state === 'pending' && me && i.user === me.id).sort((a, b) => a.created - b.created);
    for (const it of items) {
      const headers = { 'content-type': 'application/json', accept: 'application/json', 'idempotency-key': it.key };
      if (it.ifMatch !== null && it.ifMatch !== undefined) headers['if-match'] = String(it.ifMatch);
      let res;
      try {
        res = await fetch('/api/v1' + it.path, { method: it.method, headers, body: JSON.stringify(it.body || {}), credentials: 'same-origin' });
      } catch {
        it.tries += 1;
        await put(it);
        break; // offline, or the answer was lost: the same key goes again later
      }
      const text = await res.text().catch(() => '');
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
      if (res.ok) {
        await remove(it.key);
        for (const fn of listeners) fn(it, json);
        continue;
      }
      if (res.status === 401 || res.status === 408 || res.status === 429 || res.status >= 500) break;
      it.state = 'failed';
      it.error = (json && json.error) || { message: `HTTP ${res.status}`, message_en: `HTTP ${res.status}` };
      await put(it);
    }
  } finally {
    outbox.sending = false;
    await refresh();
  }
}

/** Puts a refused write back in the queue (after the person fixed the cause), or drops it. */
export async function retry(key) {
  const it = (await all()).find((i) => i.key === key);
  if (!it) return;
  it.state = 'pending';
  it.error = null;
  await put(it);
  await refresh();
  flush();
}
export async function discard(key) { await remove(key); await refresh(); }

export function startOutbox() {
  refresh().then(flush);
  window.addEventListener('online', () => { outbox.online = true; flush(); });
  window.addEventListener('offline', () => { outbox.online = false; });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) flush(); });
  setInterval(() => { if (outbox.pending) flush(); }, 15000);
}
