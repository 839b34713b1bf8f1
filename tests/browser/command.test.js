'use strict';
// The command center: the place tree opened lazily from the scope node, a
// node's households and persons masked by default and revealed for those
// allowed, add/edit (If-Match)/merge persons with the API's field errors
// shown by their field, and moving a node.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness');

let srv, browser, ctx, page, errors, command;
const P = {};

before(async () => {
  srv = await h.startServer();
  command = await srv.login('command');
  const hh = await srv.api('POST', '/api/v1/households', { token: command, body: { grid_id: h.DEMO.grid, address: '兴阜小区1号楼2单元301室', phone: '13812345678' } });
  assert.equal(hh.status, 201, hh.text);
  P.household = hh.json.id;
  for (const [key, body] of Object.entries({
    zhang: { name: '张三', id_number: '11010519491231002X', phone: '13812345678', household_id: hh.json.id, tags: ['独居老人'] },
    li: { name: '李四', phone: '13900001111' },
    liDup: { name: '李四', note: '重复登记' },
  })) {
    const r = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: h.DEMO.grid, ...body } });
    assert.equal(r.status, 201, r.text);
    P[key] = r.json;
  }
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

async function openGrid(code, name) {
  await page.fill('.wg-grid-search input', code);
  await page.click('.wg-grid-search button[type=submit]');
  await page.locator('[data-test=grid-found] button', { hasText: name }).click();
  await page.waitForFunction((n) => document.querySelector('[data-test=node-detail] h1')?.innerText.includes(n), name);
}

const personRow = (text) => page.locator('[data-test=person-table] .el-table__body tr', { hasText: text });

test('the tree opens from the scope node; a grid lists its persons, masked', async () => {
  await page.goto(`${srv.base}/grid`);
  await h.usableAt(page);
  // The scope node (the county) is open and its streets are listed.
  await page.locator('.wg-tree .el-tree-node__children .wg-tree-node', { hasText: '阜城街道' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=node-detail] h1')?.innerText.includes('阜宁县'));
  await openGrid('32092300100100000001', '第1网格');
  await personRow('张三').waitFor();
  assert.match(await personRow('张三').innerText(), /110105\*{8}002X[\s\S]*138\*{4}5678/);
  assert.match(await page.locator('[data-test=person-total]').innerText(), /共 3 条/);
  assert.equal(await page.locator('[data-test=count-households]').innerText(), '1');
});

const treeRow = (id) => page.locator('.wg-tree .el-tree-node__content', { has: page.locator(`.wg-tree-node[data-node-id="${id}"]`) });

test('the tree shows which places open before they are opened: no arrow on a leaf', async () => {
  const opened = [];
  const onRequest = (r) => { const m = /\/api\/v1\/grids\/(\d+)\/children/.exec(r.url()); if (m) opened.push(Number(m[1])); };
  page.on('request', onRequest);
  for (const id of [h.DEMO.street, h.DEMO.community, h.DEMO.grid]) {
    await treeRow(id).locator('.el-tree-node__expand-icon').click();
    await page.locator('.wg-tree .el-tree-node.is-expanded > .el-tree-node__content .wg-tree-node[data-node-id="' + id + '"]').waitFor();
  }
  const building = treeRow(h.DEMO.building);
  await building.waitFor();
  assert.match(await building.locator('.el-tree-node__expand-icon').getAttribute('class'), /\bis-leaf\b/, 'a building without children has no arrow');
  assert.equal(await building.locator('.wg-tree-count').count(), 0);
  assert.doesNotMatch(await treeRow(h.DEMO.grid).locator('.el-tree-node__expand-icon').getAttribute('class'), /\bis-leaf\b/);
  const grid = (await srv.api('GET', `/api/v1/grids/${h.DEMO.grid}`, { token: command })).json;
  assert.equal(await treeRow(h.DEMO.grid).locator('.wg-tree-count').innerText(), String(grid.child_count), 'the number of children, from child_count');
  // A street not opened yet already shows its number of children.
  const streets = (await srv.api('GET', `/api/v1/grids/${h.DEMO.county}/children`, { token: command })).json.items;
  const other = streets.find((x) => x.id !== h.DEMO.street && x.child_count > 0);
  assert.equal(await treeRow(other.id).locator('.wg-tree-count').innerText(), String(other.child_count));
  page.off('request', onRequest);
  assert.deepEqual(opened.sort((a, b) => a - b), [h.DEMO.street, h.DEMO.community, h.DEMO.grid], 'only the places opened were asked for');
});

test('reveal shows whole ID numbers to a role allowed to see them', async () => {
  await page.click('[data-test=reveal]');
  await page.waitForFunction(() => /11010519491231002X/.test(document.querySelector('[data-test=person-table]')?.innerText || ''));
  assert.match(await personRow('张三').innerText(), /13812345678/);
  await h.shot(page, 'command-center');
  await page.click('[data-test=reveal]');
  await page.waitForFunction(() => /110105\*{8}002X/.test(document.querySelector('[data-test=person-table]')?.innerText || ''));
});

test('adding a person: the API error appears by its field, then the fixed form saves', async () => {
  await page.click('[data-test=person-add]');
  await page.fill('#p-name', '王芳');
  await page.fill('#p-id', '320923199001011239');
  await page.click('[data-test=p-save]');
  const item = page.locator('.el-form-item', { has: page.locator('#p-id') });
  await item.locator('.el-form-item__error').waitFor();
  assert.match(await item.locator('.el-form-item__error').innerText(), /校验位错误.*wrong check digit/s);
  await page.fill('#p-id', '320923199001011238');
  await page.click('[data-test=p-save]');
  await personRow('王芳').waitFor();
  const r = await srv.api('GET', '/api/v1/persons?q=王芳', { token: command });
  assert.equal(r.json.total, 1);
  assert.equal(r.json.items[0].gender, 'male', 'derived from the ID number');
});

test('editing with If-Match: a change made meanwhile is reported, and reload then save works', async () => {
  await page.click(`[data-test=person-edit-${P.zhang.id}]`);
  await page.fill('#p-note', '已电话核实');
  // Someone else changes the record while the form is open.
  assert.equal((await srv.api('PATCH', `/api/v1/persons/${P.zhang.id}`, { token: command, body: { workplace: '阜宁县人民医院' } })).status, 200);
  await page.click('[data-test=p-save]');
  await page.locator('[data-test=form-error]').waitFor();
  assert.match(await page.locator('[data-test=form-error]').innerText(), /已被他人修改/);
  await page.locator('[data-test=form-error] button').click();
  // The form shows the record as it is now before the note is typed again.
  await page.waitForFunction(() => document.getElementById('p-work')?.value === '阜宁县人民医院');
  await page.fill('#p-note', '已电话核实');
  await page.click('[data-test=p-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  const p = (await srv.api('GET', `/api/v1/persons/${P.zhang.id}`, { token: command })).json;
  assert.equal(p.note, '已电话核实');
  assert.equal(p.workplace, '阜宁县人民医院', "the other person's change was kept");
  assert.equal(p.version, 3);
});

test('merging a duplicate into the person kept', async () => {
  await page.click(`[data-test=person-merge-${P.li.id}]`);
  await h.pickOption(page, '#merge-from', `#${P.liDup.id}`);
  await page.click('[data-test=merge-go]');
  await page.locator('.el-message-box .el-button--primary').click();
  await page.locator('.el-message', { hasText: '已合并' }).waitFor();
  assert.equal((await srv.api('GET', `/api/v1/persons/${P.liDup.id}`, { token: command })).status, 404);
  assert.equal((await srv.api('GET', `/api/v1/persons/${P.li.id}`, { token: command })).json.note, '重复登记');
});

test('moving a node with its subtree', async () => {
  const b = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: h.DEMO.grid, kind: 'building', name: '9号楼', code: 'B9-TEST' } });
  assert.equal(b.status, 201, b.text);
  const kids = (await srv.api('GET', `/api/v1/grids/${h.DEMO.community}/children`, { token: command })).json.items;
  const target = kids.find((k) => k.kind === 'grid' && k.id !== h.DEMO.grid);
  await openGrid('B9-TEST', '9号楼');
  await page.click('[data-test=node-move]');
  await h.pickOption(page, '#n-parent', `#${target.id}`, { type: target.name });
  await page.click('[data-test=n-save]');
  await page.locator('.el-message', { hasText: '已移动' }).waitFor();
  const moved = (await srv.api('GET', `/api/v1/grids/${b.json.id}`, { token: command })).json;
  assert.equal(moved.parent_id, target.id);
  assert.equal(moved.path, `${target.path}${b.json.id}/`);
  assert.deepEqual(errors, []);
});

test('without public_url the poster carries the staff code and tells the administrator what to set', async () => {
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: h.DEMO.grid, name: '兴阜药店', kind: 'pharmacy', address: '兴阜路10号' } });
  assert.equal(v.status, 201, v.text);
  await page.goto(`${srv.base}/tracing/venues/${v.json.id}/poster`);
  await page.locator('[data-test=poster-notice]').waitFor();
  const notice = await page.locator('[data-test=poster-notice]').innerText();
  assert.match(notice, /居民用手机相机扫这张海报上的码,打不开登记页/);
  assert.match(notice, /系统管理员在 wangge\.conf 中设置 public_url/);
  assert.match(notice, /public_url is not set/, "the server's own words, in both languages");
  await page.waitForFunction(() => document.querySelector('[data-test=poster-qr]')?.naturalWidth > 0);
  await h.shot(page, 'venue-poster-no-public-url');
  assert.equal(await page.locator('[data-test=poster-qr]').getAttribute('data-content'), 'code');
  assert.equal(h.decodeQr(await page.locator('[data-test=poster-qr]').screenshot()), `WG-VENUE:${v.json.code}`);
  assert.match(await page.locator('[data-test=poster-hint]').innerText(), /工作人员扫码/);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('[data-test=poster-notice]').isVisible(), false, 'the notice is not printed');
  await page.emulateMedia({ media: 'screen' });
  assert.deepEqual(errors, []);
});
