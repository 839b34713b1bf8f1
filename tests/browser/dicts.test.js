'use strict';
// 字典管理 and 参数设置, the administrator's pages. Every value list the records
// accept (GET /dictionaries), grouped by record and searchable; the lists
// declared extensible take the county's own values, which the forms'
// pickers then offer, and which are disabled (not deleted) while records
// hold them. The server's parameters (GET /parameters) as a person reads
// them, each set on the page with the caller's password (PUT /parameters),
// live ones at once and the others at the next start, and taken back to
// wangge.conf's. Another role has neither in its menu and, opening the
// parameters by their address, is shown the server's refusal. The auditor's
// header names its scope.
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
  const notice = await page.locator('[data-test=dicts-shipped]').innerText();
  assert.match(notice, /内置取值随程序发布/);
  assert.match(notice, /可扩充[\s\S]*新增取值[\s\S]*停用/);
  assert.ok(!/还不能/.test(notice), 'the notice says what is true now');

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
    // Only the extensible lists are marked so and take new values.
    assert.equal(await card.locator('[data-test=dict-extensible]').count(), d.extensible ? 1 : 0, `${d.resource}.${d.field}`);
    assert.equal(await card.locator('[data-test=dict-add]').count(), d.extensible ? 1 : 0, `${d.resource}.${d.field}`);
  }
  assert.deepEqual(dicts.items.filter((d) => d.extensible).map((d) => `${d.resource}.${d.field}`).sort(),
    ['households.tags', 'persons.tags', 'venues.kind']);
  // 重点人群 (persons' tags): a tag's code is its word; the shipped ones are marked 内置 and have no actions.
  assert.match(await tags.locator('h3').innerText(), /重点人群/);
  assert.ok((await texts(tags.locator('[data-test=dict-label]'))).includes('低保对象'));
  assert.match(await tags.innerText(), /编码即名称/);
  assert.deepEqual([...new Set(await texts(tags.locator('[data-test=dict-mark]')))], ['内置']);
  assert.equal(await tags.locator('[data-test=dict-edit], [data-test=dict-toggle], [data-test=dict-delete]').count(), 0);
  // An enumeration: the code and the name people read.
  const gender = page.locator('[data-test=dict-persons-gender] tbody tr');
  assert.deepEqual(await texts(gender), ['male\t男', 'female\t女']);

  // A value's word: only the lists that hold it, only those values, the word marked.
  await page.fill('#dc-q', '低保');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=dict-group]').length === 2);
  assert.deepEqual(await texts(page.locator('[data-test=dict-label]')), ['低保对象', '低保对象']);
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

/** 字典管理 open for the administrator, with an extensible list's card. */
async function dictsPage() {
  const u = await user('admin', h.ADMIN_PASSWORD);
  await u.page.goto(`${srv.base}/admin/dicts`);
  await u.page.locator('[data-test=dict-persons-tags]').waitFor();
  return u;
}
/** The person dialog of the command centre on the demo county's first grid. */
async function gridPage() {
  const u = await user('command');
  await u.page.goto(`${srv.base}/grid`);
  await u.page.fill('.wg-grid-search input', '32092300100100000001');
  await u.page.click('.wg-grid-search button[type=submit]');
  await u.page.locator('[data-test=grid-found] button', { hasText: '第1网格' }).click();
  await u.page.waitForFunction(() => document.querySelector('[data-test=node-detail] h1')?.innerText.includes('第1网格'));
  return u;
}
/** The options an open Element Plus select offers. */
const offered = (page) => texts(page.locator('.el-select-dropdown__item:visible'));

test('字典管理: a county tag added to 重点人群 is picked for a person; held, it is not deleted but disabled, and stays on the person', async () => {
  const a = await dictsPage();
  const card = a.page.locator('[data-test=dict-persons-tags]');
  await card.locator('[data-test=dict-add]').click();
  const dialog = a.page.locator('[data-test=dict-dialog]');
  await dialog.waitFor();
  // A tag's word is its value and its name: one field; a built-in word is refused at it, in Chinese.
  assert.equal(await dialog.locator('#de-label').count(), 0);
  await a.page.fill('#de-value', '低保对象');
  await dialog.locator('[data-test=de-save]').click();
  const valueItem = dialog.locator('.el-form-item', { has: a.page.locator('#de-value') });
  await valueItem.locator('.el-form-item__error').waitFor();
  assert.match(await valueItem.locator('.el-form-item__error').innerText(), /“低保对象”已是/);
  await a.page.mouse.move(0, 0);
  await h.shot(a.page, 'admin-dicts-add');
  await a.page.fill('#de-value', '快递骑手');
  await a.page.fill('#de-label-en', 'courier');
  await dialog.locator('[data-test=de-save]').click();
  await dialog.waitFor({ state: 'detached' });
  const row = card.locator('[data-test=dict-value][data-value=快递骑手]');
  await row.waitFor();
  assert.match(await row.innerText(), /快递骑手[\s\S]*courier[\s\S]*自定义/);
  assert.equal(await row.locator('[data-test=dict-edit]').count(), 1);
  const entry = (await srv.api('GET', '/api/v1/dictionaries', { token: admin })).json.items
    .find((d) => d.resource === 'persons' && d.field === 'tags').values.find((v) => v.value === '快递骑手');
  assert.deepEqual([entry.builtin, entry.enabled, entry.label_en], [false, true, 'courier']);
  // The households' list is their own: the person's new tag is not one of theirs.
  assert.equal(await a.page.locator('[data-test=dict-households-tags] [data-value=快递骑手]').count(), 0);

  // The command centre picks it for a new person, who is listed with it.
  const c = await gridPage();
  await c.page.click('[data-test=person-add]');
  await c.page.fill('#p-name', '简怡');
  await h.pickOption(c.page, '#p-tags', '快递骑手');
  await c.page.keyboard.press('Escape');
  await c.page.click('[data-test=p-save]');
  const personRow = c.page.locator('[data-test=person-table] .el-table__body tr', { hasText: '简怡' });
  await personRow.waitFor();
  assert.match(await personRow.innerText(), /快递骑手/);
  const person = (await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('简怡')}`, { token: admin })).json.items[0];
  assert.deepEqual(person.tags, ['快递骑手']);

  // A household's tags are their own list: its own added tag is offered there, the persons' one is not.
  const own = await srv.api('POST', '/api/v1/dictionaries/entries', { token: admin, body: { resource: 'households', field: 'tags', value: '出租户' } });
  assert.equal(own.status, 201, own.text);
  await c.page.reload();
  await c.page.getByRole('tab', { name: '户', exact: true }).click();
  await c.page.click('[data-test=household-add]');
  await c.page.locator('.el-select', { has: c.page.locator('#h-tags') }).locator('.el-select__wrapper').click();
  await c.page.locator('.el-select-dropdown__item:visible', { hasText: '出租户' }).waitFor();
  assert.ok(!(await offered(c.page)).includes('快递骑手'));
  await c.page.keyboard.press('Escape');
  await c.page.locator('.el-dialog__headerbtn').click();

  // Held by a record: the delete is refused with the count, and the refusal offers to disable it instead.
  await row.locator('[data-test=dict-delete]').click();
  await a.page.locator('.el-message-box', { hasText: '快递骑手' }).locator('.el-button--primary').click();
  const refusal = a.page.locator('.el-message-box', { hasText: '不能删除' });
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /有 1 条记录使用“快递骑手”,不能删除;可改为停用/);
  await a.page.mouse.move(0, 0);
  await h.shot(a.page, 'admin-dicts-refused');
  await refusal.locator('.el-button--primary', { hasText: '停用' }).click();
  await row.locator('[data-test=dict-off]').waitFor();
  assert.equal(await row.evaluate((e) => e.classList.contains('is-off')), true, 'shown greyed');
  assert.equal((await row.locator('[data-test=dict-toggle]').innerText()).trim(), '启用');
  assert.equal((await srv.api('GET', `/api/v1/persons/${person.id}`, { token: admin })).json.tags[0], '快递骑手');

  // Disabled: gone from a new person's picker (the page read again), still on the person who holds it.
  await c.page.goto(`${srv.base}/grid`);
  await c.page.fill('.wg-grid-search input', '32092300100100000001');
  await c.page.click('.wg-grid-search button[type=submit]');
  await c.page.locator('[data-test=grid-found] button', { hasText: '第1网格' }).click();
  await personRow.waitFor();
  await c.page.click('[data-test=person-add]');
  await c.page.locator('.el-select', { has: c.page.locator('#p-tags') }).locator('.el-select__wrapper').click();
  await c.page.locator('.el-select-dropdown__item:visible', { hasText: '低保对象' }).waitFor();
  assert.ok(!(await offered(c.page)).includes('快递骑手'), 'a disabled tag is not offered');
  await c.page.keyboard.press('Escape');
  await c.page.locator('.el-dialog__headerbtn').click();
  await c.page.click(`[data-test=person-edit-${person.id}]`);
  const held = c.page.locator('.el-select', { has: c.page.locator('#p-tags') });
  await held.locator('.el-tag', { hasText: '快递骑手' }).waitFor();
  await held.locator('.el-select__wrapper').click();
  await c.page.locator('.el-select-dropdown__item:visible', { hasText: '快递骑手' }).waitFor();
  assert.ok((await offered(c.page)).includes('快递骑手 (已停用)'), 'the held tag is offered, marked disabled');
  await c.page.keyboard.press('Escape');
  await c.page.click('[data-test=p-save]');
  await c.page.locator('.el-dialog').waitFor({ state: 'detached' });
  assert.deepEqual((await srv.api('GET', `/api/v1/persons/${person.id}`, { token: admin })).json.tags, ['快递骑手'], 'kept when the person is saved');

  assert.deepEqual([a.errors, c.errors], [[], []]);
  await a.ctx.close();
  await c.ctx.close();
});

test('字典管理: a kind of venue added with its English name is used in 场所, listed and filtered by it', async () => {
  const a = await dictsPage();
  const card = a.page.locator('[data-test=dict-venues-kind]');
  await card.locator('[data-test=dict-add]').click();
  const dialog = a.page.locator('[data-test=dict-dialog]');
  await a.page.fill('#de-value', 'vaccination');
  await a.page.fill('#de-label', '接种点');
  await a.page.fill('#de-label-en', 'Vaccination site');
  await a.page.fill('#de-sort', '5');
  await dialog.locator('[data-test=de-save]').click();
  await dialog.waitFor({ state: 'detached' });
  const row = card.locator('[data-test=dict-value][data-value=vaccination]');
  assert.match(await row.innerText(), /vaccination\s+接种点[\s\S]*Vaccination site[\s\S]*自定义/);
  // Changed: the name, never the value.
  await row.locator('[data-test=dict-edit]').click();
  await dialog.waitFor();
  assert.equal(await a.page.locator('#de-value').isDisabled(), true);
  await a.page.fill('#de-label', '疫苗接种点');
  await dialog.locator('[data-test=de-save]').click();
  await dialog.waitFor({ state: 'detached' });
  await row.locator('[data-test=dict-label]', { hasText: '疫苗接种点' }).waitFor();

  const c = await user('command');
  // Without the dictionary (its request fails) the form offers the built-in kinds.
  await c.page.route('**/api/v1/dictionaries', (r) => r.abort());
  await c.page.goto(`${srv.base}/tracing/venues`);
  await c.page.click('[data-test=venue-add]');
  await c.page.locator('.el-select', { has: c.page.locator('#vf-kind') }).locator('.el-select__wrapper').click();
  await c.page.locator('.el-select-dropdown__item:visible', { hasText: '商超' }).waitFor();
  const fixed = await offered(c.page);
  assert.equal(fixed.length, 12);
  assert.ok(!fixed.includes('疫苗接种点'));
  await c.page.keyboard.press('Escape');
  await c.page.unroute('**/api/v1/dictionaries');
  // With it: the enabled kinds, the added one among them.
  await c.page.reload();
  await c.page.click('[data-test=venue-add]');
  await h.pickOption(c.page, '#vf-grid', '第1网格', { type: '第1网格' });
  await c.page.fill('#vf-name', '阜城镇卫生院接种点');
  await h.pickOption(c.page, '#vf-kind', '疫苗接种点');
  await c.page.click('[data-test=vf-save]');
  const venueRow = c.page.locator('[data-test=venue-table] .el-table__body tr', { hasText: '阜城镇卫生院接种点' });
  await venueRow.waitFor();
  assert.match(await venueRow.innerText(), /疫苗接种点/);
  const venue = (await srv.api('GET', '/api/v1/venues?kind=vaccination', { token: admin })).json.items;
  assert.deepEqual(venue.map((v) => v.name), ['阜城镇卫生院接种点']);
  // The filter offers it and lists only those venues.
  await h.pickOption(c.page, '#v-kind', '疫苗接种点');
  const asked = c.page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/venues' && new URL(r.url()).searchParams.get('kind') === 'vaccination');
  await c.page.locator('form.wg-toolbar button[type=submit]').click();
  await asked;
  await c.page.waitForFunction(() => document.querySelectorAll('[data-test=venue-table] .el-table__body tr').length === 1);
  // In English: a built-in kind keeps its English name, the added one shows the English name it was given.
  await c.page.selectOption('[data-test=lang]', 'en');
  await venueRow.locator('td', { hasText: 'Vaccination site' }).waitFor();
  await c.page.locator('.el-select', { has: c.page.locator('#v-kind') }).locator('.el-select__wrapper').click();
  await c.page.locator('.el-select-dropdown__item:visible', { hasText: 'Pharmacy' }).waitFor();
  assert.ok((await offered(c.page)).includes('Vaccination site'));
  await c.page.keyboard.press('Escape');
  await c.page.selectOption('[data-test=lang]', 'zh-CN');

  // 字典管理 with the county's own values: marked 自定义, a disabled one greyed.
  await a.page.reload();
  await card.locator('[data-test=dict-value][data-value=vaccination]').waitFor();
  const off = a.page.locator('[data-test=dict-persons-tags] [data-value=快递骑手]');
  assert.match(await off.innerText(), /已停用/);
  await off.scrollIntoViewIfNeeded();
  await a.page.mouse.move(0, 0);
  await h.shot(a.page, 'admin-dicts');
  assert.deepEqual([a.errors, c.errors], [[], []]);
  await a.ctx.close();
  await c.ctx.close();
});

test('参数设置: grouped, each value as a person reads it, where it comes from, and which can be changed here', async () => {
  const params = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json;
  const { ctx, page, errors } = await user('admin', h.ADMIN_PASSWORD);
  await page.goto(`${srv.base}/admin/users`);
  await page.locator('nav.wg-side').getByText('参数设置').click();
  await page.waitForURL(/\/admin\/params$/);
  const value = (key) => page.locator(`[data-test=param-${key}] [data-test=param-value]`);
  await value('login_lock_seconds').waitFor();

  assert.deepEqual(await texts(page.locator('[data-test=param-group] > h2')), ['时间', '登录与密码', '会话', '审计', '居民扫码登记', '服务', '流调与扫码']);
  assert.equal(await page.locator('[data-test=param-group] tbody tr').count(), params.total);
  const note = await page.locator('[data-test=params-note]').innerText();
  assert.match(note, /在此修改的参数优先于 wangge\.conf/);
  assert.ok(!/restart/.test(note), 'the note in the page\'s language only');

  // Values as a person reads them, from wangge.conf.
  const lock = page.locator('[data-test=param-login_lock_seconds]');
  assert.equal((await value('login_lock_seconds').innerText()).trim(), '15 分钟');
  assert.match(await lock.innerText(), /锁定时长/);
  assert.match(await lock.locator('[data-test=param-source]').innerText(), /wangge\.conf[\s\S]*login_lock_seconds = 900/);
  assert.equal((await value('session_idle_seconds').innerText()).trim(), '2 小时');
  assert.equal((await value('totp_required').innerText()).trim(), '否');
  assert.equal((await value('totp_roles').innerText()).trim(), '系统管理员、审计管理员、指挥部');
  assert.equal((await value('time_zone').innerText()).trim(), 'Asia/Shanghai');
  assert.equal((await value('public_requests_per_minute').innerText()).trim(), '每分钟 60 次');
  assert.equal((await value('login_fails_per_user').innerText()).trim(), '5');
  assert.equal((await value('public_url').innerText()).trim(), '未设置');
  // When a change applies: the zone, the two-factor roles and the public address at the next start.
  const restart = [];
  for (const p of params.items) if (await page.locator(`[data-test=param-${p.key}] [data-test=param-restart]`).count()) restart.push(p.key);
  assert.deepEqual(restart.sort(), params.items.filter((p) => p.editable && p.applies === 'restart').map((p) => p.key).sort());
  assert.ok(restart.includes('time_zone'));
  // Not changed here: a module's own setting (the program's) and the threads (wangge.conf's); no button.
  assert.equal((await value('scan_retention_days').innerText()).trim(), '28 天');
  const kept = page.locator('[data-test=param-scan_retention_days]');
  assert.match(await kept.locator('[data-test=param-by-program]').innerText(), /程序设定\(tracing\)/);
  assert.match(await kept.locator('[data-test=param-not-here]').innerText(), /不能在此修改/);
  assert.match(await page.locator('[data-test=param-threads] [data-test=param-not-here]').innerText(), /只能在 wangge\.conf 中修改/);
  for (const p of params.items) {
    const row = page.locator(`[data-test=param-${p.key}]`);
    assert.equal(await row.count(), 1, p.key);
    assert.equal(await page.locator(`[data-group=${p.group}] [data-test=param-${p.key}]`).count(), 1, `${p.key} in ${p.group}`);
    assert.ok((await row.innerText()).includes(p.zh), p.key);
    assert.equal(await row.locator(`[data-test=param-edit-${p.key}]`).count(), p.editable ? 1 : 0, p.key);
  }
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-params');

  // In English: the English meanings and values.
  await page.selectOption('[data-test=lang]', 'en');
  await page.locator('[data-test=param-group] > h2', { hasText: 'Sign-in and passwords' }).waitFor();
  assert.equal((await value('login_lock_seconds').innerText()).trim(), '15 min');
  assert.match(await lock.innerText(), /how long a lock lasts/);
  assert.equal((await value('totp_required').innerText()).trim(), 'No');
  assert.match(await page.locator('[data-test=params-note]').innerText(), /a value set here wins over wangge\.conf/);
  await page.selectOption('[data-test=lang]', 'zh-CN');
  await page.locator('[data-test=param-group] > h2', { hasText: '登录与密码' }).waitFor();
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('参数设置: a parameter changed with the password (a wrong one is said at its field), shown as set here, then taken back', async () => {
  const { ctx, page, errors } = await user('admin', h.ADMIN_PASSWORD);
  await page.goto(`${srv.base}/admin/params`);
  const row = (key) => page.locator(`[data-test=param-${key}]`);
  const value = (key) => row(key).locator('[data-test=param-value]');
  await value('login_fails_per_user').waitFor();
  const dialog = page.locator('[data-test=param-dialog]');

  await row('login_fails_per_user').locator('[data-test=param-edit-login_fails_per_user]').click();
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /同一账户连续登录失败达到此次数即锁定[\s\S]*当前值\s*5/);
  assert.match(await dialog.locator('[data-test=pd-applies]').innerText(), /保存后立即生效/);
  assert.equal(await dialog.locator('[data-test=pd-restore]').count(), 0, 'nothing set here yet');
  await page.fill('#pd-value', '3');
  await page.fill('#pd-password', 'not-my-password-1');
  await dialog.locator('[data-test=pd-save]').click();
  const pw = dialog.locator('.el-form-item', { has: page.locator('#pd-password') });
  await pw.locator('.el-form-item__error').waitFor();
  assert.match(await pw.locator('.el-form-item__error').innerText(), /密码/);
  assert.equal((await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.find((p) => p.key === 'login_fails_per_user').source,
    'wangge.conf', 'refused: nothing changed');
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-params-edit');
  await page.fill('#pd-password', h.ADMIN_PASSWORD);
  await dialog.locator('[data-test=pd-save]').click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.querySelector('[data-test=param-login_fails_per_user] [data-test=param-value]')?.innerText.trim() === '3');
  const src = await row('login_fails_per_user').locator('[data-test=param-source]').innerText();
  assert.match(src, /本页设定/);
  assert.match(src, /admin 于 \d{4}-\d\d-\d\d \d\d:\d\d 设定/);
  assert.match(src, /login_fails_per_user = 5/, 'wangge.conf\'s value beside it');
  let p = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.find((x) => x.key === 'login_fails_per_user');
  assert.deepEqual([p.value, p.source, p.stored], [3, 'page', 3]);

  // A duration typed in minutes is sent in seconds.
  await row('login_lock_seconds').locator('[data-test=param-edit-login_lock_seconds]').click();
  await dialog.waitFor();
  assert.equal(await page.inputValue('#pd-value'), '15');
  assert.match(await dialog.locator('[data-test=pd-unit]').innerText(), /分钟/);
  await page.fill('#pd-value', '30');
  await page.fill('#pd-password', h.ADMIN_PASSWORD);
  await dialog.locator('[data-test=pd-save]').click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.querySelector('[data-test=param-login_lock_seconds] [data-test=param-value]')?.innerText.trim() === '30 分钟');
  p = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.find((x) => x.key === 'login_lock_seconds');
  assert.deepEqual([p.value, p.source], [1800, 'page']);

  // Taken back to wangge.conf's value (with the password too).
  await row('login_fails_per_user').locator('[data-test=param-edit-login_fails_per_user]').click();
  await dialog.waitFor();
  await page.fill('#pd-password', h.ADMIN_PASSWORD);
  await dialog.locator('[data-test=pd-restore]').click();
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.querySelector('[data-test=param-login_fails_per_user] [data-test=param-value]')?.innerText.trim() === '5');
  assert.match(await row('login_fails_per_user').locator('[data-test=param-source]').innerText(), /wangge\.conf/);
  assert.equal(await row('login_fails_per_user').locator('[data-test=param-who]').count(), 0);
  p = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.find((x) => x.key === 'login_fails_per_user');
  assert.deepEqual([p.value, p.source, p.stored], [5, 'wangge.conf', null]);

  // The zone: picked, saved, waiting for the next start; the running one stays.
  await row('time_zone').locator('[data-test=param-edit-time_zone]').click();
  await dialog.waitFor();
  assert.match(await dialog.locator('[data-test=pd-applies]').innerText(), /重启时生效/);
  await h.pickOption(page, '#pd-value', 'Asia/Urumqi');
  await page.fill('#pd-password', h.ADMIN_PASSWORD);
  await dialog.locator('[data-test=pd-save]').click();
  await dialog.waitFor({ state: 'detached' });
  await row('time_zone').locator('[data-test=param-pending]', { hasText: '待重启生效:Asia/Urumqi' }).waitFor();
  assert.equal((await value('time_zone').innerText()).trim(), 'Asia/Shanghai');
  await page.mouse.move(0, 0);
  await h.shot(page, 'admin-params-pending');
  p = (await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.find((x) => x.key === 'time_zone');
  assert.deepEqual([p.value, p.stored, p.pending], ['Asia/Shanghai', 'Asia/Urumqi', true]);
  // Leave the server as the other tests expect it.
  for (const key of ['time_zone', 'login_lock_seconds']) {
    const back = await srv.api('PUT', '/api/v1/parameters', { token: admin, body: { key, value: null, current_password: h.ADMIN_PASSWORD } });
    assert.equal(back.status, 200, back.text);
  }
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('another role: neither page in its menu; the parameters opened by address show the server\'s refusal, the dictionaries only to read', async () => {
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
  // 字典管理 opened by address: the lists to read, the county's own values marked, nothing to change.
  const own = await srv.api('POST', '/api/v1/dictionaries/entries', { token: admin, body: { resource: 'venues', field: 'kind', value: 'nucleic', label: '核酸采样点' } });
  assert.equal(own.status, 201, own.text);
  await page.goto(`${srv.base}/admin/dicts`);
  const row = page.locator('[data-test=dict-venues-kind] [data-value=nucleic]');
  await row.waitFor();
  assert.match(await row.innerText(), /核酸采样点[\s\S]*自定义/);
  assert.match(await page.locator('[data-test=dicts-shipped]').innerText(), /由系统管理员维护/);
  assert.equal(await page.locator('[data-test=dict-add], [data-test=dict-edit], [data-test=dict-toggle], [data-test=dict-delete]').count(), 0);
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
