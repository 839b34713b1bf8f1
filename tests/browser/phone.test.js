'use strict';
// The grid worker's phone: today's tasks (contacts handed over, persons to
// locate), the grid's persons, and a change recorded while offline: kept in
// IndexedDB with an Idempotency-Key, sent when the network returns, never
// lost and never doubled, even when the first answer is lost on the way.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, command, auditor, zhang;
const now = Math.floor(Date.now() / 1000);

before(async () => {
  srv = await h.startServer();
  [command, auditor] = await Promise.all([srv.login('command'), srv.login('auditor')]);
  const checkpoint = await srv.login('checkpoint');
  const call = async (method, path, body, token = command) => {
    const r = await srv.api(method, path, { token, body });
    assert.ok(r.status < 300, `${path}: ${r.text}`);
    return r.json;
  };
  zhang = await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name: '张三', phone: '13812345678', residence: 'resident' });
  const sick = await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name: '病例甲' });
  const venue = await call('POST', '/api/v1/venues', { grid_id: h.DEMO.grid, name: '兴阜菜场', kind: 'market' });
  await call('POST', '/api/v1/scans', { venue_code: venue.code, person_id: sick.id, t_in: now - 7200, t_out: now - 5400 }, checkpoint);
  await call('POST', '/api/v1/scans', { venue_code: venue.code, person_id: zhang.id, t_in: now - 6600, t_out: now - 4800 }, checkpoint);
  await call('POST', '/api/v1/scans', { venue_code: venue.code, phone: '13800000007', t_in: now - 6000, t_out: now - 5000 }, checkpoint);
  const c = await call('POST', '/api/v1/cases', { person_id: sick.id, onset_at: now - 600, preset: 'v9' });
  await call('POST', `/api/v1/cases/${c.id}/trace`, {});
  await call('POST', `/api/v1/cases/${c.id}/apply`);
  browser = await h.launch();
  ctx = await h.context(browser, { phone: true });
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const person = async () => (await srv.api('GET', `/api/v1/persons/${zhang.id}?reveal=1`, { token: command })).json;
const updates = async () => (await srv.api('GET', '/api/v1/audit?resource=persons&limit=1000', { token: auditor })).json.items
  .filter((a) => a.action === 'update' && a.record_id === String(zhang.id)).length;
const outbox = () => page.evaluate(() => new Promise((resolve, reject) => {
  const r = indexedDB.open('wangge-phone');
  r.onsuccess = () => {
    const q = r.result.transaction('outbox').objectStore('outbox').getAll();
    q.onsuccess = () => resolve(q.result);
    q.onerror = () => reject(q.error);
  };
  r.onerror = () => reject(r.error);
}));

test("today's tasks: the contacts handed over and those to locate", async () => {
  await page.goto(`${srv.base}/m/`);
  await page.waitForURL(/\/m\/login/);
  await page.fill('#m-username', 'gridworker');
  await page.fill('#m-password', h.DEMO_PASSWORD);
  await page.click('[data-test=m-login-submit]');
  await page.waitForURL(/\/m\/$/);
  await page.waitForFunction(() => document.querySelector('[data-test=m-count-contacts]')?.innerText === '1');
  assert.equal(await page.locator('[data-test=m-count-unlocated]').innerText(), '1');
  const contact = await page.locator('[data-test=m-contacts]').innerText();
  assert.match(contact, /张\*/);
  assert.match(contact, /兴阜菜场/);
  assert.match(contact, /密接/);
  assert.match(await page.locator('[data-test=m-unlocated]').innerText(), /138\*{4}0007/);
  assert.equal(await page.locator('[data-test=m-pending]').innerText(), '0');
  await h.shot(page, 'phone-tasks');
});

test('a change made offline waits on the phone, even closed, then reaches the server once', async () => {
  await page.click('.van-tabbar-item:has-text("户与人员")');
  await page.click(`[data-test=m-person-${zhang.id}]`);
  await page.waitForURL(new RegExp(`/m/person/${zhang.id}$`));
  await page.locator('#m-edit-phone').waitFor();
  await h.shot(page, 'phone-person');
  const before = await person();

  await ctx.setOffline(true);
  await page.locator('.van-notice-bar').waitFor();
  await page.fill('#m-edit-phone', '139-0000-2222');
  await page.click('[data-test=m-res-returned]');
  await page.click('[data-test=m-save]');
  await page.locator('[data-test=m-person-pending]').waitFor();
  const queued = await outbox();
  assert.equal(queued.length, 1);
  assert.match(queued[0].key, /^[0-9a-f-]{32,36}$/, 'an Idempotency-Key made with the write');
  assert.deepEqual(queued[0].body, { phone: '139-0000-2222', residence: 'returned' });
  assert.equal(queued[0].ifMatch, before.version);
  assert.match(await page.locator('[data-test=m-residence-now]').innerText(), /返乡/, 'shown at once');
  assert.equal((await person()).phone, '13812345678', 'nothing reached the server yet');
  // The phone closes the app while still offline: the write is in IndexedDB, not in memory.
  await page.close();
  await ctx.setOffline(false);
  page = await ctx.newPage();
  errors = h.watchErrors(page);
  await page.goto(`${srv.base}/m/`);
  await page.waitForFunction(() => document.querySelector('[data-test=m-count-contacts]')?.innerText === '1');
  await page.waitForFunction(() => document.querySelector('[data-test=m-pending]')?.innerText === '0');
  assert.equal((await outbox()).length, 0, 'sent and acknowledged');
  const after = await person();
  assert.equal(after.phone, '13900002222');
  assert.equal(after.residence, 'returned');
  assert.equal(after.version, before.version + 1, 'changed exactly once');
  assert.equal(await updates(), 1, 'one update in the audit log');
});

test('an answer lost on the way: the same key is sent again and the server does not write twice', async () => {
  await page.goto(`${srv.base}/m/person/${zhang.id}`);
  await page.locator('#m-edit-phone').waitFor();
  const before = await person();
  let cut = 0;
  await page.route(`**/api/v1/persons/${zhang.id}`, async (route) => {
    if (route.request().method() !== 'PATCH' || cut > 0) return route.continue();
    cut++;
    const res = await route.fetch(); // the server applies it…
    assert.equal(res.status(), 200, await res.text());
    await route.abort('connectionreset'); // …and the phone never hears back
  });
  await page.locator('.van-checkbox', { hasText: '慢性病' }).click();
  await page.click('[data-test=m-save]');
  assert.ok(await h.eventually(async () => cut === 1), 'the write was sent');
  await page.waitForFunction(() => document.querySelector('[data-test=m-person-pending]'));
  assert.equal((await person()).version, before.version + 1, 'the first send did reach the server');
  const [item] = await outbox();
  await page.unroute(`**/api/v1/persons/${zhang.id}`);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForFunction(() => !document.querySelector('[data-test=m-person-pending]'));
  assert.deepEqual(await outbox(), [], `sent again with key ${item.key} and acknowledged`);
  const after = await person();
  assert.deepEqual(after.tags, ['慢性病']);
  assert.equal(after.version, before.version + 1, 'the resend wrote nothing new');
  assert.equal(await updates(), 2);
  assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_RESET|ERR_INTERNET_DISCONNECTED/.test(e)), []);
});
