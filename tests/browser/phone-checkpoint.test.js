'use strict';
// 卡口登记 on the checkpoint duty's phone: the demo's checkpoint account
// opens the phone app at its page, its town's checkpoint (阜城街道检查站,
// made by `wangge demo`) picked at once; a phone number typed with spaces
// is recorded and listed with the local time the server answered, and the
// server's count of the post's scans goes up by one; the same number in the
// same minute is shown as a repeat; a bad number shows the server's own
// message naming phone and is put back to be corrected; a person code typed
// by a scanner gun is recorded by person id; offline, a scan is kept with
// the moment it was made and sent once when the network returns.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, command, checkpoint, post, person;

async function call(method, p, body, token = command) {
  const r = await srv.api(method, p, { token, body });
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}
const scans = async () => (await call('GET', `/api/v1/venues/${post.id}/scans?days=1`, undefined, checkpoint)).scans;
const text = (page, sel) => page.locator(sel).innerText();
/** 'YYYY-MM-DD HH:mm' in Asia/Shanghai for a Unix time. */
const shanghai = (sec) => new Date((sec + 8 * 3600) * 1000).toISOString().slice(0, 16).replace('T', ' ');

/** Waits until at least `room` seconds are left in the current minute (a repeat is the same stay: the same minute). */
async function roomInMinute(room) {
  const s = new Date().getSeconds();
  if (60 - s < room) await new Promise((r) => setTimeout(r, (60 - s + 1) * 1000));
}

before(async () => {
  // The demo with people: its venues, and a checkpoint in every town.
  srv = await h.startServer({}, h.initData({}, h.BIN, 300));
  [command, checkpoint] = await Promise.all([srv.login('command'), srv.login('checkpoint')]);
  const venues = (await call('GET', '/api/v1/venues?kind=checkpoint&limit=100', undefined, checkpoint)).items;
  assert.deepEqual(venues.map((v) => v.name), ['阜城街道检查站'], 'one checkpoint in the account’s town');
  post = venues[0];
  person = await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name: '刘建国', id_number: h.idNumber('1975-04-12', 71) });
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the checkpoint duty records passers-by at its post, one after another, online and offline', async () => {
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'checkpoint');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  const posts = [];
  page.on('requestfinished', (r) => { if (r.method() === 'POST' && /\/api\/v1\/scans$/.test(r.url())) posts.push(r.postDataJSON()); });

  // The first screen leads to the page, the only checkpoint picked, with the server's count.
  await page.goto(`${srv.base}/m/`);
  await page.waitForURL(/\/m\/checkpoint$/);
  await page.locator('[data-test=m-ckp-post]', { hasText: '阜城街道检查站' }).waitFor();
  const start = await scans();
  await page.waitForFunction((n) => document.querySelector('[data-test=m-ckp-count]')?.innerText === String(n), start);
  assert.ok(await page.locator('[data-test=m-tab-checkpoint]').isVisible(), 'its tab');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'm-ckp-phone', 'the field is ready to type in');
  assert.equal(await page.locator('#m-ckp-phone').getAttribute('type'), 'tel', 'the phone’s number keyboard');

  // A number typed as people say it: recorded, listed masked with the local time.
  await roomInMinute(25);
  const t0 = Math.floor(Date.now() / 1000);
  await page.fill('#m-ckp-phone', '139 0515 0001');
  await page.click('[data-test=m-ckp-record]');
  await page.locator('[data-test=m-ckp-result].is-ok').waitFor();
  assert.match(await text(page, '[data-test=m-ckp-result]'), /已登记/);
  const first = page.locator('[data-test=m-ckp-item-recorded]').first();
  assert.match(await first.innerText(), /139\*\*\*\*0001/);
  const shown = /(\d{4}-\d{2}-\d{2} \d{2}:\d{2}):\d{2}/.exec(await first.innerText());
  assert.ok(shown, 'the time as people read it');
  assert.ok([shanghai(t0), shanghai(t0 + 60)].includes(shown[1]), `${shown[1]} is Asia/Shanghai time`);
  assert.doesNotMatch(await first.innerText(), /1[7-9]\d{8}/, 'no Unix seconds');
  assert.equal(await page.inputValue('#m-ckp-phone'), '', 'cleared for the next person');
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'm-ckp-phone', 'and focused');
  assert.equal(await scans(), start + 1, 'the server counts it');
  await page.waitForFunction((n) => document.querySelector('[data-test=m-ckp-count]')?.innerText === String(n), start + 1);
  assert.equal(posts[0].phone, '139 0515 0001');
  assert.equal(posts[0].venue_code, post.code);
  assert.ok(Math.abs(posts[0].t_in - t0) <= 5, 'timed when it was made');

  // The same number again in the same minute: a repeat, stored once.
  await page.fill('#m-ckp-phone', '13905150001');
  await page.press('#m-ckp-phone', 'Enter');
  await page.locator('[data-test=m-ckp-result].is-dup').waitFor();
  assert.match(await text(page, '[data-test=m-ckp-result]'), /重复登记/);
  assert.equal(await scans(), start + 1, 'not counted twice');

  // A bad number: the server's message naming phone, the number back to correct, nothing stored or queued.
  await page.fill('#m-ckp-phone', '139 0515');
  await page.click('[data-test=m-ckp-record]');
  await page.locator('[data-test=m-ckp-result].is-error').waitFor();
  const said = await text(page, '[data-test=m-ckp-result]');
  assert.match(said, /手机号\W?phone\W?[:：]/, said);
  assert.match(said, /phone: /, 'and in English');
  assert.equal(await page.inputValue('#m-ckp-phone'), '139 0515', 'back in the field');
  assert.match(said, /139 0515/, 'the wrong number shown as typed, not as if masked');
  assert.equal(await page.locator('#m-ckp-phone').getAttribute('aria-invalid'), 'true');
  assert.equal(await scans(), start + 1);
  await page.fill('#m-ckp-phone', '');

  // A scanner gun types a person code: recorded by person id.
  await page.fill('#m-ckp-phone', `WG-PERSON:${person.id}`);
  await page.press('#m-ckp-phone', 'Enter');
  await page.locator('[data-test=m-ckp-result].is-ok', { hasText: `人员 ${person.id}` }).waitFor();
  assert.equal(posts[posts.length - 1].person_id, person.id);
  assert.equal(await scans(), start + 2);

  // Offline: kept on the phone with its moment, 待上传 1, sent once when the network returns.
  await ctx.setOffline(true);
  await page.locator('[data-test=m-ckp-offline]').waitFor();
  const sent = posts.length;
  const t1 = Math.floor(Date.now() / 1000);
  await page.fill('#m-ckp-phone', '138 0013 8000');
  await page.click('[data-test=m-ckp-record]');
  await page.locator('[data-test=m-ckp-result].is-wait').waitFor();
  assert.match(await text(page, '[data-test=m-ckp-result]'), /已保存在本机/);
  assert.equal(await text(page, '[data-test=m-ckp-pending]'), '待上传 1');
  assert.match(await page.locator('[data-test=m-ckp-item-waiting]').innerText(), /138\*\*\*\*8000/);
  assert.equal(await page.inputValue('#m-ckp-phone'), '', 'ready for the next person offline too');
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await scans(), start + 2, 'nothing reached the server');
  await ctx.setOffline(false);
  await page.locator('[data-test=m-ckp-pending]').waitFor({ state: 'detached' });
  await page.locator('[data-test=m-ckp-result].is-ok', { hasText: '138****8000' }).waitFor();
  const queued = posts.slice(sent);
  assert.equal(queued.length, 1, 'sent once');
  assert.ok(queued[0].t_in >= t1 && queued[0].t_in < t1 + 5, 'with the moment it was made, not when it was sent');
  assert.equal(await scans(), start + 3);
  await page.waitForFunction((n) => document.querySelector('[data-test=m-ckp-count]')?.innerText === String(n), start + 3);

  await h.shot(page, 'phone-checkpoint');
  assert.deepEqual(errors.filter((e) => !/ERR_INTERNET_DISCONNECTED/.test(e)), []);

  // The list is this phone's: reopened, the post and its last scans are still there.
  await page.reload();
  await page.locator('[data-test=m-ckp-post]', { hasText: '阜城街道检查站' }).waitFor();
  assert.ok(await page.locator('[data-test=m-ckp-item-recorded]').count() >= 3);
  await ctx.close();
});

test('a post is chosen from the scope’s venues, checkpoints first, and remembered; a role without the right is told so', async () => {
  // A second checkpoint in the town: the page asks which one.
  const other = await call('POST', '/api/v1/venues', { grid_id: h.DEMO.grid, name: '阜城北检查站', kind: 'checkpoint' });
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'checkpoint');
  const page = await ctx.newPage();
  await page.goto(`${srv.base}/m/checkpoint`);
  await page.locator('[data-test=m-ckp-posts]').waitFor();
  const names = await page.locator('[data-test=m-ckp-posts] .van-cell__title').allInnerTexts();
  assert.deepEqual(names.slice(0, 2).sort(), ['阜城北检查站', '阜城街道检查站'].sort(), `checkpoints first: ${names}`);
  assert.ok(names.length > 2, 'then the other venues');
  await page.click(`[data-test=m-ckp-post-${other.id}]`);
  await page.locator('[data-test=m-ckp-post]', { hasText: '阜城北检查站' }).waitFor();
  await page.reload();
  await page.locator('[data-test=m-ckp-post]', { hasText: '阜城北检查站' }).waitFor();
  await ctx.close();

  // A role without the right (a volunteer) is told so, with nothing to fill in.
  const vol = await h.context(browser, { phone: true });
  await h.signInApi(vol, srv.base, 'volunteer');
  const other2 = await vol.newPage();
  await other2.goto(`${srv.base}/m/checkpoint`);
  await other2.locator('[data-test=m-ckp-cannot]').waitFor();
  assert.equal(await other2.locator('#m-ckp-phone').count(), 0);
  await vol.close();
});
