'use strict';
// A resident at a venue's door (/v/<code>, no account): the venue's name,
// then the visit recorded with a phone number in two taps, the number
// remembered on the phone; a tiny page that works on Slow 4G.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, venue, community;
const KB = 1024;

before(async () => {
  srv = await h.startServer();
  community = await srv.login('community');
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: h.DEMO.grid, name: '兴阜菜市场', kind: 'market', address: '兴阜路8号' } });
  assert.equal(v.status, 201, v.text);
  venue = v.json;
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the door page: the venue by name, a visit in two taps, the number remembered', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  const assets = h.recordAssets(page);
  await page.goto(`${srv.base}/v/${venue.code}`);
  await page.locator('[data-test=door-venue]').waitFor({ timeout: 5000 });
  assert.equal(await page.locator('[data-test=door-venue]').innerText(), '兴阜菜市场');
  await h.shot(page, 'door');
  await page.waitForLoadState('networkidle');
  await assets.done();
  console.log(`# budget door page: ${assets.bytes()} bytes gzip JS+CSS in ${assets.files().length} files`);
  assert.deepEqual(assets.encodings(), ['gzip']);
  assert.ok(assets.bytes() <= 15 * KB, `door page ${assets.bytes()} B`);
  assert.ok(!assets.files().some((f) => /shared|vant|element/i.test(f)), `no framework: ${assets.files()}`);

  await page.fill('#phone', '12345');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /手机号/.test(document.getElementById('perr')?.innerText || ''));

  await page.fill('#phone', '138 1234 5678');
  await page.click('button[type=submit]');
  await page.locator('[data-test=door-ok]').waitFor();
  assert.match(await page.locator('[data-test=door-ok]').innerText(), /已登记[\s\S]*兴阜菜市场 · \d\d\/\d\d \d\d:\d\d/);
  const scans = await srv.api('GET', `/api/v1/venues/${venue.id}/scans`, { token: community });
  assert.equal(scans.json.scans, 1, 'the server holds the visit');

  // The next visit: the number is already there, one tap.
  await page.goto(`${srv.base}/v/${venue.code}`);
  assert.equal(await page.inputValue('#phone'), '138 1234 5678');
  await ctx.close();
});

test('an unknown code says so', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  await page.goto(`${srv.base}/v/NOSUCHCODE99`);
  await page.locator('h1', { hasText: '找不到该场所' }).waitFor({ timeout: 5000 });
  assert.match(await page.locator('[data-test=door-error]').innerText(), /NOSUCHCODE99/);
  const probe = await srv.api('GET', '/api/v1/public/venue?code=NOSUCHCODE99');
  assert.equal(probe.status, 404);
  assert.notEqual(probe.json.error.code, 'no_route');
  await ctx.close();
});

test('usable within 2 s on Slow 4G, the server sending its files gzipped', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  await h.throttle(ctx, page);
  await page.goto(`${srv.base}/v/${venue.code}`);
  const ms = Math.round(await h.usableAt(page, 10000));
  console.log(`# budget door page on Slow 4G: usable at ${ms} ms`);
  assert.ok(ms <= 2000, `${ms} ms`);
  await ctx.close();
});

// What a real server cannot be made to do on cue: a refused number, then
// an answer lost on the way; the page keeps its key for the resend.
test('the door page resends after a lost answer with the same key (answers given by the test)', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  const posts = [];
  let dropFirst = true;
  await page.route('**/api/v1/public/venue?code=*', (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify({ name: '兴阜菜市场', kind: 'market', grid_name: '第1网格' }),
  }));
  await page.route('**/api/v1/public/scans', async (route) => {
    const req = route.request();
    const body = req.postDataJSON();
    posts.push({ body, key: req.headers()['idempotency-key'] });
    if (body.phone === '12345') {
      return route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ error: { code: 'validation_failed', field: 'phone', message: '手机号(phone):手机号无效(应为11位,号段如13x、15x、18x)', message_en: 'phone: invalid mobile number' } }) });
    }
    if (dropFirst) { dropFirst = false; return route.abort('connectionreset'); }
    return route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ venue: '兴阜菜市场', t_in: 1795440163, t_in_at: '2026-11-23T21:22:43+08:00' }) });
  });
  await page.goto(`${srv.base}/v/${venue.code}`);
  await page.locator('[data-test=door-venue]').waitFor();
  assert.match(await page.locator('.d .k').innerText(), /商超 · 第1网格/);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'phone', 'the number field has the focus: type, then one tap');

  await page.fill('#phone', '12345');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /手机号无效/.test(document.getElementById('perr').innerText));
  assert.match(await page.locator('#perr').innerText(), /invalid mobile number/);

  await page.fill('#phone', '13812345678');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /网络不通/.test(document.getElementById('perr').innerText));
  await page.click('button[type=submit]');
  await page.locator('[data-test=door-ok]').waitFor();
  assert.match(await page.locator('[data-test=door-ok]').innerText(), /已登记\s*兴阜菜市场 · 11\/23 21:22/, 'the time in Beijing');
  assert.deepEqual(posts.map((p) => p.body), [
    { venue_code: venue.code, phone: '12345' },
    { venue_code: venue.code, phone: '13812345678' },
    { venue_code: venue.code, phone: '13812345678' },
  ]);
  assert.notEqual(posts[0].key, posts[1].key, 'a new key after a refused number');
  assert.equal(posts[1].key, posts[2].key, 'the resend after a lost answer keeps its key');
  assert.equal(await page.evaluate(() => localStorage.getItem('wg.door.phone')), '13812345678');
  await h.shot(page, 'door');
  await page.goto(`${srv.base}/v/${venue.code}`);
  assert.equal(await page.inputValue('#phone'), '13812345678', 'remembered: the next visit is one tap');
  assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_RESET/.test(e)), []);
  await ctx.close();
});

// The server allows public_requests_per_minute calls a minute from one
// address (a shop's Wi-Fi counts as one): past that it answers 429 and the
// page says plainly what happened and when to try again.
test('too many check-ins from one network: a clear message, the button waits', async () => {
  const limited = await h.startServer({ public_requests_per_minute: 3 });
  const ctx = await h.context(browser, { phone: true });
  try {
    const token = await limited.login('community');
    const v = await limited.api('POST', '/api/v1/venues', { token, body: { grid_id: h.DEMO.grid, name: '兴阜药店', kind: 'pharmacy' } });
    assert.equal(v.status, 201, v.text);
    // The count is per calendar minute: start early enough in one that it does not turn mid-test.
    await h.eventually(async () => new Date().getSeconds() < 45, 20000);
    const page = await ctx.newPage();
    const errors = h.watchErrors(page);
    await page.goto(`${limited.base}/v/${v.json.code}`); // 1: the venue
    await page.fill('#phone', '13812345678');
    await page.click('button[type=submit]'); // 2: a visit
    await page.locator('[data-test=door-ok]').waitFor();
    await page.goto(`${limited.base}/v/${v.json.code}`); // 3: the venue again
    await page.click('button[type=submit]'); // 4: refused
    await page.waitForFunction(() => /太多/.test(document.getElementById('perr')?.innerText || ''));
    assert.match(await page.locator('#perr').innerText(), /请稍等 1 分钟再试。\nToo many check-ins from this network; please wait a minute/);
    assert.equal(await page.locator('button[type=submit]').isDisabled(), true, 'no pointless retries meanwhile');
    assert.match(await page.locator('button[type=submit]').innerText(), /请稍候 \d+ 秒 \/ Wait \d+ s/);
    await h.shot(page, 'door-busy');
    assert.equal((await limited.api('GET', `/api/v1/venues/${v.json.id}/scans?days=1`, { token })).json.scans, 1, 'the refused visit was not recorded');
    // Opening the page again within the minute: the same words, and a retry button that waits.
    await page.goto(`${limited.base}/v/${v.json.code}`);
    await page.locator('h1', { hasText: '暂时无法登记' }).waitFor();
    assert.match(await page.locator('[data-test=door-error]').innerText(), /Too many check-ins/);
    assert.equal(await page.locator('button', { hasText: /请稍候/ }).isDisabled(), true);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
    await limited.stop();
  }
});

test('after the wait the same visit is sent again, with its key (answers given by the test)', async () => {
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  const keys = [];
  await page.route('**/api/v1/public/scans', (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length === 1) {
      return route.fulfill({ status: 429, headers: { 'retry-after': '2' }, contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'rate_limited', message: '请求过于频繁,请稍后再试', message_en: 'too many requests; try again in a minute' } }) });
    }
    return route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ venue: '兴阜菜市场', t_in: 1795440163, t_in_at: '2026-11-23T21:22:43+08:00' }) });
  });
  await page.goto(`${srv.base}/v/${venue.code}`);
  await page.fill('#phone', '13812345678');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('button[type=submit]').disabled && /请稍候/.test(document.querySelector('button[type=submit]').innerText));
  // Retry-After: 2 — the button comes back by itself.
  await page.waitForFunction(() => !document.querySelector('button[type=submit]').disabled, null, { timeout: 10000 });
  assert.equal(await page.locator('button[type=submit]').innerText(), '登记进入 / Check in');
  await page.click('button[type=submit]');
  await page.locator('[data-test=door-ok]').waitFor();
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1], 'the visit that was refused is the one sent again');
  await ctx.close();
});
