'use strict';
// The grid worker's phone in the control lists: today's checks recorded in a
// few taps (a keypad for the temperature, symptoms as toggles, the sample),
// sent through the outbox with an Idempotency-Key, also when recorded
// offline; a fever raises an alert, seen on the phone and handled there with
// a note; the check is on the record's desktop page in Beijing time. At a
// NAT sampling point: a person's code typed in, the grid's list of residents
// not yet sampled shrinks; a volunteer samples too (without the names).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, command, community, gridworker;
const P = {};
const R = {};
const beijingDate = (ms = Date.now()) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);
const today = beijingDate();
const shown = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

async function call(method, path, body, token = command) {
  const r = await srv.api(method, path, { token, body });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}
const outbox = (p = page) => p.evaluate(() => new Promise((resolve, reject) => {
  const r = indexedDB.open('wangge-phone');
  r.onsuccess = () => {
    const q = r.result.transaction('outbox').objectStore('outbox').getAll();
    q.onsuccess = () => resolve(q.result);
    q.onerror = () => reject(q.error);
  };
  r.onerror = () => reject(r.error);
}));
const text = (sel, p = page) => p.locator(sel).innerText();

before(async () => {
  srv = await h.startServer();
  [command, community, gridworker] = await Promise.all([srv.login('command'), srv.login('community'), srv.login('gridworker')]);
  for (const [i, name] of ['张建国', '李秀英', '王磊', '赵敏', '刘洋', '陈静'].entries()) {
    const id = h.idNumber(`19${70 + i}-05-12`, 20 + i);
    P[name] = { ...(await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name, id_number: id })), id_number: id };
  }
  R['张建国'] = await call('POST', '/api/v1/controls', { person_id: P['张建国'].id, category: 'close', start_date: today }, community);
  R['李秀英'] = await call('POST', '/api/v1/controls', { person_id: P['李秀英'].id, category: 'secondary', start_date: today }, community);
  // The round over the demo community counts its residents again now that they are registered.
  await call('POST', '/api/v1/nat-rounds/1/refresh', {});
  browser = await h.launch();
  ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'gridworker');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test("today's checks: a fever with a symptom and a sample in a few taps, sent once with its key, an alert raised", async () => {
  const wl = await call('GET', '/api/v1/worklist', undefined, gridworker);
  await page.goto(`${srv.base}/m/`);
  await page.waitForFunction((n) => /待测体温 (\d+)/.exec(document.querySelector('[data-test=m-tile-today]')?.innerText || '')?.[1] === String(n), wl.checks.total);
  await page.click('[data-test=m-tile-today]');
  await page.waitForURL(/\/m\/today$/);
  await page.waitForFunction((n) => document.querySelector('[data-test=m-count-checks]')?.innerText === String(n), wl.checks.total);
  assert.equal(wl.checks.total, 2);
  assert.equal(await text('[data-test=m-count-nat]'), String(wl.nat.items.filter((x) => !x.sampled).length));
  assert.equal(await text('[data-test=m-count-alerts]'), '0');
  assert.equal(await text('[data-test=m-today-date]'), today);
  const rec = R['张建国'];
  assert.match(await text(`[data-test=m-check-${rec.id}]`), /张建国[\s\S]*密接 · 集中隔离 · 第 1 天/);
  await h.shot(page, 'phone-today');

  const sent = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith(`/api/v1/controls/${rec.id}/checks`)) sent.push(r.headers()['idempotency-key']); });
  await page.click(`[data-test=m-check-${rec.id}]`);
  await page.locator('[data-test=m-check]').waitFor();
  for (const k of ['3', '7', '8']) await page.click(`[data-test=m-key-${k}]`);
  assert.equal(await text('[data-test=m-temp]'), '37.8 °C');
  assert.match(await text('[data-test=m-fever]'), /发热:将生成预警/);
  await page.click('[data-test=m-sym-dry_cough]');
  assert.equal(await page.getAttribute('[data-test=m-sym-dry_cough]', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('[data-test=m-sampled]', 'aria-checked'), 'true', 'day 1 is a NAT day: the sample is on');
  await page.fill('[data-test=m-tube] input', 'FN-0001');
  await h.shot(page, 'phone-check');
  await page.click('[data-test=m-check-save]');
  await page.waitForFunction((id) => document.querySelector(`[data-test=m-done-${id}]`)?.innerText === '已测 1/2'
    && document.querySelector('[data-test=m-count-alerts]')?.innerText === '2', rec.id);
  assert.equal((await outbox()).length, 0, 'sent and acknowledged');
  assert.equal(sent.length, 1);
  assert.match(sent[0], /^[0-9a-f-]{32,36}$/, 'an Idempotency-Key made with the write');

  const checks = (await call('GET', `/api/v1/controls/${rec.id}/checks`)).items;
  assert.equal(checks.length, 1);
  const c = checks[0];
  assert.equal(c.temperature, 37.8);
  assert.equal(c.fever, true);
  assert.deepEqual(c.symptoms, ['dry_cough']);
  assert.equal(c.nat_sampled, true);
  assert.equal(c.tube, 'FN-0001');
  const alerts = (await call('GET', `/api/v1/alerts?control_id=${rec.id}`)).items;
  assert.deepEqual(alerts.map((a) => a.kind).sort(), ['fever', 'symptom']);
  assert.ok(alerts.every((a) => a.status === 'open'));
  // The NAT day is marked sampled at once.
  assert.equal(await text('[data-test=m-count-nat]'), String(wl.nat.items.filter((x) => !x.sampled).length - 1));
  assert.deepEqual(errors, []);
});

test('the check is on the desktop record, in Beijing time for a browser in Berlin', async () => {
  const rec = R['张建国'];
  const c = (await call('GET', `/api/v1/controls/${rec.id}/checks`)).items[0];
  const desk = await browser.newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN' });
  await h.signInApi(desk, srv.base, 'community');
  const p = await desk.newPage();
  const errs = h.watchErrors(p);
  await p.goto(`${srv.base}/controls/${rec.id}`);
  const row = p.locator('[data-test=checks-table] .el-table__body tr').first();
  await row.waitFor();
  const line = await row.innerText();
  assert.ok(line.includes(shown(c.at_text)), `${c.at_text} shown as Beijing time: ${line}`);
  assert.match(line, /37\.8 °C[\s\S]*发热[\s\S]*干咳[\s\S]*FN-0001[\s\S]*待出结果/);
  assert.match(await p.locator('[data-test=history]').innerText(), /预警[\s\S]*体温 37\.8/);
  await h.shot(p, 'control-record');
  assert.deepEqual(errs, []);
  await desk.close();
});

test('a check recorded offline waits on the phone and reaches the server once', async () => {
  const rec = R['李秀英'];
  await ctx.setOffline(true);
  await page.locator('.van-notice-bar').waitFor();
  await page.click(`[data-test=m-check-${rec.id}]`);
  for (const k of ['3', '6', '5']) await page.click(`[data-test=m-key-${k}]`);
  assert.equal(await text('[data-test=m-temp]'), '36.5 °C');
  assert.equal(await page.locator('[data-test=m-fever]').count(), 0);
  await page.click('[data-test=m-check-save]');
  await page.locator(`[data-test=m-check-${rec.id}] .van-tag`, { hasText: '待同步' }).waitFor();
  const queued = await outbox();
  assert.equal(queued.length, 1);
  assert.deepEqual(Object.keys(queued[0].body).sort(), ['at', 'nat_sampled', 'temperature']);
  assert.equal(queued[0].body.temperature, 36.5);
  assert.equal((await call('GET', `/api/v1/controls/${rec.id}/checks`)).total, 0, 'nothing reached the server yet');
  await ctx.setOffline(false);
  await page.locator(`[data-test=m-check-${rec.id}] .van-tag`, { hasText: '待同步' }).waitFor({ state: 'detached' });
  await h.eventually(async () => (await outbox()).length === 0);
  const checks = (await call('GET', `/api/v1/controls/${rec.id}/checks`)).items;
  assert.equal(checks.length, 1, 'recorded once');
  assert.equal(checks[0].temperature, 36.5);
  assert.equal(checks[0].fever, false);
  assert.equal((await call('GET', `/api/v1/alerts?control_id=${rec.id}`)).total, 0, 'no alert for 36.5 °C');
});

test('her alerts: handled on the phone with a note', async () => {
  const rec = R['张建国'];
  const mine = (await call('GET', '/api/v1/alerts?mine=1&status=open', undefined, gridworker)).items;
  assert.equal(mine.length, 2);
  await page.click('[data-test=m-count-alerts]');
  await page.waitForURL(/\/m\/alerts$/);
  for (const a of mine) await page.locator(`[data-test=m-alert-${a.id}]`).waitFor();
  const fever = mine.find((a) => a.kind === 'fever');
  assert.match(await text(`[data-test=m-alert-${fever.id}]`), new RegExp(`张建国\\s*发热\\s*${shown(fever.raised_at_text)}`));
  await h.shot(page, 'phone-alerts');
  await page.click(`[data-test=m-handle-${fever.id}]`);
  await page.click('[data-test=m-alert-save]');
  assert.match(await text('[data-test=m-alert-note]'), /写明做了什么/, 'a note is needed');
  await page.locator('.m-toggle', { hasText: '已上门复测,体温正常' }).click();
  await page.click('[data-test=m-alert-save]');
  await page.locator(`[data-test=m-alert-${fever.id}]`).waitFor({ state: 'detached' });
  const a = await call('GET', `/api/v1/alerts/${fever.id}`);
  assert.equal(a.status, 'handled');
  assert.equal(a.handle_note, '已上门复测,体温正常');
  assert.equal(a.control_id, rec.id);
  assert.deepEqual(errors, []);
});

test('at the sampling point: a code typed in, the list of those not yet sampled shrinks; a repeat is not counted twice', async () => {
  const grid = async () => call('GET', '/api/v1/nat-rounds/1/unsampled?limit=100', undefined, gridworker);
  const before = await grid();
  assert.equal(before.total, 6);
  await page.click('[data-test=m-tab-nat]');
  await page.waitForURL(/\/m\/nat\/1$/);
  await page.waitForFunction((n) => document.querySelector('[data-test=m-unsampled-total]')?.innerText === `还有 ${n} 人未采`, before.total);
  const progress = await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker);
  assert.match(await text('[data-test=m-nat-progress]'), new RegExp(`第1网格\\s*已采 ${progress.sampled} / 常住 ${progress.residents}`));
  const wang = P['王磊'];
  await page.locator(`[data-test=m-unsampled-${wang.id}]`).waitFor();

  await page.fill('#m-code', `WG-PERSON:${wang.id}`);
  await page.press('#m-code', 'Enter');
  await page.locator('[data-test=m-recent-recorded]').waitFor();
  assert.match(await text('[data-test=m-recent-recorded]'), /王磊[\s\S]*已登记/);
  await page.waitForFunction((n) => document.querySelector('[data-test=m-unsampled-total]')?.innerText === `还有 ${n} 人未采`, before.total - 1);
  await page.locator(`[data-test=m-unsampled-${wang.id}]`).waitFor({ state: 'detached' });
  const after = await grid();
  assert.equal(after.total, before.total - 1);
  assert.ok(!after.items.some((x) => x.person_id === wang.id));
  assert.equal(await page.locator('[data-test=m-unsampled] [data-test^=m-unsampled-]').count(), after.items.length);
  assert.equal(await page.inputValue('#m-code'), '', 'ready for the next person');

  // The same person again: the first sample stands; an unknown code is refused with the server's reason.
  await page.fill('#m-code', `WG-PERSON:${wang.id}`);
  await page.press('#m-code', 'Enter');
  await page.waitForFunction(() => /本轮已采过/.test(document.querySelector('[data-test=m-recent]')?.innerText || ''));
  await page.fill('#m-code', 'WG-PERSON:999999');
  await page.click('[data-test=m-sample-save]');
  await page.locator('[data-test=m-recent-refused]').waitFor();
  assert.match(await text('[data-test=m-recent-refused]'), /WG-PERSON:999999[\s\S]*被拒绝/);
  assert.equal((await grid()).total, before.total - 1, 'counted once');
  const samples = (await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker)).sampled;
  assert.equal(samples, progress.sampled + 1);
  await h.shot(page, 'phone-nat');
  await page.locator('[data-test=m-recent-refused] button', { hasText: '放弃' }).click();
  await page.locator('[data-test=m-recent-refused]').waitFor({ state: 'detached' });
  assert.equal((await outbox()).length, 0);
  assert.deepEqual(errors, []);
});

test('a volunteer samples at the point from its link and sees the progress, not the names', async () => {
  const vctx = await h.context(browser, { phone: true });
  await h.signInApi(vctx, srv.base, 'volunteer');
  const v = await vctx.newPage();
  const errs = h.watchErrors(v, [/403/]);
  await v.goto(`${srv.base}/m/`);
  await v.waitForURL(/\/m\/nat$/);
  assert.equal(await v.locator('[data-test=m-tab-today]').count(), 0, 'no control lists for a volunteer');
  await v.goto(`${srv.base}/m/nat/1`);
  await v.locator('[data-test=m-nat-progress]').waitFor();
  const before = (await call('GET', '/api/v1/nat-rounds/1/progress', undefined, gridworker)).sampled;
  assert.match(await v.locator('.m-page').innerText(), /您的角色不能查看未采名单/);
  await v.fill('#m-code', P['李秀英'].id_number);
  await v.press('#m-code', 'Enter');
  await v.locator('[data-test=m-recent-recorded]').waitFor();
  assert.match(await v.locator('[data-test=m-recent-recorded]').innerText(), /^李\*\*\n/, 'the name masked for a role that may not read the registry');
  await v.waitForFunction((n) => new RegExp(`已采 ${n} /`).test(document.querySelector('[data-test=m-nat-progress]')?.innerText || ''), before + 1);
  const left = await call('GET', '/api/v1/nat-rounds/1/unsampled?limit=100', undefined, gridworker);
  assert.ok(!left.items.some((x) => x.person_id === P['李秀英'].id), 'sampled by the volunteer');
  assert.deepEqual(errs, []);
  await vctx.close();
});
