// The grid tree itself: creating, editing and deleting nodes, the order of
// kinds and the administrative code rules, concurrent edits, moving whole
// subtrees, and the responsible people of a node.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO_PASSWORD, STORE, DEMO } = require('./helpers');
const { expectError, demoPlaces } = require('./expect');

let srv;
let token; // command: the whole county
let admin;
let places;

const get = (id, t = token) => srv.api('GET', `/api/v1/grids/${id}`, { token: t });
const create = (body, t = token) => srv.api('POST', '/api/v1/grids', { token: t, body });

async function created(body) {
  const r = await create(body);
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function countUnder(parent, name) {
  const r = await srv.api('GET', `/api/v1/grids?parent_id=${parent}&q=${encodeURIComponent(name)}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.json.total;
}

before(async () => {
  srv = await startServer();
  token = await srv.login('command');
  admin = await srv.login('admin', ADMIN_PASSWORD);
  places = await demoPlaces(srv, token);
});
after(async () => { await srv.stop(); });

test('the demo tree has the documented shape', async () => {
  const expected = [
    [DEMO.county, 'county', '320923', '/1/', null],
    [DEMO.street, 'street', '320923001', '/1/2/', 1],
    [DEMO.community, 'community', null, '/1/2/3/', 2],
    [DEMO.grid, 'grid', null, '/1/2/3/4/', 3],
    [DEMO.building, 'building', null, '/1/2/3/4/5/', 4],
  ];
  for (const [id, kind, code, path, parent] of expected) {
    const r = await get(id);
    assert.equal(r.status, 200);
    assert.equal(r.json.kind, kind);
    assert.equal(r.json.path, path);
    assert.equal(r.json.parent_id, parent);
    if (code) assert.equal(r.json.code, code);
  }
  assert.equal((await get(DEMO.county)).json.name, '阜宁县');
  assert.equal((await get(DEMO.street)).json.name, '阜城街道');
  assert.match((await get(DEMO.community)).json.code, /^320923001\d{3}$/);
});

test('create a street, a community, a grid and a building: paths, versions, Location', async () => {
  const r = await create({ parent_id: 1, kind: 'street', name: '测试街道', code: '320923901' });
  assert.equal(r.status, 201, r.text);
  const street = r.json;
  assert.equal(street.path, `/1/${street.id}/`);
  assert.equal(street.version, 1);
  assert.equal(street.parent_id, 1);
  assert.deepEqual(street.leaders, []);
  assert.equal(r.headers.get('location'), `/api/v1/grids/${street.id}`);
  const community = await created({ parent_id: street.id, kind: 'community', name: '测试社区', code: '320923901001' });
  assert.equal(community.path, `${street.path}${community.id}/`);
  const grid = await created({ parent_id: community.id, kind: 'grid', name: '第1网格', code: 'A-01' });
  assert.equal(grid.code, 'A-01', 'grids take a free-text code');
  const b = await created({ parent_id: grid.id, kind: 'building', name: '1号楼', geometry: '{"type":"Point","coordinates":[119.8,33.7]}' });
  assert.equal(b.path, `/1/${street.id}/${community.id}/${grid.id}/${b.id}/`);
  assert.equal(b.geometry, '{"type":"Point","coordinates":[119.8,33.7]}');
  assert.deepEqual((await get(b.id)).json, { ...b, leaders: [] });
  const village = await created({ parent_id: street.id, kind: 'village', name: '测试村', code: '320923901200' });
  assert.equal(village.kind, 'village');
});

test('a kind must lie below its parent\'s kind', async () => {
  const cases = [
    [DEMO.street, 'town', 'a town under a street'],
    [DEMO.street, 'street', 'a street under a street'],
    [DEMO.community, 'village', 'a village under a community'],
    [DEMO.community, 'street', 'a street under a community'],
    [DEMO.grid, 'community', 'a community under a grid'],
    [DEMO.grid, 'grid', 'a grid under a grid'],
    [DEMO.building, 'building', 'a building under a building'],
    [DEMO.county, 'province', 'a province under a county'],
    [DEMO.county, 'county', 'a county under a county'],
  ];
  for (const [parent, kind, what] of cases) {
    const name = `错层-${kind}-${parent}`;
    expectError(await create({ parent_id: parent, kind, name }), 422, 'validation_failed', 'kind', what);
    assert.equal(await countUnder(parent, name), 0, what);
  }
  expectError(await create({ parent_id: DEMO.grid, kind: 'castle', name: '城堡' }), 422, 'validation_failed', 'kind');
  assert.equal(await countUnder(DEMO.grid, '城堡'), 0);
});

test('administrative codes have their level\'s digits and begin with the parent\'s code', async () => {
  const community = (await get(DEMO.community)).json;
  const cases = [
    [1, 'street', '32092300', '8 digits for a street'],
    [1, 'street', '3209230011', '10 digits for a street'],
    [1, 'street', '32092300a', 'a letter in a street code'],
    [1, 'town', '320924100', 'a town code of another county'],
    [1, 'street', '', 'an empty code'],
    [DEMO.street, 'community', '320923001', '9 digits for a community'],
    [DEMO.street, 'community', '320923002001', 'a community code of another street'],
    [DEMO.street, 'village', '32092300120x', 'a letter in a village code'],
  ];
  for (const [parent, kind, code, what] of cases) {
    const name = `错码-${what}`;
    expectError(await create({ parent_id: parent, kind, name, code }), 422, 'validation_failed', 'code', what);
    assert.equal(await countUnder(parent, name), 0, what);
  }
  // Fixing the code on an existing node follows the same rules.
  for (const code of ['3209230010', '320924001001']) {
    expectError(await srv.api('PATCH', `/api/v1/grids/${DEMO.community}`, { token, body: { code } }), 422,
      'validation_failed', 'code', code);
  }
  const after = (await get(DEMO.community)).json;
  assert.equal(after.code, community.code);
  assert.equal(after.version, community.version);
  // A valid correction goes through (on a community whose children carry no code built from it;
  // the demo community's grid codes begin with its code, so changing that one is refused: see below).
  const fresh = await created({ parent_id: DEMO.street, kind: 'community', name: '新建社区', code: '320923001097' });
  const ok = await srv.api('PATCH', `/api/v1/grids/${fresh.id}`, { token, body: { code: '320923001099' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.code, '320923001099');
  assert.equal(ok.json.version, fresh.version + 1);
});

test('patch changes name, code and geometry; parent, kind and path are not patchable', async () => {
  const n = await created({ parent_id: DEMO.grid, kind: 'building', name: '待改楼' });
  const r = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { name: '已改楼', code: 'B2', geometry: 'POLYGON((0 0,1 0,1 1,0 0))' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, '已改楼');
  assert.equal(r.json.code, 'B2');
  assert.equal(r.json.geometry, 'POLYGON((0 0,1 0,1 1,0 0))');
  assert.equal(r.json.version, 2);
  assert.ok(r.json.updated_at >= n.updated_at);
  const cleared = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { code: null, geometry: null } });
  assert.equal(cleared.status, 200, cleared.text);
  assert.equal(cleared.json.code, null);
  assert.equal(cleared.json.geometry, null);
  for (const [field, value] of [['parent_id', DEMO.street], ['kind', 'grid'], ['path', '/1/'], ['id', 1], ['version', 9]]) {
    const bad = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { [field]: value, name: '不该改' } });
    assert.equal(bad.status, 422, `${field}: ${bad.text}`);
    assert.equal(bad.json.error.field, field);
  }
  const now = (await get(n.id)).json;
  assert.equal(now.name, '已改楼');
  assert.equal(now.parent_id, DEMO.grid);
  assert.equal(now.version, 3);
  expectError(await srv.api('PATCH', '/api/v1/grids/99999999', { token, body: { name: '无' } }), 404, 'not_found');
});

test('If-Match: a stale version answers 412 and changes nothing; the current one succeeds', async () => {
  const n = await created({ parent_id: DEMO.grid, kind: 'building', name: '并发楼' });
  // Two grid workers load version 1; the first saves.
  const first = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { name: '甲改' }, headers: { 'if-match': '1' } });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.version, 2);
  const second = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { name: '乙改' }, headers: { 'if-match': '1' } });
  expectError(second, 412, 'version_mismatch');
  assert.equal((await get(n.id)).json.name, '甲改');
  const quoted = await srv.api('PATCH', `/api/v1/grids/${n.id}`, { token, body: { name: '乙改' }, headers: { 'if-match': '"2"' } });
  assert.equal(quoted.status, 200, quoted.text);
  assert.equal(quoted.json.version, 3);
  // Deleting with a stale version is refused as well.
  expectError(await srv.api('DELETE', `/api/v1/grids/${n.id}`, { token, headers: { 'if-match': '2' } }), 412, 'version_mismatch');
  assert.equal((await get(n.id)).status, 200);
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${n.id}`, { token, headers: { 'if-match': '3' } })).status, 204);
  assert.equal((await get(n.id)).status, 404);
});

test('children lists exactly the direct children', async () => {
  const r = await srv.api('GET', `/api/v1/grids/${DEMO.community}/children`, { token });
  assert.equal(r.status, 200);
  const listed = await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.community}&limit=1000`, { token });
  assert.deepEqual(r.json.items.map((i) => i.id).sort((a, b) => a - b), listed.json.items.map((i) => i.id));
  assert.equal(r.json.total, listed.json.total);
  assert.ok(r.json.items.some((i) => i.id === DEMO.grid));
  for (const it of r.json.items) {
    assert.equal(it.parent_id, DEMO.community);
    assert.equal(it.path, `/1/2/3/${it.id}/`);
    const below = await srv.api('GET', `/api/v1/grids?parent_id=${it.id}&limit=1`, { token });
    assert.equal(it.child_count, below.json.total, 'how many places open below it');
  }
  assert.ok(r.json.items.some((i) => i.child_count > 0));
  const leaf = await srv.api('GET', `/api/v1/grids/${DEMO.building}/children`, { token });
  assert.equal(leaf.status, 200);
  assert.deepEqual(leaf.json.items, []);
  expectError(await srv.api('GET', '/api/v1/grids/99999999/children', { token }), 404, 'not_found');
});

test('delete: refused while children or accounts hang on the node, then allowed', async () => {
  const grid = await created({ parent_id: DEMO.community, kind: 'grid', name: '待删网格' });
  const b = await created({ parent_id: grid.id, kind: 'building', name: '待删楼' });
  expectError(await srv.api('DELETE', `/api/v1/grids/${grid.id}`, { token }), 409, 'conflict');
  assert.equal((await get(grid.id)).status, 200);
  assert.equal((await get(b.id)).status, 200);
  const u = await srv.api('POST', '/api/v1/users', {
    token, body: { username: 'delete-guard', password: 'Shanchu-baohu-2026', role: 'volunteer', scope_node_id: b.id },
  });
  assert.equal(u.status, 201, u.text);
  expectError(await srv.api('DELETE', `/api/v1/grids/${b.id}`, { token }), 409, 'conflict');
  assert.equal((await get(b.id)).status, 200);
  const moved = await srv.api('PATCH', `/api/v1/users/${u.json.id}`, { token, body: { scope_node_id: DEMO.grid } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${b.id}`, { token })).status, 204);
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${grid.id}`, { token })).status, 204);
  assert.equal((await get(grid.id)).status, 404);
  expectError(await srv.api('DELETE', `/api/v1/grids/${grid.id}`, { token }), 404, 'not_found');
  assert.equal(await countUnder(DEMO.community, '待删网格'), 0);
});

test('moving a subtree rewrites every descendant\'s path at once; a user scoped inside follows it', async () => {
  const from = await created({ parent_id: 1, kind: 'street', name: '迁出街道', code: '320923911' });
  const to = await created({ parent_id: 1, kind: 'street', name: '迁入街道', code: '320923912' });
  const c = await created({ parent_id: from.id, kind: 'community', name: '整体搬迁社区' });
  const grids = [];
  const buildings = [];
  for (let g = 0; g < 3; g++) {
    const grid = await created({ parent_id: c.id, kind: 'grid', name: `搬迁网格${g}` });
    grids.push(grid);
    for (let i = 0; i < 4; i++) buildings.push(await created({ parent_id: grid.id, kind: 'building', name: `搬迁楼${g}-${i}` }));
  }
  const u = await srv.api('POST', '/api/v1/users', {
    token, body: { username: 'mover-worker', password: 'Yidong-wangge-2026', role: 'grid_worker', scope_node_id: grids[1].id },
  });
  assert.equal(u.status, 201, u.text);
  const worker = await srv.login('mover-worker', 'Yidong-wangge-2026');
  const before = await srv.api('GET', '/api/v1/me', { token: worker });
  assert.equal(before.json.scope_path, `${from.path}${c.id}/${grids[1].id}/`);

  const r = await srv.api('POST', `/api/v1/grids/${c.id}/move`, { token, body: { parent_id: to.id } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.parent_id, to.id);
  assert.equal(r.json.path, `${to.path}${c.id}/`);
  assert.equal(r.json.version, c.version + 1);

  const sub = await srv.api('GET', `/api/v1/grids?grid=${c.id}&limit=1000`, { token });
  assert.equal(sub.json.total, 1 + grids.length + buildings.length);
  const byId = new Map(sub.json.items.map((i) => [i.id, i]));
  for (const grid of grids) assert.equal(byId.get(grid.id).path, `${to.path}${c.id}/${grid.id}/`);
  for (const b of buildings) {
    const p = byId.get(b.id).path;
    assert.ok(p.startsWith(`${to.path}${c.id}/`), p);
    assert.equal(p, b.path.replace(from.path, to.path));
  }
  const left = await srv.api('GET', `/api/v1/grids?grid=${from.id}&limit=1000`, { token });
  assert.deepEqual(left.json.items.map((i) => i.id), [from.id], 'nothing stays under the old street');
  assert.deepEqual((await srv.api('GET', `/api/v1/grids/${from.id}/children`, { token })).json.items, []);

  // The worker, signed in before the move, still sees its grid, at the new place.
  const me = await srv.api('GET', '/api/v1/me', { token: worker });
  assert.equal(me.status, 200);
  assert.equal(me.json.scope_path, `${to.path}${c.id}/${grids[1].id}/`);
  const mine = await srv.api('GET', '/api/v1/grids?limit=1000', { token: worker });
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.json.items.map((i) => i.id).sort((a, b) => a - b),
    [grids[1].id, ...buildings.slice(4, 8).map((b) => b.id)].sort((a, b) => a - b));
  for (const it of mine.json.items) assert.ok(it.path.startsWith(me.json.scope_path), it.path);
  const own = await srv.api('GET', `/api/v1/grids/${grids[1].id}`, { token: worker });
  assert.equal(own.status, 200);
  assert.equal(own.json.path, me.json.scope_path);
  expectError(await srv.api('GET', `/api/v1/grids/${grids[0].id}`, { token: worker }), 404, 'not_found');
  // A new sign-in lands at the new place too.
  const again = await srv.api('POST', '/api/v1/session', { body: { username: 'mover-worker', password: 'Yidong-wangge-2026' } });
  assert.equal(again.json.user.scope_path, me.json.scope_path);
});

test('a node cannot move below itself or its descendants, nor under a wrong kind', async () => {
  const c = await created({ parent_id: DEMO.street, kind: 'community', name: '不可自环社区' });
  const g = await created({ parent_id: c.id, kind: 'grid', name: '自环网格' });
  const b = await created({ parent_id: g.id, kind: 'building', name: '自环楼' });
  const cases = [
    [c.id, c.id, 'parent_id', 'itself'],
    [c.id, g.id, 'parent_id', 'its child'],
    [c.id, b.id, 'parent_id', 'its grandchild'],
    [g.id, b.id, 'parent_id', 'a grid under its own building'],
    [c.id, DEMO.grid, 'kind', 'a community under a grid'],
    [g.id, DEMO.street, null, 'a grid directly under a street is fine'],
  ];
  for (const [id, parent, field, what] of cases) {
    const r = await srv.api('POST', `/api/v1/grids/${id}/move`, { token, body: { parent_id: parent } });
    if (field === null) {
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      continue;
    }
    expectError(r, 422, 'validation_failed', field, what);
  }
  assert.equal((await get(c.id)).json.path, `/1/2/${c.id}/`);
  assert.equal((await get(c.id)).json.version, 1);
  assert.equal((await get(b.id)).json.path, `/1/2/${g.id}/${b.id}/`);
  expectError(await srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: {} }), 422, 'required', 'parent_id');
  expectError(await srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: { parent_id: '2' } }), 422, 'validation_failed', 'parent_id');
  expectError(await srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: { parent_id: 2, name: 'x' } }), 422, 'unknown_field', 'name');
  expectError(await srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: { parent_id: 99999999 } }), 404, 'not_found', 'parent_id');
  expectError(await srv.api('POST', '/api/v1/grids/99999999/move', { token, body: { parent_id: 2 } }), 404, 'not_found');
  assert.equal((await get(g.id)).json.path, `/1/2/${g.id}/`);
});

test('leaders: set, shown with their names, replaced, cleared; bad lists change nothing', async () => {
  const b = await created({ parent_id: DEMO.grid, kind: 'building', name: '有楼长的楼' });
  const put = (leaders) => srv.api('PUT', `/api/v1/grids/${b.id}/leaders`, { token, body: { leaders } });
  const r = await put([{ user_id: 4, duty: '楼栋长' }, { user_id: 8, duty: '单元长' }, { user_id: 3, duty: '包联干部' }]);
  assert.equal(r.status, 200, r.text);
  const shown = (await get(b.id)).json.leaders;
  assert.deepEqual(shown.map((l) => [l.user_id, l.duty]).sort(), [[3, '包联干部'], [4, '楼栋长'], [8, '单元长']].sort());
  assert.equal(shown.find((l) => l.user_id === 4).name, '网格员小王');
  assert.deepEqual(r.json.leaders, shown);
  // A grid worker reads them too.
  const gw = await srv.login('gridworker');
  assert.deepEqual((await get(b.id, gw)).json.leaders, shown);

  const bad = [
    [[{ user_id: 4, duty: '楼长大人' }], 'leaders[0]', 'an unknown duty'],
    [[{ user_id: 4, duty: '楼栋长' }, { user_id: 99999, duty: '楼栋长' }], 'leaders[1]', 'an unknown user'],
    [[{ user_id: 4, duty: '楼栋长' }, { user_id: 4, duty: '楼栋长' }], 'leaders[1]', 'the same person twice'],
    [[{ user_id: '4', duty: '楼栋长' }], 'leaders[0]', 'a user id as text'],
    [[{ user_id: 4 }], 'leaders[0]', 'no duty'],
    [[{ user_id: 4, duty: '楼栋长', note: 1 }], 'leaders[0]', 'an extra key'],
    [[7], 'leaders[0]', 'not an object'],
    [{ user_id: 4, duty: '楼栋长' }, 'leaders', 'not a list'],
  ];
  for (const [leaders, field, what] of bad) {
    expectError(await put(leaders), 422, 'validation_failed', field, what);
    assert.deepEqual((await get(b.id)).json.leaders, shown, `${what} must change nothing`);
  }
  const other = await srv.api('PUT', `/api/v1/grids/${b.id}/leaders`, { token, body: { leaders: [], extra: 1 } });
  assert.equal(other.status, 422);
  const replaced = await put([{ user_id: 8, duty: '楼栋长' }]);
  assert.equal(replaced.status, 200);
  assert.deepEqual((await get(b.id)).json.leaders.map((l) => [l.user_id, l.duty]), [[8, '楼栋长']]);
  const cleared = await put([]);
  assert.equal(cleared.status, 200);
  assert.deepEqual((await get(b.id)).json.leaders, []);
  // All thirteen duties are accepted.
  const duties = ['一级网格长', '二级网格长', '网格员', '专职网格员', '兼职网格员', '楼栋长', '单元长',
    '党支部书记', '党小组长', '驻点领导', '驻点干部', '包联干部', '网格指导员'];
  const all = await put(duties.map((duty, i) => ({ user_id: (i % 9) + 1, duty })));
  assert.equal(all.status, 200, all.text);
  assert.equal((await get(b.id)).json.leaders.length, duties.length);
});

test('a community user manages its own subtree', async () => {
  const ct = await srv.login('community', DEMO_PASSWORD);
  const g = await create({ parent_id: DEMO.community, kind: 'grid', name: '社区自建网格' }, ct);
  assert.equal(g.status, 201, g.text);
  const b = await create({ parent_id: g.json.id, kind: 'building', name: '社区自建楼' }, ct);
  assert.equal(b.status, 201);
  const moved = await srv.api('POST', `/api/v1/grids/${b.json.id}/move`, { token: ct, body: { parent_id: DEMO.grid } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.path, `/1/2/3/4/${b.json.id}/`);
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${g.json.id}`, { token: ct })).status, 204);
  assert.equal((await get(g.json.id, admin)).status, 404);
});

test('a move keeps administrative codes consistent with the new parent', async () => {
  const a = await created({ parent_id: 1, kind: 'street', name: '代码街道甲', code: '320923921' });
  const b = await created({ parent_id: 1, kind: 'street', name: '代码街道乙', code: '320923922' });
  const c = await created({ parent_id: a.id, kind: 'community', name: '带代码社区', code: '320923921001' });
  // 320923921001 cannot sit under 320923922: the move must be refused (or the code fixed first).
  const r = await srv.api('POST', `/api/v1/grids/${c.id}/move`, { token, body: { parent_id: b.id } });
  expectError(r, 422, 'validation_failed', 'code');
  assert.equal((await get(c.id)).json.parent_id, a.id);
});

test('q searches names and codes by prefix, with the same (case-sensitive) result on every store', async () => {
  const n = await created({ parent_id: DEMO.grid, kind: 'building', name: 'Tower Qa', code: 'TQ-07' });
  const find = async (q) => (await srv.api('GET', `/api/v1/grids?grid=${DEMO.grid}&q=${encodeURIComponent(q)}`, { token })).json.items.map((i) => i.id);
  assert.deepEqual(await find('Tower Q'), [n.id]);
  assert.deepEqual(await find('TQ-0'), [n.id]);
  assert.deepEqual(await find('ower'), [], 'a prefix, not a substring');
  assert.deepEqual(await find('tower q'), []);
  assert.deepEqual(await find('tq-07'), []);
  assert.deepEqual(await find('第1网'), [DEMO.grid]);
});

test('q treats % and _ literally', async () => {
  const n = await created({ parent_id: DEMO.grid, kind: 'building', name: '100%_楼' });
  const find = async (q) => (await srv.api('GET', `/api/v1/grids?grid=${DEMO.grid}&q=${encodeURIComponent(q)}`, { token })).json.items.map((i) => i.id);
  assert.deepEqual(await find('100%_'), [n.id]);
  assert.deepEqual(await find('%'), []);
  assert.deepEqual(await find('_'), []);
});

test('the id of a deleted node is never given to a new one', async () => {
  const a = await created({ parent_id: DEMO.grid, kind: 'building', name: '将删除的楼' });
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${a.id}`, { token })).status, 204);
  const b = await created({ parent_id: DEMO.grid, kind: 'building', name: '新建的楼' });
  assert.notEqual(b.id, a.id, 'links and audit records to the deleted node must not lead to another');
});

test('concurrent edits with the same If-Match: exactly one wins', async () => {
  const n = await created({ parent_id: DEMO.grid, kind: 'building', name: '抢改楼' });
  for (let round = 0; round < 3; round++) {
    const v = (await get(n.id)).json.version;
    const rs = await Promise.all([0, 1, 2, 3].map((i) => srv.api('PATCH', `/api/v1/grids/${n.id}`, {
      token, body: { name: `抢改${round}-${i}` }, headers: { 'if-match': String(v) },
    })));
    const won = rs.filter((r) => r.status === 200);
    assert.equal(won.length, 1, rs.map((r) => r.status).join(' '));
    for (const r of rs.filter((x) => x.status !== 200)) expectError(r, 412, 'version_mismatch');
    const now = (await get(n.id)).json;
    assert.equal(now.version, v + 1);
    assert.equal(now.name, won[0].json.name);
  }
});

test('concurrent moves and creates keep every path equal to its parent\'s path plus its id', async () => {
  const g = await created({ parent_id: DEMO.community, kind: 'grid', name: '来回搬的网格' });
  await created({ parent_id: g.id, kind: 'building', name: '搬家楼0' });
  const [c1, c2, c3, c4] = places.communities;
  const pairs = [[c1, c2], [c3, c4], [DEMO.community, c1]];
  for (let round = 0; round < 6; round++) {
    const [a, b] = pairs[round % pairs.length];
    await Promise.all([
      srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: { parent_id: a } }),
      srv.api('POST', `/api/v1/grids/${g.id}/move`, { token, body: { parent_id: b } }),
      srv.api('POST', '/api/v1/grids', { token, body: { parent_id: g.id, kind: 'building', name: `搬家楼${round + 1}` } }),
    ]);
  }
  const node = (await get(g.id)).json;
  const parent = (await get(node.parent_id)).json;
  const problems = [];
  if (node.path !== `${parent.path}${g.id}/`) problems.push(`grid: parent ${node.parent_id} at ${parent.path}, path ${node.path}`);
  const kids = (await srv.api('GET', `/api/v1/grids?parent_id=${g.id}&limit=1000`, { token: admin })).json.items;
  assert.equal(kids.length, 7, 'every create landed under the grid');
  for (const k of kids) if (k.path !== `${node.path}${k.id}/`) problems.push(`building ${k.id}: ${k.path} under ${node.path}`);
  const sub = (await srv.api('GET', `/api/v1/grids?grid=${g.id}&limit=1000`, { token: admin })).json;
  if (sub.total !== 8) problems.push(`the subtree of the grid holds ${sub.total} nodes, not 8`);
  assert.deepEqual(problems, []);
});

test('the root\'s code follows the rules of its kind', async () => {
  const r = await srv.api('PATCH', `/api/v1/grids/${DEMO.county}`, { token: admin, body: { code: 'abc' } });
  try {
    expectError(r, 422, 'validation_failed', 'code');
    assert.equal((await get(DEMO.county)).json.code, '320923');
  } finally {
    if (r.status === 200) await srv.api('PATCH', `/api/v1/grids/${DEMO.county}`, { token: admin, body: { code: '320923' } });
  }
});

test('a code change never leaves the children\'s codes behind', async () => {
  const s = await created({ parent_id: 1, kind: 'street', name: '改码街道', code: '320923931' });
  const c = await created({ parent_id: s.id, kind: 'community', name: '改码社区', code: '320923931001' });
  const r = await srv.api('PATCH', `/api/v1/grids/${s.id}`, { token, body: { code: '320923932' } });
  const child = (await get(c.id)).json;
  // Either refused, or the children follow: never a child code outside its parent's.
  if (r.status === 200) assert.ok(child.code.startsWith(r.json.code), `${child.code} under ${r.json.code}`);
  else assert.equal((await get(s.id)).json.code, '320923931');
  if (r.status !== 200) assert.ok(r.status === 409 || r.status === 422, r.text);
});

test('a move honours If-Match like every other change', async () => {
  const a = await created({ parent_id: DEMO.grid, kind: 'building', name: '搬迁楼' });
  const stale = await srv.api('POST', `/api/v1/grids/${a.id}/move`, { token, headers: { 'If-Match': String(a.version + 1) }, body: { parent_id: DEMO.grid } });
  expectError(stale, 412, 'version_mismatch', 'version');
  const ok = await srv.api('POST', `/api/v1/grids/${a.id}/move`, { token, headers: { 'If-Match': `"${a.version}"` }, body: { parent_id: DEMO.community } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.parent_id, DEMO.community);
});

test('a node reads the same by id, in a list, as a child and in write replies; leaders follow every change', async () => {
  // Quotes, backslashes and control characters must survive every way a node is written out.
  const b = await created({ parent_id: DEMO.grid, kind: 'building', name: '引号"与\\反斜杠\t楼', code: 'Q"1' });
  const u = await srv.api('POST', '/api/v1/users', {
    token: admin,
    body: { username: 'quoted-leader', password: 'Yinhao-louzhang-2026', role: 'volunteer', scope_node_id: DEMO.grid, display_name: '王"小\\二' },
  });
  assert.equal(u.status, 201, u.text);
  const put = await srv.api('PUT', `/api/v1/grids/${b.id}/leaders`, {
    token, body: { leaders: [{ user_id: 4, duty: '楼栋长' }, { user_id: u.json.id, duty: '单元长' }, { user_id: 3, duty: '包联干部' }] },
  });
  assert.equal(put.status, 200, put.text);
  const one = await get(b.id);
  assert.equal(one.status, 200);
  assert.match(one.headers.get('content-type'), /^application\/json; charset=utf-8/);
  assert.equal(one.json.name, '引号"与\\反斜杠\t楼');
  assert.equal(one.json.code, 'Q"1');
  assert.equal(one.json.leaders.find((l) => l.user_id === u.json.id).name, '王"小\\二');
  assert.deepEqual(Object.keys(one.json), ['id', 'version', 'created_at', 'created_at_text', 'updated_at', 'updated_at_text',
    'path', 'parent_id', 'kind', 'code', 'name', 'geometry', 'leaders', 'child_count']);
  // Every time comes with its twin in local time (Asia/Shanghai by default).
  assert.match(one.json.created_at_text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
  assert.equal(Date.parse(one.json.updated_at_text) / 1000, one.json.updated_at);
  assert.deepEqual(put.json, one.json);

  const listed = await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.grid}&limit=200`, { token });
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.items.find((i) => i.id === b.id), one.json);
  const children = await srv.api('GET', `/api/v1/grids/${DEMO.grid}/children`, { token });
  assert.equal(children.status, 200);
  assert.deepEqual(children.json.items.find((i) => i.id === b.id), one.json);
  // The leaders are always one list in one order, whichever way they are read.
  const order = one.json.leaders.map((l) => l.user_id);
  assert.deepEqual([...order].sort((x, y) => x - y), [3, 4, u.json.id].sort((x, y) => x - y));

  // A change is seen by the very next read: nothing about a node is kept between requests.
  const patched = await srv.api('PATCH', `/api/v1/grids/${b.id}`, { token, body: { name: '改名楼' } });
  assert.equal(patched.status, 200);
  assert.deepEqual((await get(b.id)).json, patched.json);
  assert.equal(patched.json.leaders.length, 3);
  assert.equal((await srv.api('PUT', `/api/v1/grids/${b.id}/leaders`, { token, body: { leaders: [] } })).status, 200);
  assert.deepEqual((await get(b.id)).json.leaders, []);
  // A leader's new name shows at once on the node.
  assert.equal((await srv.api('PUT', `/api/v1/grids/${b.id}/leaders`, { token, body: { leaders: [{ user_id: u.json.id, duty: '楼栋长' }] } })).status, 200);
  assert.equal((await srv.api('PATCH', `/api/v1/users/${u.json.id}`, { token: admin, body: { display_name: '王小二' } })).status, 200);
  assert.deepEqual((await get(b.id)).json.leaders, [{ user_id: u.json.id, duty: '楼栋长', name: '王小二' }]);
});

test('every read sees the write answered before it, while other reads keep the server busy', async () => {
  const g = await created({ parent_id: DEMO.community, kind: 'grid', name: '读写网格' });
  let busy = true;
  const readers = Array.from({ length: 16 }, async () => {
    while (busy) assert.equal((await get(g.id)).status, 200);
  });
  try {
    let version = g.version;
    for (let i = 0; i < 60; i++) {
      const w = await srv.api('PATCH', `/api/v1/grids/${g.id}`, { token, body: { name: `读写网格${i}` }, headers: { 'if-match': String(version) } });
      assert.equal(w.status, 200, w.text);
      version = w.json.version;
      // several at once, so that they are served by every pooled connection
      for (const r of await Promise.all(Array.from({ length: 8 }, () => get(g.id)))) {
        assert.equal(r.json.version, version, `read after write ${i}`);
        assert.equal(r.json.name, `读写网格${i}`);
      }
    }
  } finally {
    busy = false;
    await Promise.all(readers);
  }
});

test('a tree through CSV: nodes made under their parent\'s code, re-imported to update by code, exported again', async () => {
  const upload = (text, query = '') => srv.api('POST', `/api/v1/grids/import${query}`, { token, raw: Buffer.from(text), headers: { 'content-type': 'text/csv' } });
  const rows = (town, village) => [
    '层级,名称,编码,上级编码',
    `镇,${town},320923941,320923`,
    `村,${village},320923941001,320923941`,
    '网格,表格网格,,320923941001',
  ].join('\n') + '\n';
  const dry = await upload(rows('表格镇', '表格村'), '?dry_run=1');
  assert.equal(dry.status, 200, dry.text);
  assert.equal(dry.json.inserted, 3);
  assert.equal((await srv.api('GET', '/api/v1/grids?code=320923941', { token })).json.items.length, 0, 'a dry run writes nothing');
  const first = await upload(rows('表格镇', '表格村'));
  assert.equal(first.status, 200, first.text);
  assert.deepEqual([first.json.inserted, first.json.updated], [3, 0]);
  const town = (await srv.api('GET', '/api/v1/grids?code=320923941', { token })).json.items[0];
  const village = (await srv.api('GET', '/api/v1/grids?code=320923941001', { token })).json.items[0];
  assert.equal(town.parent_id, DEMO.county);
  assert.equal(village.parent_id, town.id);
  assert.equal(village.path, `${town.path}${village.id}/`);
  const grid = (await srv.api('GET', `/api/v1/grids/${village.id}/children`, { token })).json.items[0];
  assert.equal(grid.name, '表格网格');

  // The same codes again, with new names: the nodes are updated, not doubled, and each update is audited.
  const second = await upload(rows('表格镇（改名）', '表格村（改名）').split('\n').slice(0, 3).join('\n') + '\n');
  assert.equal(second.status, 200, second.text);
  assert.deepEqual([second.json.inserted, second.json.updated], [0, 2]);
  const renamed = await get(town.id);
  assert.equal(renamed.json.name, '表格镇（改名）');
  assert.equal(renamed.json.version, town.version + 1);
  const auditor = await srv.login('auditor');
  const trail = await srv.api('GET', '/api/v1/audit?resource=grids&limit=100', { token: auditor });
  const updates = trail.json.items.filter((a) => a.action === 'update' && [String(town.id), String(village.id)].includes(a.record_id));
  assert.equal(updates.length, 2, 'one audit record per node the import changed');
  assert.ok(trail.json.items.some((a) => a.action === 'import'), 'and one for the file');

  const out = await srv.api('GET', `/api/v1/grids/export?format=csv&grid=${town.id}`, { token });
  assert.equal(out.status, 200, out.text);
  const lines = out.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.match(lines[0], /名称/);
  assert.equal(lines.length, 4, 'a header and the town, its village and its grid');
  assert.ok(lines.some((l) => l.includes('表格村（改名）') && l.includes('320923941001')));
});

test('an exported XLSX comes back in: every row read (the workbook parsed ahead of the rows being stored)', async () => {
  const res = await fetch(`${srv.base}/api/v1/grids/export?format=xlsx&grid=${DEMO.community}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  const book = Buffer.from(await res.arrayBuffer());
  const listed = (await srv.api('GET', `/api/v1/grids?grid=${DEMO.community}&limit=1`, { token })).json.total;
  const back = await srv.api('POST', '/api/v1/grids/import?dry_run=1', { token, raw: book,
    headers: { 'content-type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' } });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.inserted + back.json.updated + back.json.unchanged, listed, 'one answer per exported node');
  // Its own export comes back unchanged: every row finds its node by 编号, none is added twice.
  assert.equal(back.json.unchanged, listed);
  assert.equal(back.json.good, listed);
  assert.deepEqual(back.json.rows.map((x) => x.status), Array(listed).fill('unchanged'));
});
