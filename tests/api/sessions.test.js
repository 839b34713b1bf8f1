// The login log and the online sessions with forced sign-out (等保 2.0: 登录日志、
// 在线会话), as the web UI reads them: GET /api/v1/logins (SYSTEM),
// GET /api/v1/sessions, DELETE /api/v1/sessions/{id}, DELETE /api/v1/session?all=1.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO_PASSWORD, DEMO } = require('./helpers');
const { expectError, demoPlaces } = require('./expect');

let srv, admin;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/;

before(async () => {
  srv = await startServer({ login_fails_per_user: 3 });
  admin = await srv.login('admin', ADMIN_PASSWORD);
});
after(async () => { if (srv) await srv.stop(); });

const signIn = (username, password = DEMO_PASSWORD) => srv.api('POST', '/api/v1/session', { body: { username, password } });

test('every sign-in is in the login log with its outcome, newest first, in local time', async () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await signIn('gridworker');
  await signIn('gridworker', 'Wrong-password-1');
  await signIn('nobody-at-all');
  const dis = await srv.api('POST', '/api/v1/users', { token: admin, body: { username: 'gone-worker', password: 'Gone-worker-pass-1',
    role: 'grid_worker', scope_node_id: DEMO.grid, disabled: true } });
  assert.equal(dis.status, 201, dis.text);
  await signIn('gone-worker', 'Gone-worker-pass-1');
  for (let i = 0; i < 4; i++) await signIn('volunteer', 'Wrong-password-1');   // the fourth is locked
  const r = await srv.api('GET', `/api/v1/logins?since=${since}&limit=100`, { token: admin });
  assert.equal(r.status, 200, r.text);
  const outcomes = r.json.items.map((x) => `${x.username}:${x.outcome}`);
  for (const want of ['gridworker:ok', 'gridworker:wrong_password', 'nobody-at-all:unknown_user', 'gone-worker:disabled',
    'volunteer:wrong_password', 'volunteer:locked']) assert.ok(outcomes.includes(want), `${want} in ${outcomes}`);
  const item = r.json.items[0];
  assert.deepEqual(Object.keys(item).sort(), ['address', 'at', 'at_text', 'id', 'outcome', 'username']);
  assert.match(item.at_text, ISO);
  assert.equal(item.address, '127.0.0.1');
  for (let i = 1; i < r.json.items.length; i++) assert.ok(r.json.items[i].id < r.json.items[i - 1].id);
  assert.equal(r.json.total, r.json.items.length);
  // Filters, paging.
  const wrong = await srv.api('GET', '/api/v1/logins?user=volunteer&outcome=wrong_password', { token: admin });
  assert.equal(wrong.json.items.length, 3);
  const iso = new Date((since + 1) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const page = await srv.api('GET', `/api/v1/logins?since=${encodeURIComponent(iso)}&limit=2`, { token: admin });
  assert.equal(page.json.items.length, 2);
  const rest = await srv.api('GET', `/api/v1/logins?since=${since}&limit=100&cursor=${page.json.next_cursor}`, { token: admin });
  assert.equal(rest.json.items[0].id, page.json.items[1].id - 1);
  assert.equal((await srv.api('GET', `/api/v1/logins?until=${since - 100000}`, { token: admin })).json.total, 0);
  // from/to, as on the audit trail.
  assert.equal((await srv.api('GET', `/api/v1/logins?from=${since}&limit=100`, { token: admin })).json.total, r.json.total);
  assert.equal((await srv.api('GET', `/api/v1/logins?to=${since - 100000}`, { token: admin })).json.total, 0);
  expectError(await srv.api('GET', '/api/v1/logins?from=yesterday', { token: admin }), 400, 'bad_query', 'from');
  // Bad input.
  expectError(await srv.api('GET', '/api/v1/logins?outcome=maybe', { token: admin }), 400, 'bad_query', 'outcome');
  expectError(await srv.api('GET', '/api/v1/logins?since=yesterday', { token: admin }), 400, 'bad_query', 'since');
  expectError(await srv.api('GET', '/api/v1/logins?until=2026-13-01T00:00:00Z', { token: admin }), 400, 'bad_query', 'until');
  expectError(await srv.api('GET', '/api/v1/logins?who=x', { token: admin }), 400, 'bad_query', 'who');
  // The administrator's, not everyone's.
  expectError(await srv.api('GET', '/api/v1/logins', { token: await srv.login('command') }), 403, 'forbidden');
});

test('a town\'s administrator sees the town\'s sign-ins only', async () => {
  const places = await demoPlaces(srv, admin);
  const u = await srv.api('POST', '/api/v1/users', { token: admin, body: { username: 'town-admin', password: 'Zhen-guanli-2026',
    role: 'admin', scope_node_id: places.otherStreet } });
  assert.equal(u.status, 201, u.text);
  const t = await srv.login('town-admin', 'Zhen-guanli-2026');
  const r = await srv.api('GET', '/api/v1/logins?limit=1000', { token: t });
  assert.equal(r.status, 200);
  assert.deepEqual([...new Set(r.json.items.map((x) => x.username))], ['town-admin']);
});

test('sessions: one\'s own for everyone, every one in scope for the admin; forced sign-out', async () => {
  const a = (await signIn('community')).json.token;
  const b = (await signIn('community')).json.token;
  const mine = await srv.api('GET', '/api/v1/sessions', { token: a });
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.json.items.length >= 2);
  assert.ok(mine.json.items.every((x) => x.username === 'community'));
  const cur = mine.json.items.find((x) => x.current);
  assert.deepEqual(Object.keys(cur).sort(), ['address', 'created_at', 'created_at_text', 'current', 'display_name', 'id',
    'last_seen', 'last_seen_text', 'role', 'user_id', 'username']);
  assert.equal(cur.role, 'community');
  assert.match(cur.created_at_text, ISO);
  assert.equal(mine.json.items.filter((x) => x.current).length, 1);
  const all = await srv.api('GET', '/api/v1/sessions?limit=1000', { token: admin });
  const users = new Set(all.json.items.map((x) => x.username));
  assert.ok(users.has('community') && users.has('admin'), [...users].join());
  // One account's sessions, for the admin about to sign it out everywhere.
  const one = await srv.api('GET', '/api/v1/sessions?user=community&limit=1000', { token: admin });
  assert.equal(one.status, 200, one.text);
  assert.ok(one.json.items.length >= 2 && one.json.items.every((x) => x.username === 'community'), one.text);
  assert.equal(one.json.total, one.json.items.length);
  assert.equal((await srv.api('GET', '/api/v1/sessions?user=nobody', { token: admin })).json.total, 0);
  // Another's sessions are not there for a non-admin, asked by name or not.
  assert.equal((await srv.api('GET', '/api/v1/sessions?user=admin', { token: a })).json.total, 0);
  // Another's session: not there for a non-admin.
  const other = (await signIn('gridworker')).json.token;
  const gwSession = (await srv.api('GET', '/api/v1/sessions', { token: other })).json.items.find((x) => x.current);
  expectError(await srv.api('DELETE', `/api/v1/sessions/${gwSession.id}`, { token: a }), 404, 'not_found');
  expectError(await srv.api('DELETE', '/api/v1/sessions/99999999', { token: admin }), 404, 'not_found');
  // The admin ends it: the token is dead at once.
  assert.equal((await srv.api('DELETE', `/api/v1/sessions/${gwSession.id}`, { token: admin })).status, 204);
  expectError(await srv.api('GET', '/api/v1/me', { token: other }), 401, 'unauthorized');
  // One ends one's own other session.
  const bSession = (await srv.api('GET', '/api/v1/sessions', { token: b })).json.items.find((x) => x.current);
  assert.equal((await srv.api('DELETE', `/api/v1/sessions/${bSession.id}`, { token: a })).status, 204);
  expectError(await srv.api('GET', '/api/v1/me', { token: b }), 401, 'unauthorized');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: a })).status, 200);
  // The admin does not sign the auditor out (separation of duties).
  const au = (await signIn('auditor')).json.token;
  const auSession = (await srv.api('GET', '/api/v1/sessions', { token: au })).json.items.find((x) => x.current);
  expectError(await srv.api('DELETE', `/api/v1/sessions/${auSession.id}`, { token: admin }), 403, 'forbidden');
  assert.equal((await srv.api('GET', '/api/v1/me', { token: au })).status, 200);
  // Audited.
  const trail = await srv.api('GET', '/api/v1/audit?resource=session&limit=200', { token: au });
  assert.ok(trail.json.items.some((x) => x.action === 'logout_forced' && x.record_id === String(gwSession.id) && x.username === 'admin'));
});

test('sign out everywhere: every session of the account ends', async () => {
  const t = [];
  for (let i = 0; i < 3; i++) t.push((await signIn('checkpoint')).json.token);
  expectError(await srv.api('DELETE', '/api/v1/session?all=2', { token: t[0] }), 400, 'bad_query', 'all');
  expectError(await srv.api('DELETE', '/api/v1/session?everywhere=1', { token: t[0] }), 400, 'bad_query', 'everywhere');
  const r = await srv.api('DELETE', '/api/v1/session?all=1', { token: t[0] });
  assert.equal(r.status, 204);
  assert.match(r.headers.get('set-cookie'), /Max-Age=0/);
  for (const x of t) expectError(await srv.api('GET', '/api/v1/me', { token: x }), 401, 'unauthorized');
});
