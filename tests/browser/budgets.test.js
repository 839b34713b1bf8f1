'use strict';
// What a first page costs: the gzip-compressed JS and CSS each app's first
// page loads (phone ≤ 250 KB, desktop ≤ 1 MB), and the phone's first page
// usable within 2 s on Chromium's emulated Slow 4G.
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

async function firstPage({ phone, user, url, base = srv.base, slow = false }) {
  const ctx = await h.context(browser, { phone });
  if (user) await h.signInApi(ctx, base, user);
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  if (slow) await h.throttle(ctx, page);
  const assets = h.recordAssets(page);
  await page.goto(base + url);
  const ms = await h.usableAt(page, 30000);
  await page.waitForLoadState('networkidle');
  const r = { bytes: assets.bytes(), files: assets.files(), ms: Math.round(ms) };
  assert.deepEqual(errors, []);
  await ctx.close();
  return r;
}

test('phone first page: ≤ 250 KB compressed, usable within 2 s on Slow 4G', async () => {
  const r = await firstPage({ phone: true, user: 'gridworker', url: '/m/' });
  assert.ok(r.files.some((f) => /\.css$/.test(f)) && r.files.length >= 3, r.files.join(' '));
  console.log(`# budget phone first page (/m/): ${r.bytes} bytes gzip JS+CSS in ${r.files.length} files`);
  assert.ok(r.bytes <= 250 * KB, `phone first page ${r.bytes} B > 250 KB`);
  assert.ok(!r.files.some((f) => /GridPage|element/i.test(f)), `phone page loaded desktop code: ${r.files}`);

  // The server sends the build's .gz copies to a browser that takes gzip.
  const slow = await firstPage({ phone: true, user: 'gridworker', url: '/m/', slow: true });
  console.log(`# budget phone /m/ on Slow 4G: usable at ${slow.ms} ms`);
  assert.ok(slow.ms <= 2000, `phone first page usable at ${slow.ms} ms on Slow 4G (budget 2000 ms)`);
});

test('desktop first page: ≤ 1 MB compressed', async () => {
  const login = await firstPageNoMark('/login');
  console.log(`# budget desktop sign-in page: ${login.bytes} bytes gzip JS+CSS in ${login.files.length} files`);
  const r = await firstPage({ phone: false, user: 'command', url: '/grid' });
  console.log(`# budget desktop first page (/grid, command center): ${r.bytes} bytes gzip JS+CSS in ${r.files.length} files`);
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
  const r = { bytes: assets.bytes(), files: assets.files() };
  await ctx.close();
  return r;
}
