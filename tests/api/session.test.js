'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO_PASSWORD, ADMIN_PASSWORD } = require('./helpers');

let srv;
before(async () => { srv = await startServer({ login_fails_per_user: 3, login_lock_seconds: 60 }); });
after(async () => { await srv.stop(); });

test('sign in returns a token, an HttpOnly SameSite=Strict cookie and the user', async () => {
  const r = await srv.api('POST', '/api/v1/session', { body: { username: 'gridworker', password: DEMO_PASSWORD } });
  assert.equal(r.status, 201);
  assert.match(r.json.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(r.json.user.role, 'grid_worker');
  const cookie = r.headers.get('set-cookie');
  assert.match(cookie, /wg_session=/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const me = await srv.api('GET', '/api/v1/me', { headers: { cookie: cookie.split(';')[0] } });
  assert.equal(me.status, 200);
  assert.equal(me.json.username, 'gridworker');
  assert.equal(me.json.time_zone, 'Asia/Shanghai', 'the zone the pages show times in');
});

test('bearer token works, sign out ends it', async () => {
  const token = await srv.login('command');
  assert.equal((await srv.api('GET', '/api/v1/me', { token })).status, 200);
  assert.equal((await srv.api('DELETE', '/api/v1/session', { token })).status, 204);
  const after = await srv.api('GET', '/api/v1/me', { token });
  assert.equal(after.status, 401);
  assert.equal(after.json.error.code, 'unauthorized');
});

test('forged and malformed tokens are refused', async () => {
  for (const token of ['x'.repeat(43), 'short', 'a'.repeat(500)]) {
    const r = await srv.api('GET', '/api/v1/me', { token });
    assert.equal(r.status, 401, token);
  }
  assert.equal((await srv.api('GET', '/api/v1/me')).status, 401);
});

test('wrong passwords lock the account, audited; the right password is refused while locked', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await srv.api('POST', '/api/v1/session', { body: { username: 'volunteer', password: 'wrong-password' } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'bad_credentials');
  }
  const locked = await srv.api('POST', '/api/v1/session', { body: { username: 'volunteer', password: DEMO_PASSWORD } });
  assert.equal(locked.status, 429);
  assert.equal(locked.json.error.code, 'locked');
  assert.match(locked.json.error.message, /锁定|分钟/);
  const auditor = await srv.login('auditor');
  const audit = await srv.api('GET', '/api/v1/audit?resource=session&limit=100', { token: auditor });
  assert.equal(audit.status, 200);
  const failed = audit.json.items.filter((a) => a.action === 'login_failed' && a.username === 'volunteer');
  assert.equal(failed.length, 3);
  assert.ok(audit.json.items.some((a) => a.action === 'login_locked' && a.username === 'volunteer'));
});

test('wangge user enable lifts a lockout and a disabled account, audited', async () => {
  for (let i = 0; i < 3; i++) {
    await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: 'wrong-password' } });
  }
  const locked = await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: DEMO_PASSWORD } });
  assert.equal(locked.status, 429);
  const r = srv.cli(['user', 'enable', 'checkpoint']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /enabled/);
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: DEMO_PASSWORD } })).status, 201);
  // a disabled account comes back the same way
  assert.equal(srv.cli(['user', 'disable', 'checkpoint']).code, 0);
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: DEMO_PASSWORD } })).status, 401);
  assert.equal(srv.cli(['user', 'enable', 'checkpoint']).code, 0);
  assert.equal((await srv.api('POST', '/api/v1/session', { body: { username: 'checkpoint', password: DEMO_PASSWORD } })).status, 201);
  assert.equal(srv.cli(['user', 'enable', 'nobody-here']).code, 1);
  const auditor = await srv.login('auditor');
  const audit = await srv.api('GET', '/api/v1/audit?resource=users&limit=100', { token: auditor });
  assert.equal(audit.json.items.filter((a) => a.action === 'enable' && a.record_id === 'checkpoint').length, 2);
});

test('idle sessions expire', async () => {
  const short = await startServer({ session_idle_seconds: 1 });
  try {
    const token = await short.login('command');
    assert.equal((await short.api('GET', '/api/v1/me', { token })).status, 200);
    await new Promise((r) => setTimeout(r, 2300));
    assert.equal((await short.api('GET', '/api/v1/me', { token })).status, 401);
  } finally {
    await short.stop();
  }
});

test('absolute expiry ends even an active session', async () => {
  const short = await startServer({ session_absolute_seconds: 2, session_idle_seconds: 60 });
  try {
    const token = await short.login('command');
    for (let i = 0; i < 3; i++) {
      assert.equal((await short.api('GET', '/api/v1/me', { token })).status, 200);
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await short.api('GET', '/api/v1/me', { token })).status, 401);
  } finally {
    await short.stop();
  }
});
