// Accounts: who may create and change whom (rank and scope), uniqueness,
// disabling and password changes ending sessions, protection of oneself.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError, demoPlaces } = require('./expect');

let srv;
const tokens = {};
let serial = 0;
const PW = 'long-enough-pw-1';

const users = (t, method, p, body) => srv.api(method, `/api/v1/users${p}`, { token: tokens[t] || t, body });

async function userCount() {
  const r = await srv.api('GET', '/api/v1/users?limit=1000', { token: tokens.admin });
  assert.equal(r.status, 200);
  return r.json.items.length;
}

async function findUser(username) {
  const r = await srv.api('GET', `/api/v1/users?q=${encodeURIComponent(username)}&limit=1000`, { token: tokens.admin });
  return r.json.items.find((u) => u.username === username) || null;
}

async function newUser(role, scope, by = 'admin') {
  const username = `u${++serial}-${role.replace('_', '')}`;
  const r = await users(by, 'POST', '', { username, password: PW, role, scope_node_id: scope, display_name: `测试${serial}` });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

before(async () => {
  srv = await startServer();
  tokens.admin = await srv.login('admin', ADMIN_PASSWORD);
  for (const u of ['command', 'community', 'partyadmin', 'gridworker', 'auditor', 'checkpoint']) tokens[u] = await srv.login(u);
});
after(async () => { await srv.stop(); });

// actor, role to create, scope node, expected status (and error field)
const CREATE = [
  ['admin', 'admin', DEMO.county, 201],
  ['admin', 'command', DEMO.street, 201],
  ['command', 'community', DEMO.community, 201],
  ['command', 'party_admin', DEMO.street, 201],
  // Those who are audited do not appoint their auditors, the admin included:
  // auditors are made on the server (wangge user add), audited.
  ['admin', 'auditor', DEMO.county, 403, 'role'],
  ['command', 'auditor', DEMO.county, 403, 'role'],
  ['community', 'auditor', DEMO.community, 403, 'role'],
  ['command', 'command', DEMO.street, 403, 'role'],
  ['command', 'admin', DEMO.county, 403, 'role'],
  ['community', 'grid_worker', DEMO.grid, 201],
  ['community', 'volunteer', DEMO.building, 201],
  ['community', 'party_admin', DEMO.community, 201],
  ['community', 'community', DEMO.grid, 403, 'role'],
  ['community', 'command', DEMO.community, 403, 'role'],
  ['community', 'grid_worker', DEMO.street, 404, 'scope_node_id'],
  ['community', 'grid_worker', 'next community', 404, 'scope_node_id'],
  ['community', 'grid_worker', 99999999, 404, 'scope_node_id'],
  ['partyadmin', 'volunteer', DEMO.grid, 403, null],
  ['gridworker', 'volunteer', DEMO.grid, 403, null],
  ['auditor', 'volunteer', DEMO.grid, 403, null],
];

for (const [actor, role, where, status, field] of CREATE) {
  test(`${actor} creates a ${role} at node ${where} → ${status}`, async () => {
    const scope = typeof where === 'number' ? where : (await demoPlaces(srv, tokens.admin)).nearCommunity;
    const username = `c${++serial}-${actor}`;
    const before = await userCount();
    const r = await users(actor, 'POST', '', { username, password: PW, role, scope_node_id: scope });
    if (status === 201) {
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.username, username);
      assert.equal(r.json.role, role);
      assert.equal(r.json.scope_node_id, scope);
      assert.equal(r.json.disabled, false);
      assert.equal(r.json.password, undefined);
      assert.equal(r.json.password_hash, undefined);
      assert.equal(await userCount(), before + 1);
      // The new account signs in, with the granted role and scope.
      const s = await srv.api('POST', '/api/v1/session', { body: { username, password: PW } });
      assert.equal(s.status, 201, s.text);
      assert.equal(s.json.user.role, role);
      assert.equal(s.json.user.scope_node_id, scope);
      return;
    }
    expectError(r, status, status === 404 ? 'not_found' : 'forbidden', field);
    assert.equal(await userCount(), before);
    assert.equal(await findUser(username), null);
  });
}

test('reading accounts: only inside the scope, only with USER_READ', async () => {
  const r = await users('community', 'GET', '?limit=1000');
  assert.equal(r.status, 200);
  assert.ok(r.json.items.length >= 3);
  for (const u of r.json.items) assert.ok(u.scope_path.startsWith('/1/2/3/'), `${u.username} ${u.scope_path}`);
  assert.ok(r.json.items.some((u) => u.username === 'gridworker'));
  assert.ok(!r.json.items.some((u) => u.username === 'command'));
  expectError(await users('community', 'GET', '/2'), 404, 'not_found');
  expectError(await users('community', 'GET', '/1'), 404, 'not_found');
  const one = await users('community', 'GET', '/4');
  assert.equal(one.status, 200);
  // What a page shows: the scope's name, times in local time, whether two factors are on.
  assert.equal(one.json.scope_name, '第1网格');
  assert.match(one.json.created_at_text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
  assert.equal(one.json.totp_enabled, false);
  const me = await srv.api('GET', '/api/v1/me', { token: tokens.auditor });
  assert.equal(me.json.scope_name, '阜宁县', 'the county, not /1/');
  const pa = await users('partyadmin', 'GET', '?limit=1000');
  assert.equal(pa.status, 200);
  for (const u of pa.json.items) assert.ok(u.scope_path.startsWith('/1/2/'), u.scope_path);
  expectError(await users('gridworker', 'GET', ''), 403, 'forbidden');
  expectError(await users('gridworker', 'GET', '/4'), 403, 'forbidden');
  expectError(await users('auditor', 'GET', ''), 403, 'forbidden');
  expectError(await srv.api('GET', '/api/v1/users'), 401, 'unauthorized');
  // Filters.
  const byRole = await users('command', 'GET', '?role=grid_worker&limit=1000');
  assert.ok(byRole.json.items.length >= 1);
  assert.ok(byRole.json.items.every((u) => u.role === 'grid_worker'));
  const byName = await users('command', 'GET', '?q=gridw');
  assert.deepEqual(byName.json.items.map((u) => u.username), ['gridworker']);
  expectError(await users('command', 'GET', '?role=king'), 400, 'bad_query', 'role');
  // A department's people: the accounts scoped at a node or below it.
  const dept = await users('command', 'GET', `?grid=${DEMO.community}&limit=1000`);
  assert.equal(dept.status, 200, dept.text);
  assert.ok(dept.json.items.some((u) => u.username === 'gridworker') && dept.json.items.some((u) => u.username === 'community'));
  for (const u of dept.json.items) assert.ok(u.scope_path.startsWith('/1/2/3/'), u.scope_path);
  assert.ok(!dept.json.items.some((u) => u.username === 'command'));
  expectError(await users('community', 'GET', '?grid=1'), 404, 'not_found', 'grid');
  expectError(await users('command', 'GET', '?grid=x'), 400, 'bad_query', 'grid');
});

test('paging through accounts: cursor, next_cursor and total', async () => {
  const all = (await users('admin', 'GET', '?limit=1000')).json.items;
  const seen = [];
  let cursor = null;
  let total = null;
  do {
    const r = await users('admin', 'GET', `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    assert.ok(r.json.items.length <= 2);
    seen.push(...r.json.items.map((u) => u.id));
    total = r.json.total;
    cursor = r.json.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, all.map((u) => u.id));
  assert.equal(total !== null, true);
});

test('total counts every matching account, not only the page', async () => {
  const all = (await users('admin', 'GET', '?limit=1000')).json.items.length;
  const page = await users('admin', 'GET', '?limit=2');
  assert.equal(page.json.items.length, 2);
  assert.equal(page.json.total, all);
});

test('a duplicate username is refused with 409 and creates nothing', async () => {
  const before = await userCount();
  for (const name of ['gridworker', 'admin']) {
    const r = await users('command', 'POST', '', { username: name, password: PW, role: 'volunteer', scope_node_id: DEMO.grid });
    expectError(r, 409, 'conflict', 'username');
  }
  assert.equal(await userCount(), before);
  // The existing account is untouched: its password still works.
  assert.ok(await srv.login('gridworker'));
});

test('create: validation of each field, nothing created', async () => {
  const before = await userCount();
  const base = { username: 'valid-name', password: PW, role: 'volunteer', scope_node_id: DEMO.grid };
  const cases = [
    [{ password: 'short-pw1' }, 422, 'validation_failed', 'password', 'a 9-character password'],
    [{ password: '' }, 422, 'validation_failed', 'password', 'an empty password'],
    [{ password: 'x'.repeat(257) }, 422, 'validation_failed', 'password', 'a 257-character password'],
    [{ password: 1234567890123 }, 422, 'validation_failed', 'password', 'a numeric password'],
    [{ username: 'Upper' }, 422, 'validation_failed', 'username', 'upper case'],
    [{ username: '张三' }, 422, 'validation_failed', 'username', 'Chinese'],
    [{ username: 'a' }, 422, 'validation_failed', 'username', 'one letter'],
    [{ username: 'x'.repeat(65) }, 422, 'validation_failed', 'username', '65 letters'],
    [{ username: 'a b' }, 422, 'validation_failed', 'username', 'a space'],
    [{ role: 'king' }, 422, 'validation_failed', 'role', 'an unknown role'],
    [{ scope_node_id: 0 }, 422, 'validation_failed', 'scope_node_id', 'node 0'],
    [{ scope_node_id: '4' }, 422, 'validation_failed', 'scope_node_id', 'node as text'],
    [{ disabled: 'no' }, 422, 'validation_failed', 'disabled', 'disabled as text'],
    [{ display_name: 'x'.repeat(201) }, 422, 'validation_failed', 'display_name', 'a long display name'],
    [{ colour: 'red' }, 422, 'unknown_field', 'colour', 'an unknown field'],
  ];
  for (const [change, status, code, field, what] of cases) {
    expectError(await users('command', 'POST', '', { ...base, ...change }), status, code, field, what);
  }
  for (const missing of ['username', 'password', 'role', 'scope_node_id']) {
    const body = { ...base };
    delete body[missing];
    expectError(await users('command', 'POST', '', body), 422, 'required', missing, `without ${missing}`);
  }
  assert.equal(await userCount(), before);
  assert.equal(await findUser('valid-name'), null);
  const ten = await users('command', 'POST', '', { ...base, password: 'Abcdef-123' });
  assert.equal(ten.status, 201, `a 10-character password is long enough: ${ten.text}`);
});

test('disabling an account ends its sessions and blocks sign-in; enabling restores it', async () => {
  const u = await newUser('grid_worker', DEMO.grid, 'community');
  const t = await srv.login(u.username, PW);
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t })).status, 200);
  const r = await users('community', 'PATCH', `/${u.id}`, { disabled: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.disabled, true);
  expectError(await srv.api('GET', '/api/v1/me', { token: t }), 401, 'unauthorized');
  expectError(await srv.api('GET', '/api/v1/grids', { token: t }), 401, 'unauthorized');
  // Answered as a wrong password (issue 14, point 9): the right one tells nothing.
  const s = await srv.api('POST', '/api/v1/session', { body: { username: u.username, password: PW } });
  expectError(s, 401, 'bad_credentials');
  assert.equal(s.json.token, undefined);
  const back = await users('community', 'PATCH', `/${u.id}`, { disabled: false });
  assert.equal(back.status, 200);
  const t2 = await srv.login(u.username, PW);
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t2 })).status, 200);
  expectError(await srv.api('GET', '/api/v1/me', { token: t }), 401, 'unauthorized', undefined, 'the old token stays dead');
});

test('a password change ends the old sessions; the new password works, the old one not', async () => {
  const u = await newUser('volunteer', DEMO.grid, 'command');
  const t1 = await srv.login(u.username, PW);
  const t2 = await srv.login(u.username, PW);
  const r = await users('command', 'PATCH', `/${u.id}`, { password: 'Brand-new-password' });
  assert.equal(r.status, 200, r.text);
  for (const t of [t1, t2]) expectError(await srv.api('GET', '/api/v1/me', { token: t }), 401, 'unauthorized');
  expectError(await srv.api('POST', '/api/v1/session', { body: { username: u.username, password: PW } }), 401, 'bad_credentials');
  const t3 = await srv.login(u.username, 'Brand-new-password');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t3 })).json.username, u.username);
  // Changing one's own password asks for the current one: a session left open is not enough.
  expectError(await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t3, body: { password: 'My-own-new-password' } }),
    422, 'required', 'current_password');
  expectError(await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t3,
    body: { password: 'My-own-new-password', current_password: PW } }), 422, 'validation_failed', 'current_password');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t3 })).status, 200, 'nothing changed');
  expectError(await users('command', 'POST', '', { username: 'with-current', password: PW, current_password: PW, role: 'volunteer',
    scope_node_id: DEMO.grid }), 422, 'unknown_field', 'current_password');
  const own = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t3,
    body: { password: 'My-own-new-password', current_password: 'Brand-new-password' } });
  assert.equal(own.status, 200, own.text);
  expectError(await srv.api('GET', '/api/v1/me', { token: t3 }), 401, 'unauthorized');
  assert.ok(await srv.login(u.username, 'My-own-new-password'));
  // Too short a new password changes nothing.
  const t4 = await srv.login(u.username, 'My-own-new-password');
  expectError(await users('command', 'PATCH', `/${u.id}`, { password: 'tooshort' }), 422, 'validation_failed', 'password');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t4 })).status, 200);
  assert.ok(await srv.login(u.username, 'My-own-new-password'));
});

test('a session cannot guess its own password: wrong current passwords lock the account as failed sign-ins do', async () => {
  const u = await newUser('volunteer', DEMO.grid, 'command');
  const t = await srv.login(u.username, PW);
  const change = (current) => srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t, body: { password: 'Another-new-pass-1', current_password: current } });
  for (let i = 0; i < 5; i++) expectError(await change(`Guess-number-${i}`), 422, 'validation_failed', 'current_password');
  const locked = await change(PW);
  assert.equal(locked.status, 429, locked.text);
  assert.equal(locked.json.error.field, 'current_password');
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: u.username, password: PW } })).status, 429, 'sign-in locked too');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t })).status, 200, 'the session itself goes on');
});

test('a role change takes effect on the signed-in session', async () => {
  const u = await newUser('community', DEMO.community, 'command');
  const t = await srv.login(u.username, PW);
  const make = () => srv.api('POST', '/api/v1/grids', { token: t, body: { parent_id: DEMO.grid, kind: 'building', name: `降级前后${++serial}` } });
  assert.equal((await make()).status, 201);
  const r = await users('command', 'PATCH', `/${u.id}`, { role: 'volunteer' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.role, 'volunteer');
  expectError(await make(), 403, 'forbidden');
  const me = await srv.api('GET', '/api/v1/me', { token: t });
  assert.equal(me.json.role, 'volunteer');
  assert.deepEqual(me.json.rights, ['GRID_READ', 'NAT_READ', 'NAT_SAMPLE']);   // a volunteer scans codes at NAT points
});

test('rank and scope also bind changes to existing accounts', async () => {
  const worker = await newUser('grid_worker', DEMO.grid, 'community');
  const cases = [
    ['community', `/${worker.id}`, { role: 'community' }, 403, 'forbidden', 'role', 'promote to own rank'],
    ['community', `/${worker.id}`, { role: 'command' }, 403, 'forbidden', 'role', 'promote above self'],
    ['community', `/${worker.id}`, { scope_node_id: DEMO.street }, 404, 'not_found', 'scope_node_id', 'move outside scope'],
    ['community', `/${worker.id}`, { username: 'renamed' }, 422, 'validation_failed', 'username', 'rename'],
    ['community', `/${worker.id}`, { colour: 1 }, 422, 'unknown_field', 'colour', 'an unknown field'],
    ['community', '/2', { display_name: '改指挥部' }, 404, 'not_found', undefined, 'a superior outside scope'],
    ['command', '/1', { display_name: '改管理员' }, 403, 'forbidden', undefined, 'the admin'],
    ['command', `/${worker.id}`, { display_name: 'x' }, 200, null, null, 'a lower rank in scope'],
    ['partyadmin', `/${worker.id}`, { display_name: 'y' }, 403, 'forbidden', undefined, 'without USER_WRITE'],
    ['gridworker', `/${worker.id}`, { display_name: 'z' }, 403, 'forbidden', undefined, 'a peer without USER_WRITE'],
  ];
  let version = worker.version;
  for (const [actor, p, body, status, code, field, what] of cases) {
    const r = await users(actor, 'PATCH', p, body);
    if (status === 200) {
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      version = r.json.version;
      continue;
    }
    expectError(r, status, code, field, what);
  }
  const now = (await users('admin', 'GET', `/${worker.id}`)).json;
  assert.equal(now.role, 'grid_worker');
  assert.equal(now.scope_node_id, DEMO.grid);
  assert.equal(now.username, worker.username);
  assert.equal(now.display_name, 'x');
  assert.equal(now.version, version);
  // A peer of the same rank cannot be changed either.
  const peer = await newUser('community', DEMO.community, 'command');
  expectError(await users('community', 'PATCH', `/${peer.id}`, { display_name: '同级' }), 403, 'forbidden');
  assert.equal((await users('admin', 'GET', `/${peer.id}`)).json.display_name, peer.display_name);
  // Moving inside the scope is fine.
  const moved = await users('community', 'PATCH', `/${worker.id}`, { scope_node_id: DEMO.building });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.scope_path, '/1/2/3/4/5/');
});

test('nobody changes their own role or scope or disables themselves', async () => {
  const u = await newUser('community', DEMO.community, 'command');
  const t = await srv.login(u.username, PW);
  const cases = [
    [{ role: 'grid_worker' }, 'a lower role'],
    [{ role: 'community' }, 'the same role'],
    [{ scope_node_id: DEMO.grid }, 'a narrower scope'],
    [{ disabled: true }, 'disable'],
    [{ disabled: false }, 'enable'],
    [{ display_name: '新名字', role: 'volunteer' }, 'a harmless change with a role change'],
  ];
  for (const [body, what] of cases) {
    expectError(await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t, body }), 403, 'forbidden', undefined, what);
  }
  const now = (await users('admin', 'GET', `/${u.id}`)).json;
  assert.equal(now.role, 'community');
  assert.equal(now.scope_node_id, DEMO.community);
  assert.equal(now.disabled, false);
  assert.equal(now.display_name, u.display_name);
  assert.equal(now.version, u.version);
  assert.equal((await srv.api('GET', '/api/v1/me', { token: t })).status, 200);
  // The admin is bound by the same rule.
  expectError(await users('admin', 'PATCH', '/1', { disabled: true }), 403, 'forbidden');
  expectError(await users('admin', 'PATCH', '/1', { role: 'command' }), 403, 'forbidden');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: tokens.admin })).json.role, 'admin');
  // But one's own display name may change.
  const ok = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: t, body: { display_name: '自己改名' } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.display_name, '自己改名');
});

test('If-Match on an account: a stale version answers 412', async () => {
  const u = await newUser('volunteer', DEMO.grid, 'command');
  const ok = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: tokens.command, body: { display_name: '甲' }, headers: { 'if-match': String(u.version) } });
  assert.equal(ok.status, 200, ok.text);
  const stale = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: tokens.command, body: { display_name: '乙' }, headers: { 'if-match': String(u.version) } });
  expectError(stale, 412, 'version_mismatch');
  assert.equal((await users('admin', 'GET', `/${u.id}`)).json.display_name, '甲');
});

test('roles lists every role with its rights', async () => {
  const r = await srv.api('GET', '/api/v1/roles', { token: tokens.gridworker });
  assert.equal(r.status, 200);
  const rights = Object.fromEntries(r.json.items.map((x) => [x.name, x.rights]));
  assert.deepEqual(Object.keys(rights).sort(), ['admin', 'auditor', 'checkpoint', 'command', 'commissioner', 'community',
    'grid_worker', 'party_admin', 'volunteer']);
  assert.deepEqual(rights.auditor, ['AUDIT_READ']);
  assert.deepEqual(rights.volunteer, ['GRID_READ', 'NAT_READ', 'NAT_SAMPLE']);
  assert.ok(rights.command.includes('TRACE_RUN'));
  assert.ok(!rights.admin.includes('PERSON_WRITE'));
  for (const x of r.json.items) {
    assert.ok(x.zh && x.en, x.name);
  }
  expectError(await srv.api('GET', '/api/v1/roles'), 401, 'unauthorized');
});

test('If-Match on an account takes the quoted form and rejects garbage as grids do', async () => {
  const u = await newUser('volunteer', DEMO.grid, 'command');
  const quoted = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: tokens.command, body: { display_name: '丙' }, headers: { 'if-match': `"${u.version}"` } });
  assert.equal(quoted.status, 200, quoted.text);
  const garbage = await srv.api('PATCH', `/api/v1/users/${u.id}`, { token: tokens.command, body: { display_name: '丁' }, headers: { 'if-match': 'abc' } });
  expectError(garbage, 422, 'validation_failed', 'If-Match');
});
