'use strict';
// The auditor's log: newest first, paged by cursor, filtered by the server
// (resource, action), and who revealed whole ID numbers and phones.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, auditor;

before(async () => {
  srv = await h.startServer();
  const command = await srv.login('command');
  const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: h.DEMO.grid, name: '张三', id_number: '11010519491231002X' } });
  assert.equal(p.status, 201, p.text);
  assert.equal((await srv.api('GET', `/api/v1/persons/${p.json.id}?reveal=1`, { token: command })).status, 200);
  // More than a page of records: each read of a person is audited.
  for (let i = 0; i < 60; i++) assert.equal((await srv.api('GET', `/api/v1/persons/${p.json.id}`, { token: command })).status, 200);
  auditor = await srv.login('auditor');
  browser = await h.launch();
  ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, 'auditor');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const rows = () => page.locator('[data-test=audit-table] .el-table__body tr');

test('the log, newest first, and paging by cursor', async () => {
  await page.goto(`${srv.base}/audit`);
  await rows().first().waitFor();
  await h.pickOption(page, '#a-limit', '50');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=audit-table] .el-table__body tr').length === 50);
  const api = (await srv.api('GET', '/api/v1/audit?limit=50', { token: auditor })).json;
  assert.equal(await rows().count(), api.items.length);
  assert.equal((await rows().first().locator('td').first().innerText()).trim(), String(api.items[0].id));
  assert.notEqual(api.next_cursor, null, 'the demo county has more than a page of records');
  await page.click('[data-test=audit-more]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=audit-table] .el-table__body tr').length > n, api.items.length);
});

test('filtered to persons: who revealed what (the server filters)', async () => {
  await h.pickOption(page, '#a-limit', '200');
  await h.pickOption(page, '#a-resource', '(persons)');
  await page.click('[data-test=audit-search]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-test=audit-table] .el-table__body tr')].every((r) => /人员/.test(r.innerText)));
  await h.pickOption(page, '#a-action', '(reveal)');
  await page.click('[data-test=audit-search]');
  const reveal = rows().filter({ hasText: '查看完整信息' });
  await page.waitForFunction(() => /共 1 条/.test(document.querySelector('[data-test=audit-total]')?.innerText || ''));
  assert.equal(await rows().count(), await reveal.count(), 'only reveals shown');
  const text = await reveal.first().innerText();
  assert.match(text, /command/);
  assert.match(text, /\/1\/2\/3\/4\//);
  const api = (await srv.api('GET', '/api/v1/audit?resource=persons&action=reveal&limit=200', { token: auditor })).json.items;
  assert.equal(await rows().count(), api.length);
  await page.mouse.move(0, 0);
  await h.shot(page, 'audit');
  assert.deepEqual(errors, []);
});

test('a checkpoint\'s scans at one venue read as one record with their number', async () => {
  const command = await srv.login('command');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: h.DEMO.grid, name: '审计页卡口', kind: 'checkpoint' } });
  assert.equal(v.status, 201, v.text);
  const scans = await Promise.all(Array.from({ length: 30 }, (_, i) => srv.api('POST', '/api/v1/scans',
    { token: command, body: { venue_code: v.json.code, phone: `1370000${2000 + i}` } })));
  for (const r of scans) assert.equal(r.status, 201, r.text);
  let api;
  for (let i = 0; i < 50; i++) {   // chained by the audit queue within moments
    api = (await srv.api('GET', `/api/v1/audit?action=scan&record=${v.json.id}`, { token: auditor })).json.items;
    if (api.reduce((n, x) => n + x.events, 0) === 30) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(api.reduce((n, x) => n + x.events, 0), 30, 'every scan counted once');
  await page.goto(`${srv.base}/audit?action=scan&record=${v.json.id}`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=audit-table] .el-table__body tr').length === n, api.length);
  const shown = await page.locator('[data-test=audit-events]').allInnerTexts();
  assert.deepEqual(shown.map((s) => s.trim()), api.filter((x) => x.events > 1).map((x) => `共 ${x.events} 次`));
  assert.ok(shown.length >= 1, 'thirty scans at once make at least one record of several');
  await page.mouse.move(0, 0);
  await h.shot(page, 'audit-scans');
  assert.deepEqual(errors, []);
});
