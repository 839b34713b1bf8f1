// The audit trail: every write and every read of a grid node is recorded with
// who, from where, what and on which record; only auditors (and the admin)
// read it; the hash chain shows any edit or deletion made behind the server.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { startServer, run, ADMIN_PASSWORD, DEMO_PASSWORD, STORE, DEMO } = require('./helpers');
const { expectError, poll, demoPlaces } = require('./expect');

let srv;
let auditor;
let command;
let places;

async function trail(query = '') {
  const r = await srv.api('GET', `/api/v1/audit?limit=1000${query}`, { token: auditor });
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}

// The newest record matching every key of `want`.
async function find(want, query = '') {
  return poll(async () => (await trail(query)).find((a) => Object.entries(want).every(([k, v]) => a[k] === v)));
}

function expectRecord(a, want) {
  assert.ok(a, `no audit record like ${JSON.stringify(want)}`);
  for (const [k, v] of Object.entries(want)) assert.equal(a[k], v, k);
  assert.equal(a.address, '127.0.0.1');
  assert.match(a.hash, /^[0-9a-f]{64}$/);
  assert.ok(Math.abs(a.at - Date.now() / 1000) < 120, 'at is the current Unix time');
}

before(async () => {
  srv = await startServer();
  auditor = await srv.login('auditor');
  command = await srv.login('command');
  places = await demoPlaces(srv, command);
});
after(async () => { if (srv) await srv.stop(); });

test('grid writes are audited with user, address, action, resource, record and node', async () => {
  const c = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.grid, kind: 'building', name: '审计楼' } });
  assert.equal(c.status, 201);
  const id = c.json.id;
  const rid = String(id);
  const base = { user_id: 2, username: 'command', resource: 'grids', record_id: rid };
  expectRecord(await find({ ...base, action: 'create' }, '&resource=grids'), { ...base, action: 'create', node_path: c.json.path });

  assert.equal((await srv.api('PATCH', `/api/v1/grids/${id}`, { token: command, body: { name: '审计楼改' } })).status, 200);
  expectRecord(await find({ ...base, action: 'update' }), { ...base, node_path: c.json.path });

  const lead = await srv.api('PUT', `/api/v1/grids/${id}/leaders`, { token: command, body: { leaders: [{ user_id: 4, duty: '楼栋长' }] } });
  assert.equal(lead.status, 200);
  const updates = (await trail('&resource=grids')).filter((a) => a.action === 'update' && a.record_id === rid);
  assert.equal(updates.length, 2, 'the patch and the leaders change');

  const mv = await srv.api('POST', `/api/v1/grids/${id}/move`, { token: command, body: { parent_id: places.siblingGrid } });
  assert.equal(mv.status, 200);
  expectRecord(await find({ ...base, action: 'move' }), { ...base, node_path: `/1/2/3/${places.siblingGrid}/${id}/` });

  assert.equal((await srv.api('DELETE', `/api/v1/grids/${id}`, { token: command })).status, 204);
  expectRecord(await find({ ...base, action: 'delete' }), { ...base, node_path: `/1/2/3/${places.siblingGrid}/${id}/` });

  // In order, newest first, with distinct ids.
  const mine = (await trail('&resource=grids')).filter((a) => a.record_id === rid && a.action !== 'read');
  assert.deepEqual(mine.map((a) => a.action), ['delete', 'move', 'update', 'update', 'create']);
  for (let i = 1; i < mine.length; i++) assert.ok(mine[i - 1].id > mine[i].id);
});

test('account changes and sign-ins are audited', async () => {
  const admin = await srv.login('admin', ADMIN_PASSWORD);
  expectRecord(await find({ action: 'login', username: 'admin' }, '&resource=session'),
    { action: 'login', resource: 'session', user_id: 1, node_path: '/1/' });
  const u = await srv.api('POST', '/api/v1/users', {
    token: admin, body: { username: 'audited-user', password: 'Shenji-yonghu-2026', role: 'volunteer', scope_node_id: DEMO.grid },
  });
  assert.equal(u.status, 201);
  expectRecord(await find({ action: 'create', resource: 'users', record_id: String(u.json.id) }),
    { user_id: 1, username: 'admin', node_path: '/1/2/3/4/' });
  assert.equal((await srv.api('PATCH', `/api/v1/users/${u.json.id}`, { token: admin, body: { disabled: true } })).status, 200);
  expectRecord(await find({ action: 'update', resource: 'users', record_id: String(u.json.id) }), { username: 'admin' });

  const bad = await srv.api('POST', '/api/v1/session', { body: { username: 'partyadmin', password: 'not-the-password' } });
  assert.equal(bad.status, 401);
  const failed = await find({ action: 'login_failed', username: 'partyadmin' }, '&resource=session');
  expectRecord(failed, { resource: 'session', user_id: 0 });

  const t = await srv.login('partyadmin', DEMO_PASSWORD);
  const login = await find({ action: 'login', username: 'partyadmin' }, '&resource=session');
  expectRecord(login, { user_id: 6, node_path: '/1/2/' });
  assert.equal((await srv.api('DELETE', '/api/v1/session', { token: t })).status, 204);
  expectRecord(await find({ action: 'logout', username: 'partyadmin' }, '&resource=session'), { user_id: 6, resource: 'session' });
});

test('reads of persons are audited, one record per person read; refused reads are not reads', async () => {
  const community = await srv.login('community');
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.building, name: '读取甲' } });
  assert.equal(p.status, 201, p.text);
  assert.equal((await srv.api('GET', `/api/v1/persons/${p.json.id}`, { token: community })).status, 200);
  const read = await find({ action: 'read', username: 'community', record_id: String(p.json.id) }, '&resource=persons');
  expectRecord(read, { user_id: 3, resource: 'persons', node_path: p.json.node_path });

  const list = await srv.api('GET', `/api/v1/persons?grid=${DEMO.grid}`, { token: community });
  assert.equal(list.status, 200);
  const ids = list.json.items.map((i) => String(i.id));
  assert.ok(ids.length >= 1);
  const all = await poll(async () => {
    const reads = (await trail('&resource=persons')).filter((a) => a.action === 'read' && a.username === 'community');
    return ids.every((id) => reads.some((a) => a.record_id === id)) ? reads : null;
  });
  assert.ok(all, 'every listed person is recorded as read');
  // A refused read is not a read.
  const gw = await srv.login('gridworker');
  const other = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: places.siblingGrid, name: '读取乙' } });
  assert.equal((await srv.api('GET', `/api/v1/persons/${other.json.id}`, { token: gw })).status, 404);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(!(await trail('&resource=persons')).some((a) => a.action === 'read' && a.username === 'gridworker' && a.record_id === String(other.json.id)));
});

test('reads of the tree are counted per user and minute, not one record each', async () => {
  const vt = await srv.login('volunteer');
  const r = await srv.api('GET', `/api/v1/grids/${DEMO.grid}/children`, { token: vt });
  assert.equal(r.status, 200);
  assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.grid}`, { token: vt })).status, 200);
  await new Promise((res) => setTimeout(res, 100));
  assert.ok(!(await trail('&resource=grids')).some((a) => a.action === 'read' && a.username === 'volunteer'),
    'no record per node read (the count is written when the minute is over; tests/api/audit_anchor.test.js)');
});

test('failed writes leave no audit record', async () => {
  const writes = async () => (await trail()).filter((a) => !['read', 'reads', 'checkpoint'].includes(a.action)).map((a) => a.id);
  const before = await writes();
  const calls = [
    ['POST', '/api/v1/grids', { parent_id: DEMO.grid, kind: 'street', name: '错层' }],
    ['POST', '/api/v1/grids', { parent_id: places.otherStreet, kind: 'building', name: '越界' }],
    ['PATCH', `/api/v1/grids/${DEMO.building}`, { kind: 'grid' }],
    ['POST', `/api/v1/grids/${DEMO.community}/move`, { parent_id: DEMO.grid }],
    ['DELETE', `/api/v1/grids/${DEMO.community}`],
    ['PUT', `/api/v1/grids/${DEMO.building}/leaders`, { leaders: [{ user_id: 4, duty: '国王' }] }],
    ['POST', '/api/v1/users', { username: 'gridworker', password: 'abcdefghijkl', role: 'volunteer', scope_node_id: 4 }],
  ];
  const ct = await srv.login('community');
  for (const [m, p, body] of calls) {
    const r = await srv.api(m, p, { token: ct, body });
    assert.ok(r.status >= 400, `${m} ${p} → ${r.status}`);
  }
  const after = await writes();
  // Only the community's sign-in was added.
  const added = after.filter((id) => id > Math.max(...before));
  assert.equal(added.length, 1, JSON.stringify(added));
  const rec = (await trail()).find((a) => a.id === added[0]);
  assert.equal(rec.action, 'login');
  assert.equal(rec.username, 'community');
});

test('only the auditor reads the audit trail (not the admin: separation of duties)', async () => {
  assert.equal((await srv.api('GET', '/api/v1/audit', { token: auditor })).status, 200);
  for (const user of ['admin', 'command', 'community', 'gridworker', 'partyadmin', 'checkpoint', 'commissioner', 'volunteer']) {
    const t = await srv.login(user, user === 'admin' ? ADMIN_PASSWORD : DEMO_PASSWORD);
    expectError(await srv.api('GET', '/api/v1/audit', { token: t }), 403, 'forbidden', undefined, user);
  }
  expectError(await srv.api('GET', '/api/v1/audit'), 401, 'unauthorized');
});

test('an auditor scoped to one town sees that town\'s records only; system and failed sign-ins are for the whole tree', async () => {
  // Auditors are made on the server, not by those they audit.
  const u = srv.cli(['user', 'add', 'town-auditor', '--role', 'auditor', '--scope', String(places.otherStreet), '--password-stdin'],
    'Zhen-shenji-2026\n');
  assert.equal(u.code, 0, u.stderr);
  const c = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: places.otherStreet, kind: 'community', name: '他镇审计社区' } });
  assert.equal(c.status, 201);
  const t = await srv.login('town-auditor', 'Zhen-shenji-2026');
  const r = await srv.api('GET', '/api/v1/audit?limit=1000', { token: t });
  assert.equal(r.status, 200);
  assert.ok(r.json.items.length > 0);
  for (const a of r.json.items) assert.ok(a.node_path.startsWith(`/1/${places.otherStreet}/`), a.node_path);
  assert.ok(r.json.items.some((a) => a.action === 'create' && a.record_id === String(c.json.id)));
  const whole = await srv.api('GET', '/api/v1/audit?limit=1000', { token: auditor });
  assert.ok(whole.json.items.some((a) => a.node_path === ''), 'the county auditor sees records with no node');
});

test('who revealed whose ID number: the trail searched by action, resource, record, user and time', async () => {
  const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: DEMO.grid, name: '查阅对象', id_number: '11010519491231002X' } });
  assert.equal(p.status, 201, p.text);
  const t0 = Math.floor(Date.now() / 1000) - 1;
  const shown = await srv.api('GET', `/api/v1/persons/${p.json.id}?reveal=1`, { token: command });
  assert.equal(shown.status, 200, shown.text);
  const rec = await poll(async () => (await trail(`&action=reveal&resource=persons&record=${p.json.id}`))[0]);
  assert.ok(rec, 'the reveal is found by its record');
  assert.equal(rec.username, 'command');
  assert.equal(rec.action, 'reveal');
  assert.match(rec.at_text, /\+08:00$/, 'the time in local time beside the seconds');
  const byUser = await trail('&user=command&action=reveal');
  assert.ok(byUser.length >= 1 && byUser.every((a) => a.username === 'command' && a.action === 'reveal'));
  const local = new Date((t0 + 8 * 3600) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const since = await trail(`&action=reveal&from=${encodeURIComponent(local)}`);
  assert.ok(since.some((a) => a.id === rec.id), 'from= a local time');
  assert.deepEqual(await trail(`&action=reveal&to=${t0 - 3600}&record=${p.json.id}`), [], 'to= before it: none');
  expectError(await srv.api('GET', '/api/v1/audit?from=yesterday', { token: auditor }), 400, 'bad_query', 'from');
  expectError(await srv.api('GET', `/api/v1/audit?user=${'x'.repeat(200)}`, { token: auditor }), 400, 'bad_query', 'user');
});

test('the trail pages newest first with a cursor; bad paging is refused', async () => {
  const first = await srv.api('GET', '/api/v1/audit?limit=3', { token: auditor });
  assert.equal(first.status, 200);
  assert.equal(first.json.items.length, 3);
  assert.equal(first.json.next_cursor, first.json.items[2].id);
  const second = await srv.api('GET', `/api/v1/audit?limit=3&cursor=${first.json.next_cursor}`, { token: auditor });
  const ids = [...first.json.items, ...second.json.items].map((a) => a.id);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] - 1, 'consecutive, newest first');
  const sessions = await trail('&resource=session');
  assert.ok(sessions.length > 0 && sessions.every((a) => a.resource === 'session'));
  for (const q of ['limit=0', 'limit=abc', 'limit=5000', 'cursor=-1']) {
    expectError(await srv.api('GET', `/api/v1/audit?${q}`, { token: auditor }), 400, 'bad_query', q.split('=')[0], q);
  }
});

test('a burst of reads is recorded one record per read, in one unbroken run of ids', async () => {
  const community = await srv.login('community');
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '连读' } });
  const before = Math.max(...(await trail()).map((a) => a.id));
  // Enough at once that the queue is written many rows to a statement.
  const n = 150;
  const reads = await Promise.all(Array.from({ length: n }, () => srv.api('GET', `/api/v1/persons/${p.json.id}`, { token: community })));
  for (const r of reads) assert.equal(r.status, 200);
  const mine = await poll(async () => {
    const recs = (await trail('&resource=persons')).filter((a) => a.id > before && a.action === 'read' && a.username === 'community');
    return recs.length >= n ? recs : null;
  });
  assert.ok(mine, 'every read is recorded');
  assert.equal(mine.length, n);
  for (const a of mine) expectRecord(a, { user_id: 3, record_id: String(p.json.id), node_path: p.json.node_path });
  const ids = (await trail()).filter((a) => a.id > before).map((a) => a.id);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] - 1, 'no gaps');
});

// Runs SQL on the stopped server's database, behind the program's back.
function sql(data, stmt) {
  if (STORE === 'postgres') {
    return execFileSync('psql', ['-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', data.db, '-c', stmt], { encoding: 'utf8' }).trim();
  }
  return execFileSync('sqlite3', [path.join(data.dir, 'wangge.db'), stmt], { encoding: 'utf8' }).trim();
}

test('audit verify: intact, then an edited record and a deleted record are named', async () => {
  const data = srv.data;
  await srv.stop();
  srv = null;
  const verify = () => run(['audit', 'verify', '--data', data.dir]);
  let v = verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /intact/);
  const count = Number(sql(data, 'SELECT COUNT(*) FROM audit'));
  assert.ok(count > 30, `only ${count} records`);
  assert.match(v.stdout, new RegExp(`\\b${count} records`));

  // Edit one field of record 3.
  const action = sql(data, 'SELECT action FROM audit WHERE id = 3');
  sql(data, "UPDATE audit SET action = 'x' WHERE id = 3");
  v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /BROKEN/);
  assert.match(v.stdout, /record 3 was altered/);
  // Putting it back makes the chain whole again: the check is exact.
  sql(data, `UPDATE audit SET action = '${action}' WHERE id = 3`);
  v = verify();
  assert.equal(v.code, 0, v.stdout);

  // Change where record 10 came from.
  const addr = sql(data, 'SELECT address FROM audit WHERE id = 10');
  sql(data, "UPDATE audit SET address = '10.0.0.1' WHERE id = 10");
  v = verify();
  assert.equal(v.code, 1);
  assert.match(v.stdout, /record 10 was altered/);
  sql(data, `UPDATE audit SET address = '${addr}' WHERE id = 10`);
  assert.equal(verify().code, 0);

  // Delete the newest record.
  sql(data, `DELETE FROM audit WHERE id = ${count}`);
  v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`records after ${count - 1} were deleted`));

  // Delete one in the middle.
  sql(data, 'DELETE FROM audit WHERE id = 20');
  v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /record 20 is missing/);
});
