'use strict';
// The dashboard: per child of the scope node, households, persons, cases
// and contacts handed over, as a bar chart and a table whose figures are
// those GET /api/v1/stats/children counts (no list is read to count),
// opened level by level, exported as CSV.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');

let srv, browser, ctx, page, errors;
const now = Math.floor(Date.now() / 1000);

before(async () => {
  srv = await h.startServer();
  const [command, checkpoint] = await Promise.all([srv.login('command'), srv.login('checkpoint')]);
  const call = async (method, path, body, token = command) => {
    const r = await srv.api(method, path, { token, body });
    assert.ok(r.status < 300, `${path}: ${r.text}`);
    return r.json;
  };
  await call('POST', '/api/v1/households', { grid_id: h.DEMO.grid, address: '兴阜小区1号楼101室' });
  const ids = [];
  for (const name of ['病例甲', '同店乙', '路人丙']) ids.push((await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name })).id);
  const venue = await call('POST', '/api/v1/venues', { grid_id: h.DEMO.grid, name: '兴阜超市', kind: 'market' });
  await call('POST', '/api/v1/scans', { venue_code: venue.code, person_id: ids[0], t_in: now - 7200, t_out: now - 5400 }, checkpoint);
  await call('POST', '/api/v1/scans', { venue_code: venue.code, person_id: ids[1], t_in: now - 6600, t_out: now - 4800 }, checkpoint);
  const c = await call('POST', '/api/v1/cases', { person_id: ids[0], onset_at: now - 600, preset: 'v9' });
  await call('POST', `/api/v1/cases/${c.id}/trace`, {});
  await call('POST', `/api/v1/cases/${c.id}/apply`);
  browser = await h.launch();
  ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, 'command');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const cellsOf = async (row) => (await row.locator('td').allInnerTexts()).map((x) => x.trim());
const tableRows = () => page.locator('[data-test=dash-table] .el-table__body tr');
const FIGURES = ['households', 'persons', 'cases', 'contacts'];
const KIND = { county: '县', street: '街道', town: '镇', community: '社区', village: '村', grid: '网格', building: '楼栋' };

/** The table as the page shows it equals GET /stats/children, row by row, and its total row is the node's own figures. */
async function sameAsApi(token, node) {
  const api = (await srv.api('GET', `/api/v1/stats/children${node ? `?node=${node}` : ''}`, { token })).json;
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=dash-table] .el-table__body tr').length === n
    && !document.querySelector('[data-test=dash-table] .el-loading-mask'), api.items.length);
  const shown = await tableRows().evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.innerText.trim())));
  const keys = FIGURES.filter((f) => f in api.node);
  assert.deepEqual(shown, api.items.map((i) => [i.name, KIND[i.kind], ...keys.map((k) => String(i[k]))]));
  const total = (await page.locator('[data-test=dash-table] .el-table__footer td').allInnerTexts()).map((x) => x.trim());
  assert.deepEqual(total, ['合计', '', ...keys.map((k) => String(api.node[k]))]);
  return api;
}

test('figures per child node in a chart and a table, equal to the statistics the server counts, exported as CSV', async () => {
  const command = await srv.login('command');
  const reads = [];
  page.on('request', (r) => { if (/\/api\/v1\/(persons|households|contacts|cases)\b/.test(r.url())) reads.push(r.url()); });
  await page.goto(`${srv.base}/dashboard`);
  await h.usableAt(page, 30000);
  const row = tableRows().filter({ hasText: '阜城街道' });
  await row.waitFor();
  assert.deepEqual(await cellsOf(row), ['阜城街道', '街道', '1', '3', '1', '1'], 'households, persons, cases, contacts of the street');
  assert.deepEqual(await cellsOf(tableRows().filter({ hasText: '沟墩镇' })), ['沟墩镇', '镇', '0', '0', '0', '0']);
  const api = await sameAsApi(command);
  assert.equal(api.items.length, (await srv.api('GET', '/api/v1/grids/1/children', { token: command })).json.total);
  assert.deepEqual(reads, [], 'no list of persons, households, cases or contacts is read (nor audited) to count');
  assert.ok(await page.locator('[data-test=dash-chart] canvas').count() >= 1, 'the bar chart is drawn');
  await h.shot(page, 'dashboard');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=dash-export]')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\ufeff编号,节点,层级,户数,人数,病例,下发接触者'), csv.slice(0, 80));
  assert.match(csv, /\r\n2,阜城街道,街道,1,3,1,1\r\n/);
  assert.match(csv, /\r\n1,合计\(阜宁县\),县,1,3,1,1\r?\n?$/);
  assert.deepEqual(errors, []);
});

test('a child opens to its own children; the trail leads back', async () => {
  const command = await srv.login('command');
  await page.click('[data-test=dash-open-2]');
  await page.locator('[data-test=dash-trail]', { hasText: '阜城街道' }).waitFor();
  await sameAsApi(command, h.DEMO.street);
  assert.deepEqual(await cellsOf(tableRows().filter({ hasText: '兴阜居委会' })), ['兴阜居委会', '社区', '1', '3', '1', '1']);
  await page.click(`[data-test=dash-open-${h.DEMO.community}]`);
  await sameAsApi(command, h.DEMO.community);
  await page.locator('[data-test=dash-trail] button', { hasText: '阜宁县' }).click();
  await sameAsApi(command);
  assert.equal(await page.locator('[data-test=dash-trail]').count(), 0, 'back at the scope node');
  assert.deepEqual(errors, []);
});

test("a community's dashboard: its grids, with the figures its role may see", async () => {
  const ctx2 = await h.context(browser);
  await h.signInApi(ctx2, srv.base, 'community');
  const p = await ctx2.newPage();
  const errs = h.watchErrors(p);
  await p.goto(`${srv.base}/dashboard`);
  await h.usableAt(p, 30000);
  const token = await srv.login('community');
  const api = (await srv.api('GET', '/api/v1/stats/children', { token })).json;
  const heads = (await p.locator('[data-test=dash-table] .el-table__header th').allInnerTexts()).map((x) => x.trim());
  assert.deepEqual(heads, ['节点', '层级', ...FIGURES.filter((f) => f in api.node).map((f) => ({ households: '户数', persons: '人数', cases: '病例', contacts: '下发接触者' })[f])]);
  const grid1 = p.locator('[data-test=dash-table] .el-table__body tr', { hasText: '第1网格' });
  await grid1.waitFor();
  const mine = api.items.find((i) => i.id === h.DEMO.grid);
  assert.deepEqual((await grid1.locator('td').allInnerTexts()).map((x) => x.trim()).slice(2), FIGURES.filter((f) => f in api.node).map((f) => String(mine[f])));
  assert.deepEqual(errs, []);
  await ctx2.close();
});
