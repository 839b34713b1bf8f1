'use strict';
// Online sessions (在线用户): the administrator sees who is signed in and
// forces one out, after a confirmation; that session's next request is
// refused and its page goes back to sign-in. An auditor cannot be forced out
// by the administrator: the page offers no button and says why. Everyone's
// "sign out everywhere" (个人中心) ends the account's other sessions too.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, admin, errors;

before(async () => {
  srv = await h.startServer();
  admin = await srv.login('admin', h.ADMIN_PASSWORD);
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** A signed-in desktop user with a page open. */
async function user(name, password) {
  const ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, name, password);
  const page = await ctx.newPage();
  return { ctx, page, errors: h.watchErrors(page) };
}
const sessionsOf = async (username) => (await srv.api('GET', '/api/v1/sessions?limit=1000', { token: admin })).json.items
  .filter((s) => s.username === username);

test('the administrator sees the online sessions and forces one out; its next request is refused', async () => {
  const community = await user('community');
  await community.page.goto(`${srv.base}/grid`);
  await community.page.locator('nav.wg-side', { hasText: '用户管理' }).waitFor();
  const auditor = await srv.login('auditor');
  assert.ok(auditor);

  const a = await user('admin', h.ADMIN_PASSWORD);
  const page = a.page;
  errors = a.errors;
  await page.goto(`${srv.base}/admin/users`);
  await page.locator('nav.wg-side').getByText('系统监控').waitFor();
  await page.locator('nav.wg-side').getByText('在线用户').click();
  await page.waitForURL(/\/monitor\/sessions$/);
  const rows = page.locator('[data-test=sessions-table] .el-table__body tr');
  const row = (username) => rows.filter({ has: page.locator('td:nth-child(2)', { hasText: new RegExp(`^\\s*${username}\\b`) }) });
  await row('community').first().waitFor();
  const [mine] = await sessionsOf('community');
  assert.ok(mine, 'the community worker is online');
  const theRow = rows.filter({ has: page.locator(`[data-test=session-force-${mine.id}]`) });
  const text = await theRow.innerText();
  assert.match(text, /社区工作人员/, 'the role by its Chinese name');
  assert.match(text, /127\.0\.0\.1/);
  // Times in local time (the server's zone), never Unix seconds.
  const wall = mine.created_at_text.slice(0, 19).replace('T', ' ');
  assert.ok(text.includes(wall), `${wall} in ${text}`);
  assert.ok(!/\b1[789]\d{8}\b/.test(text), 'no Unix seconds on the page');
  // The administrator's own session is marked and has no button.
  const current = rows.filter({ has: page.locator('[data-test=session-current]') });
  assert.equal(await current.count(), 1);
  assert.match(await current.innerText(), /admin/);
  assert.equal(await current.locator('button').count(), 0);
  assert.match(await page.locator('[data-test=sessions-total]').innerText(), /共 \d+ 条/);
  await h.shot(page, 'admin-sessions');

  // Force it out: a confirmation naming whom, then the row is gone.
  await page.click(`[data-test=session-force-${mine.id}]`);
  const box = page.locator('.el-message-box', { hasText: 'community' });
  await box.waitFor();
  assert.match(await box.innerText(), new RegExp(`会话 ${mine.id}`));
  await box.locator('.el-button--primary').click();
  await page.locator(`[data-test=session-force-${mine.id}]`).waitFor({ state: 'detached' });
  assert.deepEqual(await sessionsOf('community'), [], 'the session is gone on the server');

  // The forced-out page: its next request is refused and it goes back to sign-in, saying why.
  await community.page.locator('nav.wg-side').getByText('用户管理').click();
  await community.page.waitForURL(/\/login\?.*expired=1/);
  await community.page.locator('[data-test=login-notice]').waitFor();
  assert.match(await community.page.locator('[data-test=login-notice]').innerText(), /登录已过期或已在别处退出/);
  assert.equal((await community.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 401);
  await community.ctx.close();

  // The auditor cannot be forced out by the administrator (separation of duties): no button, a note
  // saying so; the server refuses it anyway.
  const [aud] = await sessionsOf('auditor');
  assert.ok(aud, 'the auditor is online');
  const audRow = rows.filter({ has: page.locator(`[data-test=session-kept-${aud.id}]`) });
  assert.equal(await audRow.count(), 1);
  assert.equal(await audRow.locator('button').count(), 0, 'no button for the auditor');
  assert.match(await audRow.innerText(), /不能强制下线/);
  assert.match(await page.locator(`[data-test=session-kept-${aud.id}]`).getAttribute('title'), /三员分立/);
  assert.equal((await srv.api('DELETE', `/api/v1/sessions/${aud.id}`, { token: admin })).status, 403);
  assert.equal((await srv.api('GET', '/api/v1/me', { token: auditor })).status, 200, 'the auditor is still signed in');

  // A session that ended since the list was read: the server's word is shown and the list read again.
  const late = await srv.login('community');
  await page.click('[data-test=sessions-refresh]');
  const [gone] = await sessionsOf('community');
  await page.locator(`[data-test=session-force-${gone.id}]`).waitFor();
  assert.equal((await srv.api('DELETE', '/api/v1/session', { token: late })).status, 204);
  await page.click(`[data-test=session-force-${gone.id}]`);
  await page.locator('.el-message-box', { hasText: 'community' }).locator('.el-button--primary').click();
  const refusal = page.locator('[data-test=sessions-refusal]');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /服务器拒绝强制下线 社区工作人员\(community\)/);
  await page.locator(`[data-test=session-force-${gone.id}]`).waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  assert.deepEqual(community.errors, []);
  await a.ctx.close();
});

test('个人中心: one other session ended on its own; sign out everywhere ends the rest', async () => {
  const elsewhere = await user('gridworker');
  assert.equal((await elsewhere.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 200);
  // A computer in the community office where the grid worker forgot to sign out.
  const forgotten = await user('gridworker');
  assert.equal((await forgotten.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 200);
  // A grid worker signed in at the office computer as well as on the phone.
  const office = await user('gridworker');
  const page = office.page;
  await page.goto(`${srv.base}/account`);
  const list = page.locator('[data-test=account-sessions] .el-table__body tr');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=account-sessions] .el-table__body tr').length === 3);
  assert.equal(await list.filter({ hasText: '当前会话' }).count(), 1);
  assert.equal(await list.filter({ hasText: '当前会话' }).locator('button').count(), 0, 'this session is ended by signing out');
  assert.match(await page.locator('[data-test=account-info]').innerText(), /gridworker/);
  await h.shot(page, 'account');

  // The forgotten one, ended on its own after a confirmation naming it.
  const ids = (await sessionsOf('gridworker')).map((x) => x.id);
  const forgottenId = Math.max(...ids.filter((id) => id !== Math.max(...ids)));
  await page.click(`[data-test=account-end-${forgottenId}]`);
  const ask = page.locator('.el-message-box', { hasText: `会话 ${forgottenId}` });
  await ask.waitFor();
  await ask.locator('.el-button--primary').click();
  await page.locator(`[data-test=account-end-${forgottenId}]`).waitFor({ state: 'detached' });
  assert.equal(await list.count(), 2);
  assert.equal((await forgotten.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 401, 'that session ended');
  assert.equal((await elsewhere.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 200, 'the others go on');
  await forgotten.ctx.close();

  await page.click('[data-test=signout-all]');
  const box = page.locator('.el-message-box', { hasText: '在所有设备上退出' });
  await box.waitFor();
  await box.locator('.el-button--primary').click();
  await page.waitForURL(/\/login$/);
  assert.equal((await office.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 401, 'this session ended');
  assert.equal((await elsewhere.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 401, 'the other session ended too');
  assert.deepEqual(await sessionsOf('gridworker'), []);
  assert.deepEqual(office.errors, []);
  await office.ctx.close();
  await elsewhere.ctx.close();
});

test('on a phone: the online sessions are a page one can read and act on', async () => {
  const ctx = await h.context(browser, { phone: true });
  await h.signInApi(ctx, srv.base, 'admin', h.ADMIN_PASSWORD);
  const page = await ctx.newPage();
  const errs = h.watchErrors(page);
  await page.goto(`${srv.base}/monitor/sessions`);
  await page.locator('[data-test=sessions-table] .el-table__body tr').first().waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390 + 1, `no sideways scroll of the page: ${width}`);
  await h.shot(page, 'admin-sessions-phone');
  assert.deepEqual(errs, []);
  await ctx.close();
});

test('changing one\'s password (个人中心): a weak one is refused under its field; a good one ends the sessions', async () => {
  const elsewhere = await user('checkpoint');
  const me = await user('checkpoint');
  const page = me.page;
  await page.goto(`${srv.base}/account`);
  await page.fill('#ac-current', h.DEMO_PASSWORD);
  await page.fill('#ac-password', 'short');
  await page.fill('#ac-password2', 'short');
  await page.click('[data-test=ac-password-save]');
  const item = page.locator('.el-form-item', { has: page.locator('#ac-password') });
  await item.locator('.el-form-item__error').waitFor();
  assert.match(await item.locator('.el-form-item__error').innerText(), /密码长度/);
  await page.fill('#ac-password', 'Gate-duty 2027');
  await page.fill('#ac-password2', 'Gate-duty 2026');
  await page.click('[data-test=ac-password-save]');
  await page.locator('.el-form-item', { has: page.locator('#ac-password2') }).locator('.el-form-item__error', { hasText: '不一致' }).waitFor();
  await page.fill('#ac-password2', 'Gate-duty 2027');
  await page.click('[data-test=ac-password-save]');
  await page.waitForURL(/\/login$/);
  assert.equal((await elsewhere.ctx.request.get(`${srv.base}/api/v1/me`)).status(), 401, 'every session ended');
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: h.DEMO_PASSWORD } })).status, 401);
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: 'Gate-duty 2027' } })).status, 201);
  assert.deepEqual(me.errors, []);
  await me.ctx.close();
  await elsewhere.ctx.close();
});
