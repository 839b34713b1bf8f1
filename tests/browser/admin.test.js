'use strict';
// Administration: users (list, create with field errors, edit with
// If-Match, disable after confirmation), the department (grid) tree, roles.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, admin;

before(async () => {
  srv = await h.startServer();
  admin = await srv.login('admin', h.ADMIN_PASSWORD);
  browser = await h.launch();
  ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, 'admin', h.ADMIN_PASSWORD);
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

const userRow = (name) => page.locator('[data-test=user-table] .el-table__body tr', { hasText: name });
const user = async (name) => (await srv.api('GET', `/api/v1/users?q=${name}`, { token: admin })).json.items.find((u) => u.username === name);

test('users are listed; a new one is refused by field, then created', async () => {
  await page.goto(`${srv.base}/admin/users`);
  await userRow('gridworker').waitFor();
  // Each account's scope by its place's name, the path beside it on hover.
  const gw = page.locator('[data-test=user-scope-gridworker]');
  assert.equal((await gw.innerText()).trim(), '第1网格');
  assert.equal(await gw.getAttribute('title'), '/1/2/3/4/');
  // The auditor's account is managed on the server only: no edit or disable here, a note saying so.
  await page.locator('[data-test=user-kept-auditor]').waitFor();
  assert.equal(await userRow('审计管理员').locator('button').count(), 0);
  assert.match(await page.locator('[data-test=user-kept-auditor]').getAttribute('title'), /wangge user/);
  const aud = await user('auditor');
  assert.equal((await srv.api('PATCH', `/api/v1/users/${aud.id}`, { token: admin, body: { display_name: 'x' } })).status, 403);
  await page.click('[data-test=user-add]');
  await page.fill('#uf-username', 'Wang Wu');
  await page.fill('#uf-password', 'grid-2026-pass');
  await h.pickOption(page, '#uf-role', '网格员');
  await h.pickOption(page, '#uf-scope', '第1网格', { type: '第1网格' });
  await page.click('[data-test=uf-save]');
  const item = page.locator('.el-form-item', { has: page.locator('#uf-username') });
  await item.locator('.el-form-item__error').waitFor();
  assert.match(await item.locator('.el-form-item__error').innerText(), /用户名只能包含小写字母/);
  await page.fill('#uf-username', 'wang.wu');
  await page.fill('#uf-display', '王五');
  await page.click('[data-test=uf-save]');
  await userRow('wang.wu').waitFor();
  const u = await user('wang.wu');
  assert.equal(u.role, 'grid_worker');
  assert.equal(u.scope_node_id, h.DEMO.grid);
  assert.equal(u.display_name, '王五');
  await h.shot(page, 'admin-users');
});

test('editing and disabling a user', async () => {
  await page.click('[data-test=user-edit-wang\\.wu]');
  await page.fill('#uf-display', '王五(3网格)');
  await page.click('[data-test=uf-save]');
  await page.waitForFunction(() => /王五\(3网格\)/.test(document.querySelector('[data-test=user-table]')?.innerText || ''));
  assert.equal((await user('wang.wu')).display_name, '王五(3网格)');
  await page.click('[data-test=user-toggle-wang\\.wu]');
  await page.locator('.el-message-box', { hasText: 'wang.wu' }).waitFor();
  await page.locator('.el-message-box .el-button--primary').click();
  await page.waitForFunction(() => /已停用/.test(document.querySelector('[data-test="user-state-wang.wu"]')?.innerText || ''));
  const u = await user('wang.wu');
  assert.equal(u.disabled, true);
  assert.equal(u.version, 3);
});

test('the department tree lists the accounts of a subtree, asked of the server', async () => {
  const asked = [];
  const onRequest = (r) => { if (/\/api\/v1\/users\?/.test(r.url())) asked.push(new URL(r.url()).searchParams.get('grid')); };
  page.on('request', onRequest);
  await page.locator('.wg-users-tree .wg-tree-node', { hasText: '阜城街道' }).click();
  const api = (await srv.api('GET', `/api/v1/users?grid=${h.DEMO.street}&limit=100`, { token: admin })).json;
  await page.waitForFunction((n) => document.querySelector('[data-test=user-total]')?.innerText.includes(`共 ${n} 条`)
    && document.querySelectorAll('[data-test=user-table] .el-table__body tr').length === n, api.total);
  const shown = await page.$$eval('[data-test=user-table] .el-table__body tr', (trs) => trs.map((tr) => tr.children[1].innerText.trim()));
  assert.deepEqual(shown, api.items.map((u) => u.username));
  assert.ok(api.items.every((u) => u.scope_path.startsWith('/1/2/')));
  const all = (await srv.api('GET', '/api/v1/users?limit=100', { token: admin })).json;
  assert.ok(api.total > 0 && api.total < all.total, `${api.total} of ${all.total}`);
  assert.match(await page.locator('[data-test=user-table]').innerText(), /gridworker/);
  assert.ok(asked.includes(String(h.DEMO.street)), `the page asked for ?grid=${h.DEMO.street}: ${asked}`);
  await page.click('[data-test=dept-all]');
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=user-table] .el-table__body tr').length === n, all.total);
  page.off('request', onRequest);
});

test('roles: the administrator makes a role of her own, grants only what she holds, changes it, deletes it', async () => {
  await page.goto(`${srv.base}/admin/roles`);
  await page.locator('[data-test=roles-table] .el-table__body tr').first().waitFor();
  // What the API refuses is said before anyone tries: admin, one's own and the auditor's role are locked.
  const row = (name) => page.locator('[data-test=roles-table] .el-table__body tr', { hasText: name });
  assert.match(await row('auditor').innerText(), /不能修改/);
  assert.equal(await page.locator('[data-test=role-edit-admin]').count(), 0);
  await page.click('[data-test=role-add]');
  await page.fill('[data-test=rl-name]', 'Street Clerk');
  await page.fill('[data-test=rl-zh]', '街道文员');
  await page.fill('[data-test=rl-en]', 'street clerk');
  await page.click('[data-test=rl-right-GRID_READ]');
  await page.click('[data-test=rl-right-PERSON_READ]');
  // A right the administrator does not hold cannot be ticked.
  assert.equal(await page.locator('[data-test=rl-right-AUDIT_READ] input').isDisabled(), true);
  await page.click('[data-test=rl-save]');
  const nameErr = page.locator('[data-test=rl-name-item] .el-form-item__error');
  await nameErr.waitFor();
  assert.match(await nameErr.innerText(), /name/);
  await page.fill('[data-test=rl-name]', 'street_clerk');
  await page.click('[data-test=rl-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  await row('street_clerk').waitFor();
  const made = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((r) => r.name === 'street_clerk');
  assert.deepEqual([made.zh, made.builtin, [...made.rights].sort()], ['街道文员', false, ['GRID_READ', 'PERSON_READ']]);
  assert.match(await row('street_clerk').innerText(), /自建[\s\S]*街道文员[\s\S]*查看网格/);
  await h.shot(page, 'admin-roles-edit');
  // Changed: one right fewer; the API holds it.
  await page.click('[data-test=role-edit-street_clerk]');
  await page.click('[data-test=rl-right-PERSON_READ]');
  await page.click('[data-test=rl-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  await page.waitForFunction(() => !document.querySelector('[data-test=roles-table] .el-loading-mask'));
  const changed = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((r) => r.name === 'street_clerk');
  assert.deepEqual(changed.rights, ['GRID_READ']);
  // Deleted after a confirmation.
  await page.click('[data-test=role-del-street_clerk]');
  await page.locator('.el-message-box button', { hasText: '删除' }).click();
  await row('street_clerk').waitFor({ state: 'detached' });
  assert.equal((await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.some((r) => r.name === 'street_clerk'), false);
  // A built-in role: a right the administrator lacks may be taken off (keeping the rest), not added.
  await page.click('[data-test=role-edit-checkpoint]');
  assert.equal(await page.locator('[data-test=rl-right-SCAN_WRITE] input').isDisabled(), false, 'the role has it: it may go');
  assert.equal(await page.locator('[data-test=rl-right-PERSON_REVEAL] input').isDisabled(), true, 'neither she nor the role has it');
  await page.click('[data-test=rl-right-SCAN_WRITE]');
  await page.click('[data-test=rl-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  await page.waitForFunction(() => !document.querySelector('[data-test=roles-table] .el-loading-mask'));
  const cp = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((r) => r.name === 'checkpoint');
  assert.deepEqual(cp.rights, ['GRID_READ']);
});

test('roles and their rights; the place tree as departments', async () => {
  await page.goto(`${srv.base}/admin/roles`);
  const roles = page.locator('[data-test=roles-table] .el-table__body tr');
  await roles.first().waitFor();
  assert.equal(await roles.count(), 9);
  const grid = await roles.filter({ hasText: 'grid_worker' }).innerText();
  assert.match(grid, /网格员/);
  assert.match(grid, /登记户和人员/);
  assert.ok(!/查看完整身份证号和电话/.test(grid));
  // Rights a module declares are named in its words (GET /rights), never as a message key.
  assert.match(grid, /查看管控名单[\s\S]*登记健康监测/);
  assert.ok(!/right\./.test(await page.locator('[data-test=roles-table]').innerText()), 'every right has its words');
  await h.shot(page, 'admin-roles');
  await page.goto(`${srv.base}/admin/depts`);
  const depts = page.locator('[data-test=dept-table] .el-table__body tr');
  await depts.first().waitFor();
  await depts.first().locator('.el-table__expand-icon').click();
  const deptRow = (name) => page.locator('[data-test=dept-table] .el-table__body tr', { hasText: name }).first();
  await deptRow('阜城街道').waitFor();
  // Open down to a grid: its buildings have no children, and no arrow to open them.
  const path = ['阜城街道', '兴阜居委会', '第1网格'];
  for (const [i, name] of path.entries()) {
    await deptRow(name).locator('.el-table__expand-icon').click();
    await page.locator('[data-test=dept-table] .el-table__expand-icon--expanded').nth(i + 1).waitFor();
  }
  const building = deptRow('1号楼');
  await building.waitFor();
  assert.equal(await building.locator('.el-table__expand-icon').count(), 0, 'a leaf has no expand arrow');
  assert.equal(await deptRow('第1网格').locator('.el-table__expand-icon').count(), 1);
  const node = (await srv.api('GET', `/api/v1/grids/${h.DEMO.grid}`, { token: admin })).json;
  assert.equal((await deptRow('第1网格').locator('td').nth(2).innerText()).trim(), String(node.child_count));
  await h.shot(page, 'admin-depts');
  assert.deepEqual(errors, []);
});
