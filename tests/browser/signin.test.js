'use strict';
// Sign-in: the API's messages in Chinese with the English beside, lockout,
// the shell (user, role, scope, menu by rights, language), sign-out, and a
// session that ends on the server sending the page back to sign-in.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors;

before(async () => {
  srv = await h.startServer();
  browser = await h.launch();
  ctx = await h.context(browser);
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('a wrong password is refused in Chinese with the English beside', async () => {
  await page.goto(`${srv.base}/`);
  await page.waitForURL(/\/login/);
  await h.shot(page, 'login');
  await h.signInUi(page, srv.base, 'command', 'not-the-password');
  const msg = page.locator('[data-test=login-error]');
  await msg.waitFor();
  const text = await msg.innerText();
  assert.match(text, /用户名或密码错误/);
  assert.match(text, /wrong/i);
});

test('five failures lock the account, and the page says so', async () => {
  for (let i = 0; i < 5; i++) {
    await h.signInUi(page, srv.base, 'checkpoint', `bad-${i}`);
    await page.locator('[data-test=login-error]').waitFor();
  }
  await h.signInUi(page, srv.base, 'checkpoint', h.DEMO_PASSWORD);
  await page.waitForFunction(() => /15 分钟/.test(document.querySelector('[data-test=login-error]')?.innerText || ''));
  assert.match(await page.locator('[data-test=login-error]').innerText(), /登录失败次数过多.*\/.*too many/s);
  assert.match(page.url(), /\/login/);
});

test('signed in: who, role, scope, the menu by rights; English on request; sign out', async () => {
  await h.signInUi(page, srv.base, 'command');
  await page.waitForURL((u) => !/\/login/.test(u.pathname));
  const who = page.locator('[data-test=whoami]');
  await page.waitForFunction(() => /阜宁县/.test(document.querySelector('[data-test=scope]')?.innerText || ''));
  assert.match(await who.innerText(), /县指挥部值班员/);
  assert.match(await page.locator('[data-test=role]').innerText(), /指挥部/);
  const menu = await page.locator('nav.wg-side').innerText();
  for (const item of ['网格与人口', '数据导入', '病例与流调', '用户管理']) assert.ok(menu.includes(item), `${item} in ${menu}`);
  assert.ok(!menu.includes('审计日志'), 'command has no AUDIT_READ: no audit menu');
  await page.goto(`${srv.base}/grid`);
  await h.usableAt(page);
  await page.locator('.wg-tree .el-tree-node__children .wg-tree-node', { hasText: '阜城街道' }).waitFor();
  await page.waitForFunction(() => /阜宁县/.test(document.querySelector('[data-test=node-detail] h1')?.innerText || '')
    && document.querySelector('[data-test=count-persons]'));
  await h.shot(page, 'shell');

  await page.selectOption('[data-test=lang]', 'en');
  await page.waitForFunction(() => /Grid and registry/.test(document.querySelector('nav.wg-side')?.innerText || ''));
  await page.selectOption('[data-test=lang]', 'zh-CN');
  await page.waitForFunction(() => /网格与人口/.test(document.querySelector('nav.wg-side')?.innerText || ''));

  await page.click('[data-test=signout]');
  await page.waitForURL(/\/login/);
  const me = await ctx.request.get(`${srv.base}/api/v1/me`);
  assert.equal(me.status(), 401, 'the session is gone on the server');
});

test('the auditor sees only the audit menu', async () => {
  await h.signInUi(page, srv.base, 'auditor');
  await page.waitForURL(/\/audit/);
  const menu = await page.locator('nav.wg-side').innerText();
  assert.ok(menu.includes('审计日志'));
  assert.ok(!menu.includes('网格与人口') && !menu.includes('用户管理'), menu);
  await page.click('[data-test=signout]');
  await page.waitForURL(/\/login/);
});

test('a session ended on the server sends the page back to sign-in with a message', async () => {
  await h.signInUi(page, srv.base, 'community');
  await page.waitForURL(/\/dashboard/);
  await h.usableAt(page);
  // An administrator resets the password: every session of the account ends.
  const admin = await srv.login('admin', h.ADMIN_PASSWORD);
  const u = (await srv.api('GET', '/api/v1/users?q=community', { token: admin })).json.items.find((x) => x.username === 'community');
  assert.equal((await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: admin, body: { password: 'a-new-password-2026' } })).status, 200);
  await page.click('text=用户管理');
  await page.waitForURL(/\/login\?.*expired=1/);
  assert.match(await page.locator('[data-test=login-notice]').innerText(), /登录已过期/);
  await h.signInUi(page, srv.base, 'community', 'a-new-password-2026');
  await page.waitForURL((x) => !/\/login/.test(x.pathname));
  assert.deepEqual(errors, []);
});

test('on a phone the desktop pages fold the menu into the top bar', async () => {
  const phone = await h.context(browser, { phone: true });
  await h.signInApi(phone, srv.base, 'command');
  const p = await phone.newPage();
  const errs = h.watchErrors(p);
  await p.goto(`${srv.base}/dashboard`);
  await h.usableAt(p, 30000);
  assert.equal(await p.locator('nav.wg-side').isVisible(), false, 'the menu is folded');
  const width = await p.evaluate(() => document.querySelector('.wg-main').getBoundingClientRect().width);
  assert.equal(Math.round(width), 390, 'the page has the whole width');
  assert.equal(await p.evaluate(() => document.documentElement.scrollWidth), 390, 'nothing wider than the screen but the tables, which scroll');
  await h.shot(p, 'desktop-on-phone');
  await p.click('[data-test=menu-toggle]');
  await p.locator('nav.wg-side').waitFor();
  assert.equal(await p.getAttribute('[data-test=menu-toggle]', 'aria-expanded'), 'true');
  await h.shot(p, 'desktop-on-phone-menu');
  await p.locator('nav.wg-side .el-menu-item', { hasText: '下发名单' }).click();
  await p.waitForURL(/\/tracing\/contacts$/);
  await p.locator('nav.wg-side').waitFor({ state: 'hidden' });
  assert.deepEqual(errs, []);
  await phone.close();
});
