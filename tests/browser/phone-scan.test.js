'use strict';
// At a NAT sampling point, a person's code read by the phone's camera: the
// test makes a QR code of WG-PERSON:<id> (what the sampling API reads,
// src/control/samples.c), turns it into the video of Chromium's fake camera,
// taps 扫码, and the sample is recorded and held by the server. The QR
// reader loads only when the camera is opened (never with the first page).
// A camera refused says so in Chinese and English, and the code can still
// be typed.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const h = require('./harness');

let srv, browser, poster, command, gridworker, dir;
const P = {};

async function call(method, p, body, token = command) {
  const r = await srv.api(method, p, { token, body });
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}

/**
 * A y4m video (what Chromium's --use-file-for-fake-video-capture plays in a
 * loop) of one QR code, black on white, in the middle of a 640×480 frame.
 */
async function qrVideo(text, file) {
  const { encode } = await import('uqr');
  const qr = encode(text, { border: 0, ecc: 'M' });
  const W = 640;
  const H = 480;
  const scale = 8;
  const side = qr.size * scale;
  const x0 = Math.floor((W - side) / 2);
  const y0 = Math.floor((H - side) / 2);
  const luma = Buffer.alloc(W * H, 235);
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (!qr.data[y][x]) continue;
      for (let dy = 0; dy < scale; dy++) luma.fill(16, (y0 + y * scale + dy) * W + x0 + x * scale, (y0 + y * scale + dy) * W + x0 + (x + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), luma, chroma]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), frame, frame]));
}

/** The harness's Chromium with a fake camera that films a QR code of text. */
async function withCamera(text) {
  const video = path.join(dir, `camera-${Date.now()}.y4m`);
  await qrVideo(text, video);
  await h.launch().then((b) => b.close()); // the harness's own checks (web/dist is built)
  return chromium.launch({
    executablePath: process.env.WG_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
      '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
}

before(async () => {
  srv = await h.startServer();
  [command, gridworker] = await Promise.all([srv.login('command'), srv.login('gridworker')]);
  for (const [i, name] of ['周卫东', '吴海燕'].entries()) {
    const id = h.idNumber(`19${80 + i}-03-09`, 40 + i);
    P[name] = { ...(await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name, id_number: id })), id_number: id };
  }
  await call('POST', '/api/v1/nat-rounds/1/refresh', {});
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-scan-'));
  browser = await withCamera(`WG-PERSON:${P['周卫东'].id}`);
});
after(async () => {
  if (browser) await browser.close();
  if (poster) await poster.close();
  if (srv) await srv.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('what a scanned code may be: a person code, a person id or an ID number, as the sampling API reads it', async () => {
  // The page's own module, as an .mjs (the repository's package.json is not an ES module one).
  const mjs = path.join(dir, 'code.mjs');
  fs.copyFileSync(path.join(h.ROOT, 'web/src/phone/scan/code.js'), mjs);
  const { personCode } = await import(mjs);
  assert.equal(personCode('WG-PERSON:12'), 'WG-PERSON:12');
  assert.equal(personCode(' WG-PERSON:12\n'), 'WG-PERSON:12');
  assert.equal(personCode('12'), '12');
  assert.equal(personCode(P['周卫东'].id_number), P['周卫东'].id_number);
  assert.equal(personCode('32092319800309041x'), '32092319800309041X', 'the ID number’s X in capitals');
  for (const other of ['https://wangge.example.cn/v/ABCD1234', 'WG-PERSON:', 'WG-PERSON:0', 'WG-PERSON:12a', '0', '1234567890123', 'otpauth://totp/x', '']) {
    assert.equal(personCode(other), null, other);
  }
});

test('the camera reads a person code: the sample is recorded and the server holds it; the reader loads only then', async () => {
  const ctx = await h.context(browser, { phone: true });
  await ctx.grantPermissions(['camera'], { origin: srv.base });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  const scripts = [];
  page.on('request', (r) => { if (/\.js$/.test(new URL(r.url()).pathname)) scripts.push(new URL(r.url()).pathname); });
  const before = await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker);
  await page.goto(`${srv.base}/m/nat/1`);
  await page.locator('[data-test=m-nat-progress]').waitFor();
  assert.ok(!scripts.some((s) => /jsQR|CodeScanner/.test(s)), `the QR reader is not loaded with the page: ${scripts}`);
  const native = await page.evaluate(() => typeof window.BarcodeDetector === 'function');

  await page.click('[data-test=m-scan]');
  await page.locator('[data-test=m-recent-recorded]').waitFor({ timeout: 20000 });
  assert.match(await page.locator('[data-test=m-recent-recorded]').innerText(), /周卫东[\s\S]*已登记/);
  assert.equal(await page.locator('[data-test=m-scanner]').count(), 0, 'the camera closes after a read');
  assert.ok(await page.evaluate(() => !document.querySelector('video')), 'no video left playing');
  if (!native) assert.ok(scripts.some((s) => /jsQR/.test(s)), `jsQR loaded where the browser has no BarcodeDetector: ${scripts}`);

  const left = await call('GET', '/api/v1/nat-rounds/1/unsampled?limit=100', undefined, gridworker);
  assert.ok(!left.items.some((x) => x.person_id === P['周卫东'].id), 'sampled');
  assert.ok(left.items.some((x) => x.person_id === P['吴海燕'].id), 'the other resident is still to sample');
  const after = await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker);
  assert.equal(after.sampled, before.sampled + 1);

  assert.deepEqual(errors, []);
  await ctx.close();
});

test("a code that names no one (a venue's poster) is not sent: the camera says so and keeps looking", async () => {
  poster = await withCamera('https://wangge.example.cn/v/ABCD2345');
  const ctx = await h.context(poster, { phone: true });
  await ctx.grantPermissions(['camera'], { origin: srv.base });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await page.goto(`${srv.base}/m/nat/1`);
  await page.locator('[data-test=m-nat-progress]').waitFor();
  await page.click('[data-test=m-scan]');
  const msg = page.locator('[data-test=m-scan-msg]');
  await msg.filter({ hasText: '这不是人员码' }).waitFor({ timeout: 20000 });
  assert.match(await msg.innerText(), /这不是人员码:https:\/\/wangge\.example\.cn\/v\/ABCD2345[\s\S]*Not a person code/);
  assert.ok(await page.evaluate(() => document.querySelector('[data-test=m-scanner] video').readyState >= 2), 'the camera is still on');
  assert.deepEqual(posts, [], 'nothing sent');
  assert.equal(await page.locator('[data-test=m-recent]').count(), 0);
  await page.evaluate(() => document.querySelector('[data-test=m-scanner] video').pause());
  await h.shot(page, 'phone-scan');
  await page.click('[data-test=m-scan-close]');
  await page.locator('[data-test=m-scanner]').waitFor({ state: 'detached' });
  assert.ok(await page.evaluate(() => !document.querySelector('video')), 'the camera is let go');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a camera refused: said in Chinese and English, the code typed instead', async () => {
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  // No camera permission in this context: Chromium refuses the page (as when the person says no).
  await page.goto(`${srv.base}/m/nat/1`);
  await page.locator('[data-test=m-nat-progress]').waitFor();
  await page.click('[data-test=m-scan]');
  const msg = page.locator('[data-test=m-scan-msg]');
  await msg.filter({ hasText: '没有获准使用摄像头' }).waitFor();
  assert.match(await msg.innerText(), /没有获准使用摄像头[\s\S]*Camera access was refused/);
  assert.equal(await page.locator('[data-test=m-scan-torch]').count(), 0);
  await h.shot(page, 'phone-scan-refused');
  await page.click('[data-test=m-scan-close]');
  await page.locator('[data-test=m-scanner]').waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'm-code', 'ready to type');
  await page.keyboard.type(P['吴海燕'].id_number);
  await page.keyboard.press('Enter');
  await page.locator('[data-test=m-recent-recorded]').waitFor();
  assert.match(await page.locator('[data-test=m-recent-recorded]').innerText(), /吴海燕/);
  const left = await call('GET', '/api/v1/nat-rounds/1/unsampled?limit=100', undefined, gridworker);
  assert.ok(!left.items.some((x) => x.person_id === P['吴海燕'].id));
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('no camera, or a browser that cannot use one here: said in Chinese and English', async () => {
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'gridworker');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await page.goto(`${srv.base}/m/nat/1`);
  await page.locator('[data-test=m-nat-progress]').waitFor();
  const cases = [
    // A phone whose camera is missing (or disabled by a policy): the browser finds no device.
    ['absent', () => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Requested device not found', 'NotFoundError')); },
      /没有找到可用的摄像头[\s\S]*No camera was found/],
    // Another app holds it.
    ['busy', () => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Could not start video source', 'NotReadableError')); },
      /摄像头正被其他应用使用[\s\S]*in use by another app/],
    // A page opened over plain HTTP from another machine: browsers give it no mediaDevices.
    ['insecure', () => { Object.defineProperty(navigator, 'mediaDevices', { value: undefined }); },
      /不是 HTTPS[\s\S]*not HTTPS/],
  ];
  for (const [name, fn, said] of cases) {
    await page.evaluate(fn);
    await page.click('[data-test=m-scan]');
    const msg = page.locator('[data-test=m-scan-msg]');
    await msg.filter({ hasText: said }).waitFor();
    assert.match(await msg.innerText(), said, name);
    await page.click('[data-test=m-scan-close]');
    await page.locator('[data-test=m-scanner]').waitFor({ state: 'detached' });
  }
  assert.deepEqual(errors, []);
  await ctx.close();
});
