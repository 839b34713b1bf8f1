// Browser test harness: a real `wangge serve` (tests/api/helpers.js, with the
// demo county on a fresh data dir) and Debian's Chromium driven by
// playwright-core, headless, with a fresh profile per run.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');

const ROOT = path.resolve(__dirname, '../..');
// The optimised build unless told otherwise: the browser suite tests pages, not memory safety.
if (!process.env.WG_BIN) process.env.WG_BIN = path.join(ROOT, 'build/wangge');
const helpers = require('../api/helpers');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.WG_CHROMIUM || '/usr/bin/chromium';
const DIST = path.join(ROOT, 'web/dist');
const SHOTS = process.env.WG_SCREENSHOTS || path.join(ROOT, 'docs/screenshots');
const DESKTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };

// Playwright starts Chromium with a new temporary --user-data-dir of its own
// and removes it on close (it refuses one passed in args to launch()).
async function launch() {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'web/dist is not built: run `make web/dist/index.html`');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A context for a desktop (1366×768) or phone (390×844) user; zone defaults to Asia/Shanghai. */
async function context(browser, { phone = false, timezoneId = 'Asia/Shanghai', locale = 'zh-CN', ...rest } = {}) {
  const ctx = await browser.newContext({
    viewport: phone ? PHONE : DESKTOP,
    deviceScaleFactor: 1,
    isMobile: phone,
    hasTouch: phone,
    timezoneId,
    locale,
    acceptDownloads: true,
    ...rest,
  });
  ctx.setDefaultTimeout(15000);
  return ctx;
}

/** Signs the context in through the API (the session cookie lands in the context). */
async function signInApi(ctx, base, username, password = helpers.DEMO_PASSWORD) {
  const r = await ctx.request.post(`${base}/api/v1/session`, { data: { username, password } });
  assert.equal(r.status(), 201, await r.text());
}

/** Signs in through the sign-in page. */
async function signInUi(page, base, username, password = helpers.DEMO_PASSWORD) {
  await page.goto(`${base}/login`);
  await page.fill('#wg-username', username);
  await page.fill('#wg-password', password);
  await page.click('[data-test=login-submit]');
}

/** A screenshot for the guides: transitions finished, passing toasts left out. */
async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({
    path: path.join(SHOTS, `${name}.png`),
    animations: 'disabled',
    style: '.el-message, .van-toast { display: none !important; }',
  });
}

/** Fails the test on errors the page logs or throws (a broken page must not pass). */
function watchErrors(page, allow = []) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // Failed requests the test caused on purpose (4xx answers) are logged by Chromium.
    if (/Failed to load resource/.test(text) || allow.some((a) => a.test(text))) return;
    errors.push(`console: ${text}`);
  });
  return errors;
}

/**
 * Records the JS and CSS a page loads, as they came over the wire: call
 * before goto, then await done() and read bytes() (the encoded body sizes),
 * files() and encodings() (each file's Content-Encoding).
 */
function recordAssets(page) {
  const seen = new Map();
  const pending = [];
  page.on('requestfinished', (req) => {
    const u = new URL(req.url());
    if (!/\.(js|css)$/.test(u.pathname)) return;
    pending.push((async () => {
      const [sizes, res] = await Promise.all([req.sizes(), req.response()]);
      const headers = res ? await res.allHeaders() : {};
      seen.set(u.pathname, { bytes: sizes.responseBodySize, encoding: headers['content-encoding'] || 'identity' });
    })());
  });
  return {
    done: async () => { await Promise.all(pending); },
    files: () => [...seen.keys()],
    bytes: () => [...seen.values()].reduce((a, b) => a + b.bytes, 0),
    encodings: () => [...new Set([...seen.values()].map((v) => v.encoding))],
  };
}

// Chromium DevTools' "Slow 4G" preset.
const SLOW_4G = { offline: false, latency: 150 * 3.75, downloadThroughput: (1.6 * 1000 * 1000) / 8 * 0.9, uploadThroughput: (750 * 1000) / 8 * 0.9 };

async function throttle(ctx, page, conditions = SLOW_4G) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', conditions);
  return cdp;
}

/** Time from navigation start to the page's own "usable" mark (ms), or null. */
async function usableAt(page, timeout = 15000) {
  await page.waitForFunction(() => performance.getEntriesByName('wg-usable').length > 0, null, { timeout });
  return page.evaluate(() => performance.getEntriesByName('wg-usable')[0].startTime);
}

/** What a phone camera reads from a QR code in a PNG (zbarimg, as the API tests use). */
function decodeQr(png) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'wangge-qr-'));
  const file = path.join(dir, 'qr.png');
  try {
    fs.writeFileSync(file, png);
    const r = require('node:child_process').spawnSync('zbarimg', ['--quiet', '--raw', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `zbarimg: ${r.stderr}`);
    return r.stdout.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** startServer of tests/api/helpers.js whose stop() also removes the data directory. */
async function startServer(...args) {
  const srv = await helpers.startServer(...args);
  const stop = srv.stop.bind(srv);
  srv.stop = async () => {
    try {
      await stop();
    } finally {
      fs.rmSync(srv.dir, { recursive: true, force: true });
    }
  };
  return srv;
}

module.exports = {
  ...helpers, startServer, ROOT, DIST, DESKTOP, PHONE, SLOW_4G, launch, context, signInApi, signInUi, shot, watchErrors,
  recordAssets, throttle, usableAt, decodeQr,
};

/** Chooses an option of an Element Plus select (typing first for remote ones). */
async function pickOption(page, selector, text, { type } = {}) {
  await page.locator('.el-select', { has: page.locator(selector) }).locator('.el-select__wrapper').click();
  if (type !== undefined) await page.keyboard.type(type, { delay: 20 });
  const item = page.locator('.el-select-dropdown__item:visible', { hasText: text }).first();
  await item.waitFor();
  await item.click();
}

/** Waits until a function of the server's state holds (polls the API). */
async function eventually(fn, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

module.exports.pickOption = pickOption;
module.exports.eventually = eventually;

/** A valid 18-digit ID number of the demo county (GB 11643 check digit) for a birth date 'YYYY-MM-DD' and a serial. */
function idNumber(birth, serial) {
  const body = `320923${birth.replace(/-/g, '')}${String(serial).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

module.exports.idNumber = idNumber;
