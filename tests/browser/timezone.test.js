'use strict';
// The zone people read times in is a server setting (wangge.conf
// time_zone, given to the pages in GET /api/v1/me): here Asia/Urumqi (UTC+6)
// while the browser runs in Asia/Shanghai, and the pages follow the server.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, caseId;
const now = Math.floor(Date.now() / 1000);
const onset = Math.floor((now - 3600) / 60) * 60;

// Wall time of a Unix second at UTC+6, as the page shows it.
function urumqi(sec) {
  const d = new Date((sec + 6 * 3600) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

before(async () => {
  srv = await h.startServer({ time_zone: 'Asia/Urumqi' });
  const command = await srv.login('command');
  const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: h.DEMO.grid, name: '病例甲' } });
  assert.equal(p.status, 201, p.text);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: onset, preset: 'v9' } });
  assert.equal(c.status, 201, c.text);
  caseId = c.json.id;
  assert.equal((await srv.api('GET', '/api/v1/me', { token: command })).json.time_zone, 'Asia/Urumqi');
  browser = await h.launch();
  ctx = await h.context(browser, { timezoneId: 'Asia/Shanghai' });
  await h.signInApi(ctx, srv.base, 'command');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test("times are shown and typed in the server's zone, not the browser's", async () => {
  await page.goto(`${srv.base}/tracing/cases/${caseId}`);
  await page.locator('[data-test=case-onset]').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=case-onset]').innerText.length > 0);
  assert.equal(await page.locator('[data-test=case-onset]').innerText(), urumqi(onset));

  await page.goto(`${srv.base}/tracing/cases`);
  await page.click('[data-test=case-add]');
  assert.match(await page.locator('[data-test=cf-zone]').innerText(), /按系统设定的时区填写[\s\S]*Asia\/Urumqi/);
  assert.deepEqual(errors, []);
});
