'use strict';
// The login log (登录日志): a failed sign-in just made shows up, found by its
// outcome, user and a time range typed in local time. The browser runs in
// Europe/Berlin and the server in Asia/Shanghai: the page reads and types
// Beijing time, as the people of the county do, whatever the computer says.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, admin;

before(async () => {
  srv = await h.startServer();
  admin = await srv.login('admin', h.ADMIN_PASSWORD);
  browser = await h.launch();
  ctx = await h.context(browser, { timezoneId: 'Europe/Berlin' });
  await h.signInApi(ctx, srv.base, 'admin', h.ADMIN_PASSWORD);
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const rows = () => page.locator('[data-test=logins-table] .el-table__body tr');
const logins = async (q) => (await srv.api('GET', `/api/v1/logins?${q}`, { token: admin })).json;

test('a failed sign-in just made is in the login log, found by outcome, user and time', async () => {
  // Someone types a wrong password on the sign-in page.
  const other = await h.context(browser);
  const p = await other.newPage();
  await h.signInUi(p, srv.base, 'gridworker', 'not-her-password');
  await p.locator('[data-test=login-error]').waitFor();
  await other.close();
  const [failed] = (await logins('user=gridworker&outcome=wrong_password')).items;
  assert.ok(failed, 'the server logged it');

  await page.goto(`${srv.base}/admin/users`);
  await page.locator('nav.wg-side').getByText('登录日志').click();
  await page.waitForURL(/\/monitor\/logins$/);
  await rows().first().waitFor();
  // Newest first: the failure is near the top, but among the sign-ins of the test set-up.
  const all = await logins('limit=100');
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=logins-table] .el-table__body tr').length === n, all.items.length);

  // Only failures of a wrong password: the server filters (?outcome=).
  const asked = [];
  page.on('request', (r) => { if (/\/api\/v1\/logins\?/.test(r.url())) asked.push(new URL(r.url()).searchParams); });
  await h.pickOption(page, '#lg-outcome', '密码错误');
  await page.waitForFunction(() => {
    const trs = [...document.querySelectorAll('[data-test=logins-table] .el-table__body tr')];
    return trs.length > 0 && trs.every((tr) => /密码错误/.test(tr.innerText));
  });
  assert.equal(asked.at(-1).get('outcome'), 'wrong_password');
  const row = rows().filter({ hasText: 'gridworker' }).first();
  const text = await row.innerText();
  // The time as the server's zone reads it (Beijing), not the browser's (Berlin), nor Unix seconds.
  const wall = failed.at_text.slice(0, 19).replace('T', ' ');
  assert.ok(text.includes(wall), `${wall} in ${text}`);
  assert.match(text, /127\.0\.0\.1/);
  assert.ok(!text.includes(String(failed.at)));

  // The same, by user and a range of that one minute typed in Beijing time.
  const minute = wall.slice(0, 16);
  await page.fill('#lg-user', 'gridworker');
  await page.fill('#lg-from', minute);
  await page.keyboard.press('Enter');
  await page.fill('#lg-to', minute);
  await page.keyboard.press('Enter');
  assert.match(await page.locator('[data-test=lg-zone]').innerText(), /北京时间/);
  await page.click('[data-test=lg-search]');
  await page.waitForFunction(() => /共 1 条/.test(document.querySelector('[data-test=lg-total]')?.innerText || ''));
  const q = asked.at(-1);
  assert.equal(q.get('user'), 'gridworker');
  assert.equal(q.get('outcome'), 'wrong_password');
  const startOfMinute = failed.at - (failed.at % 60);
  assert.equal(Number(q.get('since')), startOfMinute, 'from: the minute typed, read in Beijing time');
  assert.equal(Number(q.get('until')), startOfMinute + 59, 'to: the whole minute typed');
  assert.equal(await rows().count(), 1);
  assert.ok((await rows().first().innerText()).includes(wall));
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-logins');

  // Another outcome in that range: nothing.
  await h.pickOption(page, '#lg-outcome', '登录成功');
  await page.waitForFunction(() => /共 0 条/.test(document.querySelector('[data-test=lg-total]')?.innerText || ''));
  assert.equal(asked.at(-1).get('outcome'), 'ok');
  // Reset: every attempt again.
  await page.click('[data-test=lg-reset]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=logins-table] .el-table__body tr').length >= n, all.items.length);
  assert.equal(asked.at(-1).get('outcome'), null);
  assert.deepEqual(errors, []);
});

test('a range that ends before it starts is refused on the page', async () => {
  await page.fill('#lg-from', '2026-12-06 10:00');
  await page.keyboard.press('Enter');
  await page.fill('#lg-to', '2026-12-06 09:00');
  await page.keyboard.press('Enter');
  await page.click('[data-test=lg-search]');
  await page.locator('[data-test=lg-error]', { hasText: '起始时间晚于截止时间' }).waitFor();
  assert.deepEqual(errors, []);
});
