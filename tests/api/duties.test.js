// Separation of duties (issue 14, point 14; 等保 2.0: 系统管理员 / 审计管理员):
// the administrator neither reads the audit trail nor acts on the accounts or
// the role of those who audit her; the CLI on the server does that, audited.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, sql, run, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError, poll } = require('./expect');

let srv, admin, auditor, command;

before(async () => {
  srv = await startServer();
  admin = await srv.login('admin', ADMIN_PASSWORD);
  auditor = await srv.login('auditor');
  command = await srv.login('command');
});
after(async () => { if (srv) await srv.stop(); });

async function auditorId() {
  const r = await srv.api('GET', '/api/v1/users?role=auditor', { token: admin });
  assert.equal(r.status, 200, r.text);
  return r.json.items.find((u) => u.username === 'auditor').id;
}

test('the admin does not read the audit trail; the auditor does', async () => {
  expectError(await srv.api('GET', '/api/v1/audit', { token: admin }), 403, 'forbidden');
  const me = await srv.api('GET', '/api/v1/me', { token: admin });
  assert.ok(!me.json.rights.includes('AUDIT_READ'), me.text);
  assert.equal((await srv.api('GET', '/api/v1/audit', { token: auditor })).status, 200);
  const role = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((x) => x.name === 'admin');
  assert.ok(!role.rights.includes('AUDIT_READ'));
});

test('the admin may not create, reset or disable an auditor, nor make someone one', async () => {
  const id = await auditorId();
  expectError(await srv.api('POST', '/api/v1/users', { token: admin,
    body: { username: 'second-auditor', password: 'Shenji-er-hao-2026', role: 'auditor', scope_node_id: DEMO.county } }),
  403, 'forbidden', 'role');
  for (const body of [{ password: 'Taken-over-2026' }, { disabled: true }, { display_name: '改名' }, { role: 'volunteer' }]) {
    const e = expectError(await srv.api('PATCH', `/api/v1/users/${id}`, { token: admin, body }), 403, 'forbidden', undefined,
      JSON.stringify(body));
    assert.match(e.message_en, /wangge user/);
  }
  const gw = (await srv.api('GET', '/api/v1/users?q=gridworker', { token: admin })).json.items[0];
  expectError(await srv.api('PATCH', `/api/v1/users/${gw.id}`, { token: admin, body: { role: 'auditor' } }), 403, 'forbidden', 'role');
  expectError(await srv.api('PATCH', `/api/v1/users/${id}`, { token: command, body: { disabled: true } }), 403, 'forbidden');
  // Nothing changed: the auditor still signs in with her password.
  assert.ok(await srv.login('auditor'));
});

test('the admin may not reshape or remove the auditor role', async () => {
  const role = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((x) => x.name === 'auditor');
  expectError(await srv.api('PATCH', `/api/v1/roles/${role.id}`, { token: admin, body: { rights: ['GRID_READ'] } }), 403, 'forbidden');
  expectError(await srv.api('PATCH', `/api/v1/roles/${role.id}`, { token: admin, body: { rank: 5 } }), 403, 'forbidden');
  expectError(await srv.api('DELETE', `/api/v1/roles/${role.id}`, { token: admin }), 403, 'forbidden');
  const again = (await srv.api('GET', '/api/v1/roles', { token: admin })).json.items.find((x) => x.name === 'auditor');
  assert.deepEqual(again.rights, ['AUDIT_READ']);
});

test('the CLI on the server manages auditors, audited', async () => {
  let r = srv.cli(['user', 'add', 'auditor2', '--role', 'auditor', '--scope', String(DEMO.county), '--password-stdin'], 'Auditor-two-2026\n');
  assert.equal(r.code, 0, r.stderr);
  r = srv.cli(['user', 'passwd', 'auditor2', '--password-stdin'], 'Auditor-two-2027\n');
  assert.equal(r.code, 0, r.stderr);
  const t = await srv.login('auditor2', 'Auditor-two-2027');
  assert.equal((await srv.api('GET', '/api/v1/audit', { token: t })).status, 200);
  assert.equal(srv.cli(['user', 'disable', 'auditor2']).code, 0);
  const recs = await poll(async () => {
    const a = await srv.api('GET', '/api/v1/audit?resource=users&limit=100', { token: auditor });
    const mine = a.json.items.filter((x) => x.record_id === 'auditor2' && x.username === 'cli');
    return mine.length >= 3 ? mine : null;
  });
  assert.deepEqual(recs.map((x) => x.action), ['disable', 'passwd', 'create']);
});

test('an existing store: the migration takes AUDIT_READ from the admin role', async () => {
  const data = srv.data;
  await srv.stop();
  srv = null;
  // As a store made before the change looks: the admin holds AUDIT_READ, migration 11 not applied.
  sql(data, "INSERT INTO role_rights (role_id, right_name) SELECT id, 'AUDIT_READ' FROM roles WHERE name = 'admin'");
  sql(data, 'DELETE FROM schema_version WHERE version = 11');
  const stale = run(['user', 'list', '--data', data.dir]);
  assert.equal(stale.code, 1, 'a store with a pending migration is refused');
  assert.match(stale.stderr, /wangge migrate/);
  const m = run(['migrate', '--data', data.dir]);
  assert.equal(m.code, 0, m.stderr);
  srv = await startServer({}, data);
  admin = await srv.login('admin', ADMIN_PASSWORD);
  expectError(await srv.api('GET', '/api/v1/audit', { token: admin }), 403, 'forbidden');
});
