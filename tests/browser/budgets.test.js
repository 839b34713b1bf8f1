'use strict';
// What a first page costs: the JS and CSS each app's first page loads, as
// the server sends them (gzip; phone ≤ 250 KB, desktop ≤ 1 MB), the phone's
// first page usable within 2 s on Chromium's emulated Slow 4G, and a return
// visit that takes the hashed files from the cache (the service worker's).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser;
const KB = 1024;

before(async () => {
  srv = await h.startServer();
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

async function firstPage({ phone, user, url, slow = false }) {
  const ctx = await h.context(browser, { phone });
  if (user) await h.signInApi(ctx, srv.base, user);
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  if (slow) await h.throttle(ctx, page);
  const assets = h.recordAssets(page);
  await page.goto(srv.base + url);
  const ms = await h.usableAt(page, 30000);
  await page.waitForLoadState('networkidle');
  await assets.done();
  const r = { bytes: assets.bytes(), files: assets.files(), encodings: assets.encodings(), ms: Math.round(ms) };
  assert.deepEqual(errors, []);
  await ctx.close();
  return r;
}

/** What the browser's network layer saw on a page load (DevTools protocol): per URL, bytes on the wire and where it came from. */
async function networkLog(ctx, page) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  const seen = new Map();
  const entry = (id) => { if (!seen.has(id)) seen.set(id, {}); return seen.get(id); };
  cdp.on('Network.requestWillBeSent', (e) => { entry(e.requestId).url = new URL(e.request.url).pathname; });
  cdp.on('Network.responseReceived', (e) => Object.assign(entry(e.requestId), {
    status: e.response.status, cached: e.response.fromDiskCache || e.response.fromPrefetchCache || false,
    worker: e.response.fromServiceWorker || false,
    cacheControl: e.response.headers['cache-control'] || e.response.headers['Cache-Control'],
  }));
  cdp.on('Network.requestServedFromCache', (e) => { entry(e.requestId).cached = true; });
  cdp.on('Network.loadingFinished', (e) => { entry(e.requestId).wire = e.encodedDataLength; });
  return () => [...seen.values()].filter((x) => x.url);
}

test('phone first page: ≤ 250 KB gzip, usable within 2 s on Slow 4G; a return visit loads no JS or CSS again', async () => {
  const r = await firstPage({ phone: true, user: 'gridworker', url: '/m/' });
  assert.ok(r.files.some((f) => /\.css$/.test(f)) && r.files.length >= 3, r.files.join(' '));
  assert.deepEqual(r.encodings, ['gzip'], 'every JS and CSS file sent gzipped');
  console.log(`# budget phone first page (/m/): ${r.bytes} bytes gzip JS+CSS in ${r.files.length} files`);
  assert.ok(r.bytes <= 250 * KB, `phone first page ${r.bytes} B > 250 KB`);
  assert.ok(!r.files.some((f) => /GridPage|element/i.test(f)), `phone page loaded desktop code: ${r.files}`);

  // A time on a shared 2-core machine: other jobs can slow one load down, so
  // the page gets up to three loads and is judged by its best.
  const times = [];
  for (let i = 0; i < 3 && !times.some((ms) => ms <= 2000); i++) {
    times.push((await firstPage({ phone: true, user: 'gridworker', url: '/m/', slow: true })).ms);
  }
  console.log(`# budget phone /m/ on Slow 4G: usable at ${Math.min(...times)} ms (loads: ${times.join(', ')} ms)`);
  assert.ok(Math.min(...times) <= 2000, `phone first page usable at ${times.join(', ')} ms on Slow 4G (budget 2000 ms)`);

  // The same phone comes back: the page is asked for again (no-cache), the
  // hashed files come from the service worker's cache (kept at the first
  // visit; the browser's cache would serve them too, immutable), only the
  // API answers travel.
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const first = await ctx.newPage();
  await first.goto(`${srv.base}/m/`);
  await h.usableAt(first);
  await first.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20000 });
  await first.waitForLoadState('networkidle');
  await first.close();
  const page = await ctx.newPage();
  await h.throttle(ctx, page);
  const log = await networkLog(ctx, page);
  await page.goto(`${srv.base}/m/`);
  const ms = Math.round(await h.usableAt(page, 10000));
  await page.waitForLoadState('networkidle');
  const seen = log();
  const html = seen.find((x) => x.url === '/m/');
  assert.equal(html.cacheControl, 'no-cache', 'the page itself is revalidated, so a new build is seen');
  assert.equal(html.cached, false);
  const assets = seen.filter((x) => /^\/assets\/.*\.(js|css)$/.test(x.url));
  assert.ok(assets.length >= 3, JSON.stringify(seen));
  for (const a of assets) {
    assert.equal(a.cacheControl, 'public, max-age=31536000, immutable', a.url);
    assert.ok(a.cached || a.worker, `${a.url} came from a cache: ${JSON.stringify(a)}`);
  }
  const wire = assets.reduce((n, a) => n + (a.wire || 0), 0);
  console.log(`# budget phone /m/ return visit on Slow 4G: usable at ${ms} ms, ${wire} bytes of JS+CSS over the network (${assets.filter((a) => a.worker).length} of ${assets.length} files from the service worker)`);
  assert.equal(wire, 0);
  await ctx.close();
});

test('desktop first page: ≤ 1 MB gzip', async () => {
  const login = await firstPageNoMark('/login');
  console.log(`# budget desktop sign-in page: ${login.bytes} bytes gzip JS+CSS in ${login.files.length} files`);
  const r = await firstPage({ phone: false, user: 'command', url: '/grid' });
  console.log(`# budget desktop first page (/grid, command center): ${r.bytes} bytes gzip JS+CSS in ${r.files.length} files`);
  assert.deepEqual(r.encodings, ['gzip']);
  assert.ok(r.bytes <= 1024 * KB, `desktop first page ${r.bytes} B > 1 MB`);
  assert.ok(!r.files.some((f) => /vant/i.test(f)), 'desktop loaded phone code');
  assert.ok(login.bytes <= r.bytes);
});

async function firstPageNoMark(url) {
  const ctx = await h.context(browser);
  const page = await ctx.newPage();
  const assets = h.recordAssets(page);
  await page.goto(srv.base + url);
  await page.waitForSelector('#wg-username');
  await page.waitForLoadState('networkidle');
  await assets.done();
  const r = { bytes: assets.bytes(), files: assets.files() };
  await ctx.close();
  return r;
}
