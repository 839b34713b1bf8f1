'use strict';
// The phone app and the door page open without a network (web/public/sw.js):
// loaded once online, the phone is taken offline and reloaded, and shows
// 今日任务 as the account last signed in, with its outbox; a sample recorded
// offline is sent once when the network returns. The worker keeps the app's
// files and page, never an API answer, controls /m/ and /v/ only (not the
// desktop pages), is sent with no-cache, and a new build replaces its cache.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const h = require('./harness');

let srv, browser, command, gridworker, venue;
const P = {};

async function call(method, p, body, token = command) {
  const r = await srv.api(method, p, { token, body });
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

/** Every URL path the page's origin keeps in Cache Storage, by cache. */
const cached = (page) => page.evaluate(async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const c = await caches.open(name);
    out[name] = (await c.keys()).map((r) => new URL(r.url).pathname);
  }
  return out;
});
const cacheNames = (page) => page.evaluate(() => caches.keys());
/** Waits until the page is controlled by a service worker; its scope. */
async function controlled(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
  return page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
}
const outbox = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const r = indexedDB.open('wangge-phone');
  r.onsuccess = () => {
    const q = r.result.transaction('outbox').objectStore('outbox').getAll();
    q.onsuccess = () => resolve(q.result);
    q.onerror = () => reject(q.error);
  };
  r.onerror = () => reject(r.error);
}));

before(async () => {
  srv = await h.startServer();
  [command, gridworker] = await Promise.all([srv.login('command'), srv.login('gridworker')]);
  for (const [i, name] of ['孙立新', '马红梅'].entries()) {
    const id = h.idNumber(`19${60 + i}-11-21`, 60 + i);
    P[name] = { ...(await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name, id_number: id })), id_number: id };
  }
  await call('POST', '/api/v1/nat-rounds/1/refresh', {});
  venue = await call('POST', '/api/v1/venues', { grid_id: h.DEMO.grid, name: '东街药店', kind: 'pharmacy' });
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the service worker file: JavaScript, asked for again each time, the build’s files in it', async () => {
  const r = await fetch(`${srv.base}/sw.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-cache', 'a new build’s worker is seen at once');
  const text = await r.text();
  assert.doesNotMatch(text, /'dev'\/\*WG_SW_BUILD\*\/|\{\}\/\*WG_SW_FILES\*\//, 'the build filled in the file list');
  const files = JSON.parse(/const FILES = (\{.*\});/.exec(text)[1]);
  assert.deepEqual(Object.keys(files).sort(), ['door', 'phone']);
  for (const f of [...files.phone, ...files.door]) assert.match(f, /^\/assets\/[\w.-]+\.(js|css|svg)$/, 'the app’s hashed files only');
});

test('offline: the phone reopens at 今日任务 with its outbox; a sample recorded offline is sent once when the network returns', async () => {
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await page.goto(`${srv.base}/m/nat/1`);
  await page.locator('[data-test=m-nat-progress]').waitFor();
  await page.goto(`${srv.base}/m/`);
  await page.waitForFunction(() => document.querySelector('[data-test=m-pending]')?.innerText === '0');
  assert.match(await controlled(page), /\/m\/$/);
  assert.ok(await h.eventually(async () => (await cacheNames(page)).length > 0));
  const kept = await cached(page);
  const names = Object.keys(kept);
  assert.equal(names.length, 1, names.join());
  assert.match(names[0], /^wangge-phone-[0-9a-f]{16}$/);
  const files = kept[names[0]];
  assert.ok(files.includes('/index.html'), 'the page');
  assert.ok(files.some((f) => /\/NatPage-.*\.js$/.test(f)), 'the lazily loaded pages too');
  assert.ok(files.some((f) => /\/jsQR-.*\.js$/.test(f)), 'and the QR reader, for scanning offline');
  assert.deepEqual(files.filter((f) => !/^\/(index\.html|assets\/.+)$/.test(f)), [], 'nothing but the page and the app’s files: no API answer');

  await ctx.setOffline(true);
  await page.reload();
  await page.locator('.van-nav-bar__title', { hasText: '今日任务' }).waitFor();
  await page.locator('[data-test=m-offline]').waitFor();
  await page.locator('[data-test=m-offline-lists]').waitFor();
  console.log(`# phone /m/ opened offline: usable at ${Math.round(await h.usableAt(page))} ms`);
  assert.equal(await page.locator('[data-test=m-user]').innerText(), '网格员小王', 'the account last signed in');
  assert.equal(await page.locator('[data-test=m-pending]').innerText(), '0');
  assert.ok(await page.locator('[data-test=m-tab-nat]').isVisible(), 'the tabs of its rights');
  await h.shot(page, 'phone-offline');

  // At the sampling point, still offline: the round last opened (online, below) opens from the
  // sampling tab and a code is recorded on the phone.
  const before = await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker);
  await page.click('[data-test=m-tab-nat]');
  await page.waitForURL(/\/m\/nat\/1$/);
  await page.locator('.van-nav-bar__title', { hasText: '第一轮全员核酸检测' }).waitFor();
  assert.equal(await page.locator('.m-error').count(), 0, 'offline is said once, by the bar, not as an error');
  await page.locator('#m-code').waitFor();
  await page.fill('#m-code', P['孙立新'].id_number);
  await page.press('#m-code', 'Enter');
  await page.locator('[data-test=m-recent-waiting]').waitFor();
  assert.equal((await outbox(page)).length, 1);
  await page.goto(`${srv.base}/m/`);
  await page.waitForFunction(() => document.querySelector('[data-test=m-pending]')?.innerText === '1');
  assert.equal((await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker)).sampled, before.sampled, 'nothing reached the server');

  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && /\/samples$/.test(r.url())) posts.push(r.url()); });
  await ctx.setOffline(false);
  await page.waitForFunction(() => document.querySelector('[data-test=m-pending]')?.innerText === '0');
  await page.waitForFunction(() => document.querySelector('[data-test=m-count-contacts]')?.innerText !== '…');
  assert.equal(await page.locator('[data-test=m-offline-lists]').count(), 0, 'the lists loaded once online');
  assert.equal(posts.length, 1, 'sent once');
  assert.deepEqual(await outbox(page), []);
  const left = await call('GET', '/api/v1/nat-rounds/1/unsampled?limit=100', undefined, gridworker);
  assert.ok(!left.items.some((x) => x.person_id === P['孙立新'].id), 'the server holds the sample');
  assert.equal((await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker)).sampled, before.sampled + 1);
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);

  // Signing out forgets the account: offline, the phone no longer opens as that person.
  await page.goto(`${srv.base}/m/me`);
  await page.click('[data-test=m-signout]');
  await page.waitForURL(/\/m\/login/);
  await ctx.setOffline(true);
  await page.goto(`${srv.base}/m/`);
  await page.locator('.van-nav-bar__title', { hasText: '今日任务' }).waitFor();
  assert.equal(await page.locator('[data-test=m-user]').innerText(), '');
  assert.equal(await page.locator('[data-test=m-tab-nat]').count(), 0);
  await ctx.close();
});

/**
 * A proxy in front of the server standing for the phone's network: while
 * hang is set, every request waits that many ms before it goes on.
 */
function flakyProxy(target) {
  const state = { hang: 0, seen: [] };
  const server = http.createServer((req, res) => {
    const go = () => {
      const up = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (state.hang) {
      state.seen.push(req.url);
      setTimeout(go, state.hang);
    } else go();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ state, base: `http://127.0.0.1:${server.address().port}`, close: () => { server.closeAllConnections(); server.close(); } }));
  });
}

test('a connection that hangs: the kept page within seconds, as the kept account while /me has not answered', async () => {
  const net = await flakyProxy(srv.base);
  const ctx = await h.context(browser, { phone: true });
  try {
    await h.signInApi(ctx, net.base, 'gridworker');
    const page = await ctx.newPage();
    const errors = h.watchErrors(page);
    await page.goto(`${net.base}/m/`);
    await page.waitForFunction(() => document.querySelector('[data-test=m-count-contacts]')?.innerText !== '…');
    await controlled(page);
    net.state.hang = 15000;
    const t0 = Date.now();
    await page.reload({ waitUntil: 'commit', timeout: 30000 });
    await page.locator('[data-test=m-user]', { hasText: '网格员小王' }).waitFor({ timeout: 12000 });
    const ms = Date.now() - t0;
    console.log(`# phone /m/ on a connection that hangs: 今日任务 shown as the kept account after ${ms} ms (the worker waits 3 s for the page, the app 2 s for /me)`);
    assert.ok(ms < 12000, `shown before the network answered (${ms} ms)`);
    assert.ok(net.state.seen.includes('/m/'), `the page was asked of the network first: ${net.state.seen}`);
    assert.ok(net.state.seen.includes('/api/v1/me'), `and /me: ${net.state.seen}`);
    assert.equal(await page.locator('.van-nav-bar__title').innerText(), '今日任务');
    // When the answers come after all, the page goes on as usual.
    await page.waitForFunction(() => document.querySelector('[data-test=m-count-contacts]')?.innerText === '0', null, { timeout: 30000 });
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    net.close();
  }
});

test('the door page opens offline (offering to retry); the desktop pages are not controlled', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  await page.goto(`${srv.base}/v/${venue.code}`);
  await page.locator('[data-test=door-venue]').waitFor();
  assert.match(await controlled(page), /\/v\/$/);
  await ctx.setOffline(true);
  await page.reload();
  await page.locator('[data-test=door-error]').waitFor();
  assert.match(await page.locator('[data-test=door-error]').innerText(), /网络不通/);
  await ctx.setOffline(false);
  await page.click('button:has-text("重试")');
  await page.locator('[data-test=door-venue]').waitFor();
  assert.equal(await page.locator('[data-test=door-venue]').innerText(), '东街药店');
  // The door's worker keeps the door page only, not the phone app.
  const kept = Object.entries(await cached(page));
  assert.equal(kept.length, 1);
  assert.match(kept[0][0], /^wangge-door-/);
  assert.ok(kept[0][1].length <= 3, kept[0][1].join());

  const desk = await h.context(browser);
  await h.signInApi(desk, srv.base, 'command');
  const d = await desk.newPage();
  await d.goto(`${srv.base}/m/`);
  await controlled(d);
  await d.goto(`${srv.base}/grid`);
  await d.waitForLoadState('networkidle');
  assert.equal(await d.evaluate(() => navigator.serviceWorker.controller), null, 'the desktop page is not the worker’s');
  const scopes = await d.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => new URL(r.scope).pathname));
  assert.deepEqual(scopes, ['/m/']);
  await desk.close();
  await ctx.close();
});

test('a new build: the worker is replaced and the old build’s cache deleted', async () => {
  // A server of its own over a copy of the build, whose worker is then "rebuilt".
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-dist-'));
  fs.cpSync(h.DIST, dist, { recursive: true });
  const own = await h.startServer({ static_dir: dist });
  try {
    const ctx = await h.context(browser, { phone: true });
    await h.signInApi(ctx, own.base, 'gridworker');
    const page = await ctx.newPage();
    await page.goto(`${own.base}/m/`);
    await controlled(page);
    assert.ok(await h.eventually(async () => (await cacheNames(page)).length > 0));
    const [first] = Object.keys(await cached(page));
    const id = first.replace('wangge-phone-', '');
    const sw = path.join(dist, 'sw.js');
    const next = fs.readFileSync(sw, 'utf8').replace(JSON.stringify(id), JSON.stringify('0000000000000000'));
    fs.writeFileSync(sw, next);
    fs.writeFileSync(`${sw}.gz`, zlib.gzipSync(next));
    await page.reload(); // a navigation looks for a new worker
    const replaced = await h.eventually(async () => (await cacheNames(page)).join() === 'wangge-phone-0000000000000000', 20000);
    assert.ok(replaced, (await cacheNames(page)).join());
    const now = await cached(page);
    assert.ok((now['wangge-phone-0000000000000000'] || []).includes('/index.html'), JSON.stringify(now));
    await ctx.setOffline(true);
    await page.reload();
    await page.locator('.van-nav-bar__title', { hasText: '今日任务' }).waitFor();
    await ctx.close();
  } finally {
    await own.stop();
    fs.rmSync(dist, { recursive: true, force: true });
  }
});
