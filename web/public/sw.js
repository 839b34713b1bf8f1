/* The service worker of the phone app (/m/) and the door page (/v/): each is
 * registered with its own scope, so the desktop pages are never controlled.
 *
 * - The page (index.html, the same for every route) is asked of the network
 *   first, so a new build is seen at once; when the network is gone, or says
 *   nothing within NET_WAIT_MS, the copy kept from the last visit is shown.
 * - The app's hashed files (written into FILES by web/scripts/postbuild.mjs
 *   at build time, lazily loaded pages included) are kept at install and
 *   served from the cache: their names change with their content.
 * - The API (/api/) is never touched: its answers carry personal data and
 *   are not kept here. What the phone keeps offline is in IndexedDB
 *   (src/phone/outbox.js: the writes not yet sent and the account's name
 *   and rights), and it is dropped on signing out.
 * - Each build has its own cache (BUILD changes with FILES); the new worker
 *   takes over at once and deletes the caches of older builds. */
'use strict';

const BUILD = 'dev'/*WG_SW_BUILD*/;
const FILES = {}/*WG_SW_FILES*/;
const NET_WAIT_MS = 3000;
const SHELL = '/index.html';

const scopePath = new URL(self.registration.scope).pathname;
const APP = scopePath.startsWith('/v/') ? 'door' : 'phone';
const PREFIX = `wangge-${APP}-`;
const CACHE = PREFIX + BUILD;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // The page revalidated (it is no-cache), the hashed files as they are.
    await cache.add(new Request(SHELL, { cache: 'no-cache' }));
    await cache.addAll(FILES[APP] || []);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') event.respondWith(page(event));
  else if (url.pathname.startsWith('/assets/')) event.respondWith(asset(req));
});

function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('slow network')), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

// Stores into this build's cache, unless a newer worker has deleted it meanwhile.
async function keep(req, res) {
  if (res.ok && res.type === 'basic' && await caches.has(CACHE)) await (await caches.open(CACHE)).put(req, res);
}
async function kept(req) {
  if (!await caches.has(CACHE)) return undefined;
  return (await caches.open(CACHE)).match(req, { ignoreVary: true });
}

async function page(event) {
  const net = (async () => {
    const res = (await event.preloadResponse) || (await fetch(event.request));
    // Every route of the app is the same page: the newest one is kept for offline use.
    await keep(SHELL, res.clone());
    return res;
  })();
  event.waitUntil(net.catch(() => null));
  try {
    return await within(net, NET_WAIT_MS);
  } catch {
    return (await kept(SHELL)) || net;
  }
}

async function asset(req) {
  const hit = await kept(req);
  if (hit) return hit;
  const res = await fetch(req);
  await keep(req, res.clone());
  return res;
}
