'use strict';
// The command center's dashboard: per child of the scope node, households,
// persons, cases and contacts handed over, as a bar chart and a table,
// exported as CSV.
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

test('figures per child node in a chart and a table, exported as CSV', async () => {
  await page.goto(`${srv.base}/dashboard`);
  await h.usableAt(page, 30000);
  const row = page.locator('[data-test=dash-table] .el-table__body tr', { hasText: '阜城街道' });
  await row.waitFor();
  const cells = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
  assert.deepEqual(cells, ['阜城街道', '街道', '1', '3', '1', '1'], 'households, persons, cases, contacts of the street');
  const other = page.locator('[data-test=dash-table] .el-table__body tr', { hasText: '沟墩镇' });
  assert.deepEqual((await other.locator('td').allInnerTexts()).map((s) => s.trim()), ['沟墩镇', '镇', '0', '0', '0', '0']);
  const kids = (await srv.api('GET', '/api/v1/grids/1/children', { token: await srv.login('command') })).json;
  assert.equal(await page.locator('[data-test=dash-table] .el-table__body tr').count(), kids.total);
  assert.ok(await page.locator('[data-test=dash-chart] canvas').count() >= 1, 'the bar chart is drawn');
  await page.waitForFunction(() => !document.querySelector('.el-loading-mask'));
  await h.shot(page, 'dashboard');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=dash-export]')]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\ufeff编号,节点,层级,户数,人数,病例,下发接触者'), csv.slice(0, 80));
  assert.match(csv, /\r\n2,阜城街道,街道,1,3,1,1\r\n/);
  assert.deepEqual(errors, []);
});
