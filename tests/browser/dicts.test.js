'use strict';
// 字典管理 and 参数设置, the administrator's read-only pages: every value list
// the records accept (GET /dictionaries), grouped by record and searchable,
// and the running server's parameters (GET /parameters) as a person reads
// them, grouped, with the server's word on how to change them. Another role
// has neither in its menu and, opening the parameters by their address, is
// shown the server's refusal. The auditor's header names its scope.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, admin;

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
const texts = (loc) => loc.evaluateAll((els) => els.map((e) => e.innerText.trim()));

test('字典管理: every list the server accepts, by record, with codes and names; searchable', async () => {
  const dicts = (await srv.api('GET', '/api/v1/dictionaries', { token: admin })).json;
  assert.ok(dicts.total > 0 && dicts.items.length === dicts.total);
  const { ctx, page, errors } = await user('admin', h.ADMIN_PASSWORD);
  await page.goto(`${srv.base}/admin/users`);
  await page.locator('nav.wg-side').getByText('字典管理').click();
  await page.waitForURL(/\/admin\/dicts$/);
  const tags = page.locator('[data-test=dict-persons-tags]');
  await tags.waitFor();
  assert.match(await page.locator('[data-test=dicts-shipped]').innerText(), /随程序发布[\s\S]*还不能在页面上增删或修改/);

  // Grouped by record in the server's order; each list under its field's Chinese name, all its values.
  const resources = [...new Set(dicts.items.map((d) => d.resource_zh))];
  const heads = await texts(page.locator('[data-test=dict-group] > h2'));
  assert.deepEqual(heads.map((s) => s.split(/\s/)[0]), resources);
  const values = dicts.items.reduce((n, d) => n + d.values.length, 0);
  assert.equal((await page.locator('[data-test=dicts-total]').innerText()).trim(), `${dicts.total} 个字典,${values} 个取值`);
  for (const d of dicts.items) {
    const card = page.locator(`[data-test=dict-${d.resource}-${d.field}]`);
    assert.match(await card.locator('h3').innerText(), new RegExp(`${d.field_zh}\\s+${d.field}`));
    const shown = await card.locator('[data-test=dict-value]').evaluateAll((els) => els.map((e) => e.dataset.value));
    assert.deepEqual(shown, d.values.map((v) => v.value), `${d.resource}.${d.field}`);
  }
  // 重点人群 (persons' tags): a tag's code is its word.
  assert.match(await tags.locator('h3').innerText(), /重点人群/);
  assert.ok((await texts(tags.locator('[data-test=dict-value]'))).includes('低保对象'));
  assert.match(await tags.innerText(), /编码即名称/);
  // An enumeration: the code and the name people read.
  const gender = page.locator('[data-test=dict-persons-gender] tbody tr');
  assert.deepEqual(await texts(gender), ['male\t男', 'female\t女']);
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-dicts');

  // A value's word: only the lists that hold it, only those values, the word marked.
  await page.fill('#dc-q', '低保');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=dict-group]').length === 2);
  assert.deepEqual(await texts(page.locator('[data-test=dict-value]')), ['低保对象', '低保对象']);
  assert.deepEqual(await texts(page.locator('[data-test=dicts] mark')), ['低保', '低保']);
  assert.match(await page.locator('[data-test=dicts-shown]').innerText(), /显示 2 个字典、2 个取值/);
  // A field's name: that list whole.
  await page.fill('#dc-q', '居住状态');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=dict-value]').length === 4);
  assert.equal(await page.locator('[data-test=dict-persons-residence]').count(), 1);
  // A code, in any case.
  await page.fill('#dc-q', 'HOME_');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=dict-value]').length === 2);
  assert.deepEqual(await texts(page.locator('[data-test=dict-controls-mode] tbody td:first-child')), ['home_isolation', 'home_monitoring']);
  // Nothing: said so.
  await page.fill('#dc-q', '没有这个词');
  await page.locator('[data-test=dicts-empty]', { hasText: '没有与“没有这个词”匹配的字典或取值' }).waitFor();
  // One record's lists.
  await page.fill('#dc-q', '');
  await h.pickOption(page, '#dc-resource', '隔离点');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=dict-group]').length === 1);
  assert.deepEqual(await texts(page.locator('[data-test=dict-group] h3')), ['类型 kind', '状态 status']);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('参数设置: grouped, each meaning and value as a person reads it, read-only, how to change them', async () => {
  const params = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json;
  const { ctx, page, errors } = await user('admin', h.ADMIN_PASSWORD);
  await page.goto(`${srv.base}/admin/users`);
  await page.locator('nav.wg-side').getByText('参数设置').click();
  await page.waitForURL(/\/admin\/params$/);
  const value = (key) => page.locator(`[data-test=param-${key}] [data-test=param-value]`);
  await value('login_lock_seconds').waitFor();

  assert.deepEqual(await texts(page.locator('[data-test=param-group] > h2')), ['时间', '登录与密码', '会话', '审计', '居民扫码登记', '服务', '流调与扫码']);
  assert.equal(await page.locator('[data-test=param-group] tbody tr').count(), params.total);
  assert.match(await page.locator('[data-test=params-source]').innerText(), /来源:wangge\.conf/);
  const note = await page.locator('[data-test=params-note]').innerText();
  assert.match(note, /参数只读/);
  assert.match(note, /修改数据目录中的 wangge\.conf 后重启服务生效/);
  assert.ok(!/restart/.test(note), 'the note in the page\'s language only');

  // Values as a person reads them.
  const lock = page.locator('[data-test=param-login_lock_seconds]');
  assert.equal((await value('login_lock_seconds').innerText()).trim(), '15 分钟');
  assert.match(await lock.innerText(), /锁定时长/);
  assert.match(await lock.innerText(), /login_lock_seconds = 900/);
  assert.equal((await value('session_idle_seconds').innerText()).trim(), '2 小时');
  assert.equal((await value('totp_required').innerText()).trim(), '否');
  assert.equal((await value('totp_roles').innerText()).trim(), '系统管理员、审计管理员、指挥部');
  assert.equal((await value('time_zone').innerText()).trim(), 'Asia/Shanghai');
  assert.equal((await value('public_requests_per_minute').innerText()).trim(), '每分钟 60 次');
  assert.equal((await value('login_fails_per_user').innerText()).trim(), '5');
  assert.equal((await value('public_url').innerText()).trim(), '未设置');
  // A module's own setting: no wangge.conf line, said to be the program's.
  assert.equal((await value('scan_retention_days').innerText()).trim(), '28 天');
  const kept = page.locator('[data-test=param-scan_retention_days]');
  assert.match(await kept.locator('[data-test=param-by-program]').innerText(), /程序设定\(tracing\)/);
  assert.ok(!/scan_retention_days =/.test(await kept.innerText()));
  for (const p of params.items) {
    const row = page.locator(`[data-test=param-${p.key}]`);
    assert.equal(await row.count(), 1, p.key);
    assert.equal(await page.locator(`[data-group=${p.group}] [data-test=param-${p.key}]`).count(), 1, `${p.key} in ${p.group}`);
    assert.ok((await row.innerText()).includes(p.zh), p.key);
  }
  // Nothing to change here.
  assert.equal(await page.locator('[data-test=params] input, [data-test=params] button, [data-test=params] select').count(), 0);
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-params');

  // In English: the English meanings and values.
  await page.selectOption('[data-test=lang]', 'en');
  await page.locator('[data-test=param-group] > h2', { hasText: 'Sign-in and passwords' }).waitFor();
  assert.equal((await value('login_lock_seconds').innerText()).trim(), '15 min');
  assert.match(await lock.innerText(), /how long a lock lasts/);
  assert.equal((await value('totp_required').innerText()).trim(), 'No');
  assert.match(await page.locator('[data-test=params-note]').innerText(), /edit wangge\.conf in the data directory and restart the server/);
  await page.selectOption('[data-test=lang]', 'zh-CN');
  await page.locator('[data-test=param-group] > h2', { hasText: '登录与密码' }).waitFor();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('another role: neither page in its menu; the parameters opened by address show the server\'s refusal', async () => {
  const { ctx, page, errors } = await user('command');
  await page.goto(`${srv.base}/admin/users`);
  const menu = page.locator('nav.wg-side');
  await menu.getByText('用户管理').waitFor();
  const text = await menu.innerText();
  assert.ok(!/参数设置|字典管理/.test(text), text);
  await page.goto(`${srv.base}/admin/params`);
  const refused = page.locator('[data-test=params-forbidden]');
  await refused.waitFor();
  const said = await refused.innerText();
  assert.match(said, /只有系统管理员可以查看系统参数/);
  // The server's own words, Chinese and English.
  assert.match(said, /无权执行此操作\(需要权限 SYSTEM\)/);
  assert.match(said, /needs right SYSTEM/);
  assert.equal(await page.locator('[data-test=param-group]').count(), 0);
  await h.shot(page, 'params-refused');
  await refused.getByRole('button', { name: '返回' }).click();
  await page.waitForURL((u) => !/\/admin\/params/.test(u.pathname));
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('the auditor\'s header names its scope, not a path', async () => {
  const me = (await srv.api('GET', '/api/v1/me', { token: await srv.login('auditor') })).json;
  assert.equal(me.scope_path, '/1/');
  const { ctx, page, errors } = await user('auditor');
  await page.goto(`${srv.base}/audit`);
  const scope = page.locator('[data-test=scope]');
  await page.waitForFunction((name) => document.querySelector('[data-test=scope]')?.innerText.trim() === name, me.scope_name);
  assert.ok(!/\/1\//.test(await scope.innerText()));
  assert.ok(!/参数设置|字典管理/.test(await page.locator('nav.wg-side').innerText()));
  await page.goto(`${srv.base}/account`);
  await page.locator('[data-test=account-info]', { hasText: me.scope_name }).waitFor();
  assert.deepEqual(errors, []);
  await ctx.close();
});
