// Roles are data (角色管理): the built-in roles are seeded from the rights
// the modules declare; an administrator adds roles made of rights they hold,
// edits and removes them; separation of duties holds for every role saved.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError } = require('./expect');

let srv, admin, command;

test.before(async () => {
  srv = await startServer();
  admin = await srv.login('admin', ADMIN_PASSWORD);
  command = await srv.login('command');
});
test.after(async () => { await srv.stop(); });

const roles = (token, method, p = '', body, headers) => srv.api(method, `/api/v1/roles${p}`, { token, body, headers });

test('every right is listed with its labels and module', async () => {
  const r = await srv.api('GET', '/api/v1/rights', { token: command });
  assert.equal(r.status, 200);
  const by = Object.fromEntries(r.json.items.map((x) => [x.name, x]));
  assert.equal(r.json.total, r.json.items.length);
  assert.deepEqual(by.PERSON_REVEAL, { name: 'PERSON_REVEAL', zh: '查看完整身份证号和电话', en: 'reveal full ID numbers and phones',
    module: 'registry', writes: false, personal: true });
  assert.equal(by.GRID_WRITE.module, 'grid');
  assert.equal(by.USER_READ.module, 'core');
  assert.equal(by.TRACE_RUN.writes, true);
});

test('an administrator makes a role of rights she holds, and an account can hold it', async () => {
  const made = await roles(admin, 'POST', '', { name: 'street_clerk', zh: '街道文员', en: 'street clerk', rank: 30,
    rights: ['GRID_READ', 'PERSON_READ', 'USER_READ'] });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(made.json.rights, ['USER_READ', 'GRID_READ', 'PERSON_READ']);
  assert.equal(made.json.builtin, false);
  const user = await srv.api('POST', '/api/v1/users', { token: admin, body: { username: 'clerk', password: 'clerk-password-1',
    role: 'street_clerk', scope_node_id: DEMO.street } });
  assert.equal(user.status, 201, user.text);
  const clerk = await srv.login('clerk', 'clerk-password-1');
  const me = await srv.api('GET', '/api/v1/me', { token: clerk });
  assert.equal(me.json.role_zh, '街道文员');
  assert.deepEqual(me.json.rights.sort(), ['GRID_READ', 'PERSON_READ', 'USER_READ']);
  assert.equal((await srv.api('GET', '/api/v1/persons', { token: clerk })).status, 200);
  expectError(await srv.api('POST', '/api/v1/grids', { token: clerk, body: { parent_id: DEMO.street, kind: 'community', name: 'x' } }),
    403, 'forbidden');
  // Edited: the session sees the new rights at once.
  const cur = (await roles(admin, 'GET')).json.items.find((x) => x.name === 'street_clerk');
  const edited = await roles(admin, 'PATCH', `/${cur.id}`, { rights: ['GRID_READ'] }, { 'If-Match': String(cur.version) });
  assert.equal(edited.status, 200, edited.text);
  expectError(await srv.api('GET', '/api/v1/persons', { token: clerk }), 403, 'forbidden');
  expectError(await roles(admin, 'PATCH', `/${cur.id}`, { zh: '旧' }, { 'If-Match': String(cur.version) }), 412, 'version_mismatch');
  // In use: not removed; once no account holds it, removed.
  expectError(await roles(admin, 'DELETE', `/${cur.id}`), 409, 'conflict');
  assert.equal((await srv.api('PATCH', `/api/v1/users/${user.json.id}`, { token: admin, body: { role: 'volunteer' } })).status, 200);
  assert.equal((await roles(admin, 'DELETE', `/${cur.id}`)).status, 204);
  assert.equal((await roles(admin, 'GET')).json.items.some((x) => x.name === 'street_clerk'), false);
  const audit = await srv.login('auditor');
  const trail = await srv.api('GET', '/api/v1/audit?resource=roles', { token: audit });
  assert.deepEqual(trail.json.items.map((x) => x.action), ['delete', 'update', 'create']);
});

test('no role gets a right its maker lacks, and duties stay separate', async () => {
  expectError(await roles(admin, 'POST', '', { name: 'peeker', zh: '查看者', en: 'peeker', rank: 10, rights: ['PERSON_REVEAL'] }),
    403, 'forbidden', 'rights');
  // The admin does not read the audit trail, so she cannot grant it either.
  expectError(await roles(admin, 'POST', '', { name: 'writer_auditor', zh: '审计写', en: 'x', rank: 10,
    rights: ['AUDIT_READ', 'GRID_WRITE'] }), 403, 'forbidden', 'rights');
  expectError(await roles(admin, 'POST', '', { name: 'boss', zh: '老板', en: 'boss', rank: 100, rights: [] }),
    422, 'validation_failed', 'rank');
  expectError(await roles(admin, 'POST', '', { name: 'Bad Name', zh: 'x', en: 'x', rank: 5, rights: [] }),
    422, 'validation_failed', 'name');
  expectError(await roles(admin, 'POST', '', { name: 'dup', zh: 'x', en: 'x', rank: 5, rights: ['NO_SUCH'] }),
    422, 'validation_failed', 'rights');
  expectError(await roles(admin, 'POST', '', { name: 'command', zh: 'x', en: 'x', rank: 5, rights: [] }), 409, 'conflict', 'name');
  expectError(await roles(command, 'POST', '', { name: 'x1', zh: 'x', en: 'x', rank: 5, rights: [] }), 403, 'forbidden');
  const all = (await roles(admin, 'GET')).json.items;
  const adminRole = all.find((x) => x.name === 'admin'), volunteer = all.find((x) => x.name === 'volunteer');
  expectError(await roles(admin, 'PATCH', `/${adminRole.id}`, { zh: '超级' }), 403, 'forbidden');
  expectError(await roles(admin, 'DELETE', `/${volunteer.id}`), 409, 'conflict');
  const nothing = await roles(admin, 'GET');
  assert.deepEqual(nothing.json.items.map((x) => x.name).sort(), all.map((x) => x.name).sort());
});

test("a role's rights the administrator lacks may stay on it, never be added", async () => {
  const cmd = (await roles(admin, 'GET')).json.items.find((x) => x.name === 'command');
  assert.ok(cmd.rights.includes('PERSON_REVEAL') && cmd.rights.includes('TRACE_RUN'));
  // Taking one off keeps the rest, though she holds neither PERSON_REVEAL nor TRACE_RUN herself.
  const fewer = cmd.rights.filter((x) => x !== 'TRACE_RUN');
  const r = await roles(admin, 'PATCH', `/${cmd.id}`, { rights: fewer });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([...r.json.rights].sort(), [...fewer].sort());
  // Putting it back is granting it: refused, nothing changed.
  expectError(await roles(admin, 'PATCH', `/${cmd.id}`, { rights: cmd.rights }), 403, 'forbidden', 'rights');
  assert.deepEqual([...(await roles(admin, 'GET')).json.items.find((x) => x.name === 'command').rights].sort(), [...fewer].sort());
});

test('a built-in role edited keeps its edit when the server starts again', async () => {
  const vol = (await roles(admin, 'GET')).json.items.find((x) => x.name === 'volunteer');
  const r = await roles(admin, 'PATCH', `/${vol.id}`, { rights: ['GRID_READ', 'USER_READ'] });
  assert.equal(r.status, 200, r.text);
  await srv.stop();
  srv = await startServer({}, srv.data);
  admin = await srv.login('admin', ADMIN_PASSWORD);
  const again = (await roles(admin, 'GET')).json.items.find((x) => x.name === 'volunteer');
  assert.deepEqual(again.rights, ['USER_READ', 'GRID_READ']);
});
